"""Server speeds for placement: measured throughput where there is history, else scaled registered factors."""

from __future__ import annotations

import pytest

from x121_desktop.core.orchestration.speeds import server_speeds


def test_without_history_the_registered_factors_are_the_speeds() -> None:
    assert server_speeds({1: 2.0, 2: 1.0}, {}) == {1: 2.0, 2: 1.0}


def test_measured_speeds_win_and_unmeasured_servers_are_scaled_to_their_unit() -> None:
    # server 1 (factor 2) delivers 4e6 pixel-frames/s and server 2 (factor 1) 1.5e6: ratios 2e6 and 1.5e6,
    # median 1.75e6; server 3 (factor 0.5, no history yet) is taken as 0.5 * 1.75e6
    speeds = server_speeds({1: 2.0, 2: 1.0, 3: 0.5}, {1: 4e6, 2: 1.5e6})
    assert speeds == {1: 4e6, 2: 1.5e6, 3: pytest.approx(0.875e6)}


def test_measurements_of_unknown_or_idle_servers_are_ignored() -> None:
    assert server_speeds({1: 1.0, 2: 3.0}, {9: 5.0, 2: 0.0}) == {1: 1.0, 2: 3.0}
