"""`x121 media probe FILE [--json]`: table, JSON, and exit codes from the error class."""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import pytest

from tests.media_factory import make_audio_only, make_video
from x121_desktop.cli import main as cli_main
from x121_desktop.cli import media as media_cli


def _run(argv: list[str]) -> int:
    # Only this module's parser: the suite must not depend on other areas' commands importing.
    parser = argparse.ArgumentParser(prog="x121")
    media_cli.register(parser.add_subparsers(dest="command"))
    return cli_main.run(parser.parse_args(argv))


def test_media_is_registered_in_the_entry_point() -> None:
    assert "x121_desktop.cli.media" in cli_main.COMMAND_MODULES


def test_probe_prints_a_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    video = make_video(tmp_path / "clip.mp4", 30, rate=Fraction(30000, 1001), gop=15, metadata={"title": "T"})
    assert _run(["media", "probe", str(video)]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^frames\s+30$", out, re.M)
    assert re.search(r"^rate\s+30000/1001 fps \(29\.970\)$", out, re.M)
    assert re.search(r"^codec\s+h264 \(yuv420p\)$", out, re.M)
    assert re.search(r"^size\s+128x96$", out, re.M)
    assert re.search(r"^gop\s+15 \(longest\), 2 keyframes", out, re.M)
    assert re.search(r"^meta title\s+T$", out, re.M)


def test_probe_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    video = make_video(tmp_path / "clip.mkv", 24, gop=12)
    assert _run(["media", "probe", str(video), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["frame_count"] == 24
    assert data["rate"] == "24/1"
    assert data["duration"] == {"start": 0, "length": 24, "rate": "24/1"}
    assert data["codec"] == "h264"
    assert data["is_vfr"] is False
    assert data["path"] == str(video)


def _audio_only(d: Path) -> Path:
    return make_audio_only(d / "a.m4a")


def _empty(d: Path) -> Path:
    (d / "z.mp4").write_bytes(b"")
    return d / "z.mp4"


def _missing(d: Path) -> Path:
    return d / "missing.mp4"


@pytest.mark.parametrize(
    ("make", "code", "message"),
    [
        (_audio_only, 2, "has no video stream"),
        (_empty, 2, "is empty (0 bytes)"),
        (_missing, 5, "does not exist"),
    ],
    ids=["audio-only", "empty", "missing"],
)
def test_probe_errors_exit_with_the_error_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], make: Callable[[Path], Path], code: int, message: str
) -> None:
    path = make(tmp_path)
    assert _run(["media", "probe", str(path)]) == code
    err = capsys.readouterr().err
    assert err.startswith("x121: error: ")
    assert message in err
    assert str(path) in err
