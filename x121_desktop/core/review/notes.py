"""Frame notes, pure: drawn shapes in normalised frame coordinates, their JSON, and ghosting.

A note covers frames ``[frame_start, frame_start + frame_count)`` of a take. Coordinates are
fractions of the picture (0,0 top-left, 1,1 bottom-right), so a note drawn on a proxy lands on
the same spot of the original. Ghosting follows OpenRV: notes from earlier frames show faded
(in the "before" colour), later ones too (in the "after" colour), fading to nothing `reach`
frames away.

    shapes = (Shape(Tool.ARROW, ((0.1, 0.2), (0.5, 0.5))),)
    data = shapes_to_data(shapes)            # → the annotations.data document
    assert shapes_from_data(data) == shapes
    ghost_opacity(12, 5, frame=19, reach=5)  # 0.4: three frames past the note's last frame
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from x121_desktop.core.enums import AnnotationKind
from x121_desktop.core.errors import InvalidInput

DATA_VERSION = 1
GHOST_REACH = 5
Point = tuple[float, float]


class Tool(enum.StrEnum):
    PEN = "pen"
    ARROW = "arrow"
    RECT = "rect"
    ELLIPSE = "ellipse"
    TEXT = "text"


_KIND = {
    Tool.PEN: AnnotationKind.FREEHAND,
    Tool.ARROW: AnnotationKind.ARROW,
    Tool.RECT: AnnotationKind.RECTANGLE,
    Tool.ELLIPSE: AnnotationKind.ELLIPSE,
    Tool.TEXT: AnnotationKind.TEXT,
}


@dataclass(frozen=True, slots=True)
class Shape:
    """One stroke or figure. PEN: the points of the stroke; ARROW/RECT/ELLIPSE: two corners (from, to);
    TEXT: one point (the text's top-left) and `text`. `width` is in pixels at 1080 lines."""

    tool: Tool
    points: tuple[Point, ...]
    color: str = "#ff3b30"
    width: float = 3.0
    text: str = ""

    def __post_init__(self) -> None:
        if not self.points:
            raise ValueError("a shape needs at least one point")
        if self.tool in (Tool.ARROW, Tool.RECT, Tool.ELLIPSE) and len(self.points) != 2:
            raise ValueError(f"a {self.tool} needs two points, got {len(self.points)}")


def clamp_point(x: float, y: float) -> Point:
    """A point kept on the picture (drawing can start inside and drag outside), rounded to 1e-4."""
    return (round(min(max(x, 0.0), 1.0), 4), round(min(max(y, 0.0), 1.0), 4))


def shapes_to_data(shapes: Iterable[Shape]) -> dict[str, Any]:
    return {
        "version": DATA_VERSION,
        "shapes": [
            {"tool": s.tool.value, "points": [list(p) for p in s.points], "color": s.color, "width": s.width}
            | ({"text": s.text} if s.text else {})
            for s in shapes
        ],
    }


def shapes_from_data(data: Mapping[str, Any]) -> tuple[Shape, ...]:
    """The shapes of a stored note; a document this version cannot read is an InvalidInput sentence."""
    try:
        out = []
        for raw in data.get("shapes", ()):
            points = tuple(clamp_point(float(p[0]), float(p[1])) for p in raw["points"])
            out.append(
                Shape(Tool(raw["tool"]), points, str(raw.get("color", "#ff3b30")), float(raw.get("width", 3.0)),
                      str(raw.get("text", "")))
            )  # fmt: skip
        return tuple(out)
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise InvalidInput(
            f"A stored note could not be read ({exc})", "It was written by a newer X121; update this one"
        ) from exc


def kind_of(shapes: Iterable[Shape]) -> AnnotationKind:
    """The annotation kind stored with a note: its tool when all shapes share one, else FREEHAND."""
    kinds = {_KIND[s.tool] for s in shapes}
    return kinds.pop() if len(kinds) == 1 else AnnotationKind.FREEHAND


def ghost_opacity(frame_start: int, frame_count: int, frame: int, reach: int = GHOST_REACH) -> float:
    """1.0 on the note's frames, fading linearly to 0 at `reach` frames away (0 beyond)."""
    if frame_start <= frame < frame_start + frame_count:
        return 1.0
    distance = frame_start - frame if frame < frame_start else frame - (frame_start + frame_count - 1)
    return max(0.0, 1.0 - distance / (reach + 1)) if reach > 0 else 0.0


def ghost_side(frame_start: int, frame_count: int, frame: int) -> int:
    """-1: the note is on earlier frames; +1: on later ones; 0: on this frame."""
    if frame < frame_start:
        return 1
    return -1 if frame >= frame_start + frame_count else 0


def arrow_head(a: Point, b: Point, size: float) -> tuple[Point, Point]:
    """The two barb ends of an arrow from `a` to `b` (in the same units as the points)."""
    angle = math.atan2(b[1] - a[1], b[0] - a[0])
    spread = math.radians(28)
    return (
        (b[0] - size * math.cos(angle - spread), b[1] - size * math.sin(angle - spread)),
        (b[0] - size * math.cos(angle + spread), b[1] - size * math.sin(angle + spread)),
    )
