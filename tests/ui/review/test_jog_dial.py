"""The jog/shuttle dial offscreen: drags step exact frames of the shared clock (checked on the
pictures), the ring shuttles through the J/K/L speeds and springs back, keys, the mouse wheel, and
painting with the theme's tokens."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QAction, QKeySequence, QMouseEvent, QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from tests.media_factory import read_stripe
from x121_desktop.core.review.clock import SHUTTLE_SPEEDS
from x121_desktop.ui.review.jog_dial import DEGREES_PER_FRAME, JogDial, detent_degrees, shuttle_speed
from x121_desktop.ui.review.panel import ReviewPanel
from x121_desktop.ui.theme_qt import apply_theme_named, current_theme, qcolor


def send_mouse(widget: JogDial, kind: QEvent.Type, pos: QPointF, held: bool) -> None:
    button = Qt.MouseButton.NoButton if kind == QEvent.Type.MouseMove else Qt.MouseButton.LeftButton
    buttons = Qt.MouseButton.LeftButton if held else Qt.MouseButton.NoButton
    event = QMouseEvent(kind, pos, widget.mapToGlobal(pos), button, buttons, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)


def drag(dial: JogDial, radius: float, degrees: Sequence[float]) -> None:
    """Press at the first angle, move through the others, release at the last (all at `radius`)."""
    points = [dial.point_at(d, radius) for d in degrees]
    send_mouse(dial, QEvent.Type.MouseButtonPress, points[0], held=True)
    for p in points[1:]:
        send_mouse(dial, QEvent.Type.MouseMove, p, held=True)
    send_mouse(dial, QEvent.Type.MouseButtonRelease, points[-1], held=False)


def wheel(dial: JogDial, delta: int) -> None:
    pos = QPointF(dial.width() / 2, dial.height() / 2)
    event = QWheelEvent(
        pos,
        dial.mapToGlobal(pos),
        QPoint(0, 0),
        QPoint(0, delta),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(dial, event)


def jog_radius(dial: JogDial) -> float:
    return dial._radii()[1] * 0.6


def ring_radius(dial: JogDial) -> float:
    outer, inner = dial._radii()
    return (outer + inner) / 2


@pytest.fixture
def dial(qtbot: QtBot) -> JogDial:
    widget = JogDial()
    qtbot.addWidget(widget)
    widget.resize(120, 120)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


@pytest.fixture
def panel(qtbot: QtBot, clips: dict[str, Path]) -> Iterator[ReviewPanel]:
    widget = ReviewPanel(rows=1, columns=2, prefer_gl=False)
    qtbot.addWidget(widget)
    widget.resize(900, 520)
    widget.show()
    qtbot.waitExposed(widget)
    widget.load([clips["a"], clips["b"]])
    qtbot.waitUntil(lambda: widget.controller.ready and widget.controller.clock.frame_count == 90, timeout=5000)
    yield widget
    widget.close_player()


def wait_all_show(qtbot: QtBot, panel: ReviewPanel, frame: int) -> None:
    qtbot.waitUntil(lambda: all(v.shown_index == frame for v in panel.grid.cells), timeout=5000)
    for view in panel.grid.cells:
        assert view.state.frame is not None
        assert view.state.frame.rgb is not None
        assert read_stripe(view.state.frame.rgb) == frame  # the picture is that frame, in every cell


# ------------------------------------------------------------------ the dial alone
def test_dragging_the_jog_wheel_steps_one_frame_per_detent(qtbot: QtBot, dial: JogDial) -> None:
    steps: list[int] = []
    dial.jog_requested.connect(steps.append)
    drag(dial, jog_radius(dial), [0, 10, 31, 62, 95])  # 95° clockwise: 6 whole detents of 15°
    assert sum(steps) == 6
    assert all(s > 0 for s in steps)
    steps.clear()
    drag(dial, jog_radius(dial), [170, 150, 100, 50, 20, -10, -40, -75])  # 245° back, across 180°/-180°
    assert sum(steps) == -int(245 / DEGREES_PER_FRAME)
    steps.clear()
    drag(dial, jog_radius(dial), [0, 14, 0, 14])  # never a whole detent
    assert steps == []


def test_the_shuttle_ring_runs_through_the_jkl_speeds_both_ways_and_springs_back(qtbot: QtBot, dial: JogDial) -> None:
    speeds: list[int] = []
    dial.shuttle_changed.connect(speeds.append)
    r = ring_radius(dial)
    send_mouse(dial, QEvent.Type.MouseButtonPress, dial.point_at(0, r), held=True)
    assert speeds == []  # grabbing is not twisting
    for degrees in (5, 20, 50, 80, 110, 140, 175):
        send_mouse(dial, QEvent.Type.MouseMove, dial.point_at(degrees, r), held=True)
    assert speeds == list(SHUTTLE_SPEEDS)  # 1, 2, 4, 8; further clamps at 8
    assert dial.ring_degrees == 135.0
    for degrees in (100, 50, 20, 0, -20, -50, -80, -120):
        send_mouse(dial, QEvent.Type.MouseMove, dial.point_at(degrees, r), held=True)
    assert speeds[4:] == [4, 2, 1, 0, -1, -2, -4, -8]
    send_mouse(dial, QEvent.Type.MouseButtonRelease, dial.point_at(-120, r), held=False)
    assert speeds[-1] == 0
    assert dial.speed == 0
    qtbot.waitUntil(lambda: dial.ring_degrees == 0.0, timeout=2000)  # sprung back to rest


def test_keys_jog_and_hold_to_shuttle(qtbot: QtBot, dial: JogDial) -> None:
    steps: list[int] = []
    speeds: list[int] = []
    dial.jog_requested.connect(steps.append)
    dial.shuttle_changed.connect(speeds.append)
    dial.setFocus()
    for key in (Qt.Key.Key_Right, Qt.Key.Key_Right, Qt.Key.Key_Left, Qt.Key.Key_Right):
        QTest.keyClick(dial, key)
    assert steps == [1, 1, -1, 1]
    dial.hold_step_ms = 40
    QTest.keyPress(dial, Qt.Key.Key_Up)
    assert speeds == [1]
    qtbot.waitUntil(lambda: speeds[-1] == SHUTTLE_SPEEDS[-1], timeout=2000)  # held: one detent further each step
    assert speeds == list(SHUTTLE_SPEEDS)
    QTest.keyRelease(dial, Qt.Key.Key_Up)
    assert speeds[-1] == 0
    QTest.keyPress(dial, Qt.Key.Key_Down)
    assert speeds[-1] == -1
    QTest.keyClick(dial, Qt.Key.Key_Escape)
    assert speeds[-1] == 0


def test_the_mouse_wheel_turns_the_jog_wheel(qtbot: QtBot, dial: JogDial) -> None:
    steps: list[int] = []
    dial.jog_requested.connect(steps.append)
    wheel(dial, 240)
    wheel(dial, -120)
    wheel(dial, 60)  # half a notch (a smooth-scrolling touchpad): nothing yet
    assert steps == [2, -1]
    wheel(dial, 60)
    assert steps == [2, -1, 1]


def test_speed_zones_match_the_drawn_detents() -> None:
    assert [shuttle_speed(detent_degrees(d)) for d in range(-4, 5)] == [-8, -4, -2, -1, 0, 1, 2, 4, 8]
    assert shuttle_speed(11.9) == 0
    assert shuttle_speed(-400) == -8


def test_painted_with_the_theme_tokens(qtbot: QtBot, dial: JogDial, qapp: QApplication) -> None:
    apply_theme_named(qapp, "neon-light")
    try:
        theme = current_theme(qapp)
        assert theme is not None
        image = dial.grab().toImage()
        r = ring_radius(dial)
        track = dial.point_at(-170, r)  # on the ring's track, outside the shuttle's reach
        assert image.pixelColor(track.toPoint()).name() == qcolor(theme.color("timeline.bg")).name()
        face = dial.point_at(180, dial._radii()[1] * 0.3)
        assert image.pixelColor(face.toPoint()).name() == qcolor(theme.color("canvas.bg")).name()
    finally:
        qapp.setStyleSheet("")
        qapp.setProperty("x121_theme", None)


# ------------------------------------------------------------------ the dial in the review panel
def test_the_panel_dial_drives_the_shared_clock_of_the_whole_grid(qtbot: QtBot, panel: ReviewPanel) -> None:
    dial = panel.jog
    assert dial.isVisible()
    assert dial.parent() is panel
    panel.controller.seek(10)
    wait_all_show(qtbot, panel, 10)
    drag(dial, jog_radius(dial), [0, 30, 60, 95])  # 6 frames forward
    assert panel.controller.clock.frame() == 16
    wait_all_show(qtbot, panel, 16)
    drag(dial, jog_radius(dial), [90, 60, 30])  # 4 back
    wait_all_show(qtbot, panel, 12)

    r = ring_radius(dial)
    send_mouse(dial, QEvent.Type.MouseButtonPress, dial.point_at(0, r), held=True)
    send_mouse(dial, QEvent.Type.MouseMove, dial.point_at(-50, r), held=True)
    assert panel.controller.clock.speed == -2  # the same clock J/K/L drive
    assert dial.player_speed == -2  # the centre shows it
    send_mouse(dial, QEvent.Type.MouseMove, dial.point_at(25, r), held=True)
    assert panel.controller.clock.speed == 1
    send_mouse(dial, QEvent.Type.MouseButtonRelease, dial.point_at(25, r), held=False)
    assert panel.controller.clock.speed == 0
    assert not panel.controller.clock.playing
    paused_at = panel.controller.clock.frame()
    wait_all_show(qtbot, panel, paused_at)  # the grid rests on one frame, in lockstep


def test_the_focused_dial_keeps_its_arrow_keys_from_the_panel_shortcuts(qtbot: QtBot, panel: ReviewPanel) -> None:
    """The panel's ←/→ shortcuts (timeline scope) fire elsewhere in the panel; on the dial the keys jog."""
    stepped_ten: list[bool] = []
    action = QAction("Step 10", panel)
    action.setShortcut(QKeySequence("Right"))
    action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
    action.triggered.connect(lambda: stepped_ten.append(True))
    panel.addAction(action)
    panel.controller.seek(20)
    panel.jog.setFocus()
    qtbot.waitUntil(panel.jog.hasFocus, timeout=2000)
    QTest.keyClick(panel.jog, Qt.Key.Key_Right)
    QTest.keyClick(panel.jog, Qt.Key.Key_Right)
    assert stepped_ten == []
    assert panel.controller.clock.frame() == 22
    wait_all_show(qtbot, panel, 22)
    panel.setFocus()
    qtbot.waitUntil(panel.hasFocus, timeout=2000)
    QTest.keyClick(panel, Qt.Key.Key_Right)
    assert stepped_ten == [True]  # the shortcut still works outside the dial
