"""JogDial: a jog wheel inside a spring-loaded shuttle ring, painted with the theme's tokens.

- **Jog (inner wheel):** turning it steps frames, one per `DEGREES_PER_FRAME` of rotation
  (clockwise forward): drag it round with the mouse, or roll the mouse wheel over the dial (one
  notch, one frame; rolling away from you steps forward). Emits `jog_requested(frames)`.
- **Shuttle (outer ring):** twist it from where you grab it; the further you twist, the faster
  playback runs, both ways, through the J/K/L speeds (`core.review.clock.SHUTTLE_SPEEDS`: 1x,
  2x, 4x, 8x); release it and it springs back to 0 (pause). Emits `shuttle_changed(speed)`.
- **Keyboard**, while the dial has focus: Left/Right step one frame; holding Up/Down twists the
  ring forward/back one detent at once and one further every `hold_step_ms` held (1x → 2x → 4x
  → 8x), and letting go springs it back; Escape lets go too.

The dial knows nothing of the player: the review panel connects its two signals to the same
PlayerController the J/K/L and arrow keys drive, so the whole grid follows one clock. The centre
shows the player's speed (`set_speed`), whoever set it.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QEasingCurve, QEvent, QPointF, QRectF, QSize, Qt, QTimer, QVariantAnimation, Signal
from PySide6.QtGui import QFocusEvent, QFont, QKeyEvent, QMouseEvent, QPainter, QPaintEvent, QPen, QWheelEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from x121_desktop.core.review.clock import SHUTTLE_SPEEDS
from x121_desktop.ui.review.colors import color

DEGREES_PER_FRAME = 15.0
"""One jog detent: 24 frames per full turn of the inner wheel."""
SHUTTLE_MAX_DEGREES = 135.0
"""The ring turns at most this far either way."""
SHUTTLE_DEAD_DEGREES = 12.0
"""Twists smaller than this keep the speed at 0 (a grab is not a twitch forward)."""
SHUTTLE_ZONE_DEGREES = 30.0
"""Each further zone of this width selects the next shuttle speed."""
WHEEL_NOTCH = 120
"""QWheelEvent angleDelta units per mouse-wheel notch."""

_SHUTTLE_KEYS = {Qt.Key.Key_Up: 1, Qt.Key.Key_Down: -1}
_JOG_KEYS = {Qt.Key.Key_Right: 1, Qt.Key.Key_Left: -1}


def shuttle_speed(degrees: float) -> int:
    """The playback speed for a ring twisted `degrees` (clockwise positive) from rest."""
    a = min(abs(degrees), SHUTTLE_MAX_DEGREES)
    if a < SHUTTLE_DEAD_DEGREES:
        return 0
    zone = min(int((a - SHUTTLE_DEAD_DEGREES) // SHUTTLE_ZONE_DEGREES), len(SHUTTLE_SPEEDS) - 1)
    return SHUTTLE_SPEEDS[zone] if degrees > 0 else -SHUTTLE_SPEEDS[zone]


def detent_degrees(detent: int) -> float:
    """The ring angle at the middle of shuttle zone `detent` (±1 … ±len(SHUTTLE_SPEEDS); 0 = rest)."""
    if detent == 0:
        return 0.0
    middle = SHUTTLE_DEAD_DEGREES + (abs(detent) - 0.5) * SHUTTLE_ZONE_DEGREES
    return math.copysign(min(middle, SHUTTLE_MAX_DEGREES), detent)


def _wrap(degrees: float) -> float:
    """An angle difference folded into (-180, 180]."""
    d = (degrees + 180.0) % 360.0 - 180.0
    return 180.0 if d == -180.0 else d


class JogDial(QWidget):
    """Emits `jog_requested(frames)` as the wheel turns and `shuttle_changed(speed)` as the ring twists."""

    jog_requested = Signal(int)
    shuttle_changed = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("jogDial")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.setAccessibleName("Jog and shuttle dial")
        self.setAccessibleDescription(
            "Inner wheel steps frames; outer ring shuttles both ways and springs back. "
            "Keys: Left/Right step a frame, hold Up/Down to shuttle forward/back."
        )
        self.setToolTip(
            "Jog: turn the inner wheel (or roll the mouse wheel) to step frames.\n"
            "Shuttle: twist the outer ring; it springs back to pause.\n"
            "Keys: ←/→ step, hold ↑/↓ to shuttle."
        )
        self.hold_step_ms = 500
        self.ring_degrees = 0.0
        """The ring's twist shown now (follows the pointer, then springs back)."""
        self.wheel_degrees = 0.0
        """The jog wheel's rotation shown now (its marker turns with it)."""
        self.speed = 0
        """The speed the ring asks for (0 at rest)."""
        self.player_speed = 0
        """The player's speed, shown in the centre (`set_speed`)."""
        self._grab: str | None = None  # "jog" or "shuttle" while the mouse holds one
        self._last_angle = 0.0
        self._pointer_twist = 0.0
        self._jog_rest = 0.0  # rotation not yet turned into a whole frame
        self._wheel_rest = 0
        self._key_detent = 0
        self._spring = QVariantAnimation(self)
        self._spring.setDuration(260)
        self._spring.setEasingCurve(QEasingCurve.Type.OutBack)
        self._spring.valueChanged.connect(self._spring_moved)
        self._hold = QTimer(self)
        self._hold.timeout.connect(self._hold_further)

    def sizeHint(self) -> QSize:
        return QSize(84, 84)

    def minimumSizeHint(self) -> QSize:
        return QSize(56, 56)

    # ------------------------------------------------------------------ geometry
    def _centre(self) -> QPointF:
        return QPointF(self.width() / 2, self.height() / 2)

    def _radii(self) -> tuple[float, float]:
        """(outer radius of the ring, radius of the jog wheel)."""
        outer = min(self.width(), self.height()) / 2 - 3
        return outer, outer * 0.62

    def part_at(self, pos: QPointF) -> str | None:
        """'jog', 'shuttle' or None (outside the dial)."""
        c = self._centre()
        d = math.hypot(pos.x() - c.x(), pos.y() - c.y())
        outer, inner = self._radii()
        if d <= inner:
            return "jog"
        return "shuttle" if d <= outer else None

    def angle_at(self, pos: QPointF) -> float:
        """Degrees clockwise from 12 o'clock of `pos` around the centre."""
        c = self._centre()
        return math.degrees(math.atan2(pos.x() - c.x(), c.y() - pos.y()))

    def point_at(self, degrees: float, radius: float) -> QPointF:
        """The widget point `radius` from the centre at `degrees` clockwise from 12 o'clock (tests, painting)."""
        c, a = self._centre(), math.radians(degrees)
        return QPointF(c.x() + radius * math.sin(a), c.y() - radius * math.cos(a))

    # ------------------------------------------------------------------ state
    def set_speed(self, speed: int) -> None:
        """Show the player's current speed in the centre."""
        if speed != self.player_speed:
            self.player_speed = speed
            self.update()

    def _turn_jog(self, degrees: float) -> None:
        self.wheel_degrees = (self.wheel_degrees + degrees) % 360.0
        self._jog_rest += degrees
        frames = int(self._jog_rest / DEGREES_PER_FRAME)  # toward zero: a detent must be crossed
        if frames:
            self._jog_rest -= frames * DEGREES_PER_FRAME
            self.jog_requested.emit(frames)
        self.update()

    def _twist(self, degrees: float) -> None:
        self._spring.stop()
        self.ring_degrees = max(-SHUTTLE_MAX_DEGREES, min(SHUTTLE_MAX_DEGREES, degrees))
        speed = shuttle_speed(self.ring_degrees)
        if speed != self.speed:
            self.speed = speed
            self.shuttle_changed.emit(speed)
        self.update()

    def release_shuttle(self) -> None:
        """Let go of the ring: the speed drops to 0 at once and the ring springs back to rest."""
        self._hold.stop()
        self._key_detent = 0
        if self.speed != 0:
            self.speed = 0
            self.shuttle_changed.emit(0)
        if self.ring_degrees:
            self._spring.stop()
            self._spring.setStartValue(self.ring_degrees)
            self._spring.setEndValue(0.0)
            self._spring.start()

    def _spring_moved(self, value: object) -> None:
        if isinstance(value, float):
            self.ring_degrees = value
            self.update()

    # ------------------------------------------------------------------ mouse
    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        pos = event.position()
        self._grab = self.part_at(pos)
        self._last_angle = self.angle_at(pos)
        self._jog_rest = 0.0
        if self._grab == "shuttle":
            self._pointer_twist = 0.0
            self._twist(0.0)  # grabbing is not twisting: a ring still springing back starts from rest
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if not event.buttons() & Qt.MouseButton.LeftButton or self._grab is None:
            return
        angle = self.angle_at(event.position())
        if self._grab == "jog":
            self._turn_jog(_wrap(angle - self._last_angle))
        else:
            # The pointer's twist, unwrapped (past 6 o'clock it goes on, not flips); the ring stops at its end.
            self._pointer_twist += _wrap(angle - self._last_angle)
            self._twist(self._pointer_twist)
        self._last_angle = angle

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        if self._grab == "shuttle":
            self.release_shuttle()
        self._grab = None

    def wheelEvent(self, event: QWheelEvent) -> None:
        self._wheel_rest += event.angleDelta().y()
        notches = int(self._wheel_rest / WHEEL_NOTCH)
        if notches:
            self._wheel_rest -= notches * WHEEL_NOTCH
            self._turn_jog(notches * DEGREES_PER_FRAME)
        event.accept()

    # ------------------------------------------------------------------ keyboard
    def event(self, event: QEvent) -> bool:
        # The panel's shortcuts (←/→ step, ↑/↓ seams) would take these keys first; the focused dial keeps them.
        if event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent) and self._handles(event):
            event.accept()
            return True
        return super().event(event)

    @staticmethod
    def _handles(event: QKeyEvent) -> bool:
        plain = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier == Qt.KeyboardModifier.NoModifier
        key = Qt.Key(event.key())
        return plain and (key in _JOG_KEYS or key in _SHUTTLE_KEYS or key == Qt.Key.Key_Escape)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if not self._handles(event):
            super().keyPressEvent(event)
            return
        key = Qt.Key(event.key())
        if key in _JOG_KEYS:
            self._turn_jog(_JOG_KEYS[key] * DEGREES_PER_FRAME)
        elif key in _SHUTTLE_KEYS and not event.isAutoRepeat():
            self._key_detent = _SHUTTLE_KEYS[key]
            self._twist(detent_degrees(self._key_detent))
            self._hold.start(self.hold_step_ms)
        elif key == Qt.Key.Key_Escape:
            self.release_shuttle()
        event.accept()

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        key = Qt.Key(event.key())
        if key in _SHUTTLE_KEYS and not event.isAutoRepeat() and self._key_detent:
            self.release_shuttle()
            event.accept()
            return
        super().keyReleaseEvent(event)

    def _hold_further(self) -> None:
        if abs(self._key_detent) < len(SHUTTLE_SPEEDS):
            self._key_detent += 1 if self._key_detent > 0 else -1
            self._twist(detent_degrees(self._key_detent))

    def focusOutEvent(self, event: QFocusEvent) -> None:
        if self._key_detent:
            self.release_shuttle()
        super().focusOutEvent(event)

    # ------------------------------------------------------------------ paint
    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        c = self._centre()
        outer, inner = self._radii()
        ring_mid = (outer + inner) / 2
        ring_width = outer - inner - 2
        # Ring: the track, the reachable arc, zone ticks, the twisted arc and the grip.
        p.setPen(QPen(color("timeline.bg"), ring_width))
        p.drawEllipse(c, ring_mid, ring_mid)
        arc = QRectF(c.x() - ring_mid, c.y() - ring_mid, 2 * ring_mid, 2 * ring_mid)
        band = color("timeline.in_out")
        band.setAlpha(min(band.alpha(), 90))
        p.setPen(QPen(band, ring_width * 0.35, c=Qt.PenCapStyle.FlatCap))
        p.drawArc(arc, int((90 - SHUTTLE_MAX_DEGREES) * 16), int(2 * SHUTTLE_MAX_DEGREES * 16))
        p.setPen(QPen(color("timeline.marker"), 1.2))
        for detent in range(len(SHUTTLE_SPEEDS) + 1):
            for side in (1, -1):
                a = side * (SHUTTLE_DEAD_DEGREES + detent * SHUTTLE_ZONE_DEGREES)
                p.drawLine(self.point_at(a, outer - 1), self.point_at(a, outer - ring_width * 0.3))
        if self.ring_degrees:
            twist = color("timeline.playhead")
            twist.setAlpha(170)
            p.setPen(QPen(twist, ring_width * 0.55, c=Qt.PenCapStyle.RoundCap))
            p.drawArc(arc, 90 * 16, int(-self.ring_degrees * 16))
        p.setPen(QPen(color("timeline.playhead"), 3, c=Qt.PenCapStyle.RoundCap))
        p.drawLine(self.point_at(self.ring_degrees, inner + 2), self.point_at(self.ring_degrees, outer - 1))
        # Jog wheel: face, finger dimple that turns with it, focus rim.
        p.setPen(QPen(color("timeline.marker"), 1))
        p.setBrush(color("canvas.bg"))
        p.drawEllipse(c, inner, inner)
        grip = color("timeline.marker")
        grip.setAlpha(110)
        p.setPen(QPen(grip, 1))
        for detent in range(int(360 / DEGREES_PER_FRAME)):  # one notch per frame, turning with the wheel
            a = self.wheel_degrees + detent * DEGREES_PER_FRAME
            p.drawLine(self.point_at(a, inner - 1), self.point_at(a, inner * 0.86))
        p.setBrush(grip)
        p.setPen(Qt.PenStyle.NoPen)
        p.drawEllipse(self.point_at(self.wheel_degrees, inner * 0.62), inner * 0.15, inner * 0.15)
        if self.hasFocus():
            focus = color("timeline.in_out")
            focus.setAlpha(255)
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.setPen(QPen(focus, 2))
            p.drawEllipse(c, outer + 1, outer + 1)
        # Centre: the player's speed.
        speed = self.player_speed
        p.setPen(color("fg.primary") if speed else color("fg.muted"))
        font = QFont(p.font())
        font.setPixelSize(max(9, int(inner * 0.36)))
        p.setFont(font)
        text = "❚❚" if speed == 0 else f"{speed:+d}×"  # noqa: RUF001 - the multiplication sign is meant
        p.drawText(QRectF(c.x() - inner, c.y() - inner, 2 * inner, 2 * inner), Qt.AlignmentFlag.AlignCenter, text)
        p.end()
