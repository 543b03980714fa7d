"""Frame notes without Qt: JSON round trip, kinds, ghost fading, unreadable documents."""

from __future__ import annotations

import pytest

from x121_desktop.core.enums import AnnotationKind
from x121_desktop.core.errors import InvalidInput
from x121_desktop.core.review.notes import (
    Shape,
    Tool,
    clamp_point,
    ghost_opacity,
    ghost_side,
    kind_of,
    shapes_from_data,
    shapes_to_data,
)


def test_shapes_round_trip_through_the_stored_document() -> None:
    shapes = (
        Shape(Tool.PEN, ((0.1, 0.1), (0.2, 0.25), (0.3, 0.2))),
        Shape(Tool.ARROW, ((0.5, 0.5), (0.9, 0.1)), "#00ff00", 2.0),
        Shape(Tool.TEXT, ((0.05, 0.9),), text="too dark"),
    )
    data = shapes_to_data(shapes)
    assert data["version"] == 1
    assert shapes_from_data(data) == shapes
    assert kind_of(shapes) is AnnotationKind.FREEHAND
    assert kind_of(shapes[1:2]) is AnnotationKind.ARROW
    assert clamp_point(-0.2, 1.7) == (0.0, 1.0)


def test_ghosts_fade_with_distance_on_both_sides() -> None:
    assert [ghost_opacity(10, 3, f, reach=5) for f in (10, 12)] == [1.0, 1.0]
    assert ghost_opacity(10, 3, 15, reach=5) == pytest.approx(1 - 3 / 6)
    assert ghost_opacity(10, 3, 7, reach=5) == pytest.approx(1 - 3 / 6)
    assert ghost_opacity(10, 3, 4, reach=5) == 0.0
    assert ghost_opacity(10, 3, 18, reach=5) == 0.0
    assert (ghost_side(10, 3, 5), ghost_side(10, 3, 11), ghost_side(10, 3, 13)) == (1, 0, -1)


def test_a_document_this_version_cannot_read_is_a_sentence() -> None:
    with pytest.raises(InvalidInput, match="could not be read"):
        shapes_from_data({"shapes": [{"tool": "laser", "points": [[0, 0]]}]})
    with pytest.raises(ValueError, match="two points"):
        Shape(Tool.RECT, ((0.1, 0.1),))
