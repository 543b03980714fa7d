"""The Ambilight surround as QPainter gradients draw it: the reference for cinema.GlowSurround.

This is how cinema mode painted its glow before the surround was rendered from cached geometry
(kept here as an independent oracle for tests, and as the "before" in bench_player): each side a
linear gradient through its zone colours, faded by DestinationIn, radial corners, black behind,
at 1/div resolution.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QPointF, QRect, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QLinearGradient, QPainter, QRadialGradient

from x121_desktop.core.review.ambilight import Glow
from x121_desktop.ui.review.cinema import GLOW_ALPHA, GLOW_DIV


def _qcolor(rgb: Sequence[float], alpha: int = GLOW_ALPHA) -> QColor:
    return QColor(int(rgb[0]), int(rgb[1]), int(rgb[2]), alpha)


def paint_glow(p: QPainter, outer: QRect, picture: QRect, glow: Glow) -> None:
    """The surround: each side a gradient along the edge through its zone colours (no steps between
    zones), faded towards the screen edge; corners glow radially from the picture's corners; black behind."""
    pl, pt, pr, pb = picture.left(), picture.top(), picture.right() + 1, picture.bottom() + 1
    ol, ot, or_, ob = outer.left(), outer.top(), outer.right() + 1, outer.bottom() + 1
    sides = (
        (QRectF(pl, ot, pr - pl, pt - ot), glow.top, QPointF(pl, 0), QPointF(pr, 0), QPointF(0, pt), QPointF(0, ot)),
        (QRectF(pl, pb, pr - pl, ob - pb), glow.bottom, QPointF(pl, 0), QPointF(pr, 0), QPointF(0, pb), QPointF(0, ob)),
        (QRectF(ol, pt, pl - ol, pb - pt), glow.left, QPointF(0, pt), QPointF(0, pb), QPointF(pl, 0), QPointF(ol, 0)),
        (
            QRectF(pr, pt, or_ - pr, pb - pt),
            glow.right,
            QPointF(0, pt),
            QPointF(0, pb),
            QPointF(pr, 0),
            QPointF(or_, 0),
        ),
    )
    for rect, zones, a0, a1, f0, f1 in sides:
        if rect.width() <= 0 or rect.height() <= 0:
            continue
        along = QLinearGradient(a0, a1)
        n = len(zones)
        for i, rgb in enumerate(zones):
            along.setColorAt((i + 0.5) / n, _qcolor(rgb))
        along.setColorAt(0.0, _qcolor(zones[0]))
        along.setColorAt(1.0, _qcolor(zones[-1]))
        p.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceOver)
        p.fillRect(rect, along)
        fade = QLinearGradient(f0, f1)
        fade.setColorAt(0.0, QColor(0, 0, 0, 255))
        fade.setColorAt(1.0, QColor(0, 0, 0, 0))
        p.setCompositionMode(QPainter.CompositionMode.CompositionMode_DestinationIn)
        p.fillRect(rect, fade)
    p.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceOver)
    corners = (
        (QPointF(pl, pt), QRectF(ol, ot, pl - ol, pt - ot), glow.top[0], glow.left[0]),
        (QPointF(pr, pt), QRectF(pr, ot, or_ - pr, pt - ot), glow.top[-1], glow.right[0]),
        (QPointF(pl, pb), QRectF(ol, pb, pl - ol, ob - pb), glow.bottom[0], glow.left[-1]),
        (QPointF(pr, pb), QRectF(pr, pb, or_ - pr, ob - pb), glow.bottom[-1], glow.right[-1]),
    )
    reach = max(1.0, min(pl - ol, pt - ot, or_ - pr, ob - pb) * 1.0)
    for centre, rect, c1, c2 in corners:
        if rect.width() <= 0 or rect.height() <= 0:
            continue
        radial = QRadialGradient(centre, reach)
        radial.setColorAt(0.0, _qcolor((c1 + c2) / 2))
        radial.setColorAt(1.0, QColor(0, 0, 0, 0))
        p.fillRect(rect, radial)
    p.setCompositionMode(QPainter.CompositionMode.CompositionMode_DestinationOver)
    p.fillRect(QRectF(outer), QColor(0, 0, 0))
    p.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceOver)


def render_glow(outer: QRect, picture: QRect, glow: Glow, div: int = GLOW_DIV) -> QImage:
    """The glow at 1/`div` resolution (black behind the gradients)."""
    image = QImage(
        max(1, outer.width() // div), max(1, outer.height() // div), QImage.Format.Format_ARGB32_Premultiplied
    )
    image.fill(Qt.GlobalColor.transparent)
    small = QRect(picture.left() // div, picture.top() // div, picture.width() // div, picture.height() // div)
    p = QPainter(image)
    paint_glow(p, image.rect(), small, glow)
    p.end()
    return image
