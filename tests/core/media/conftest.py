"""Clips shared by the media tests: made once per session with tests.media_factory."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.media_factory import make_video

MakeClip = Callable[..., Path]


@pytest.fixture(scope="session")
def clip(tmp_path_factory: pytest.TempPathFactory) -> MakeClip:
    """clip(name, frames=48, **make_video kwargs) → a cached video file under a session folder."""
    root = tmp_path_factory.mktemp("media-clips")
    made: dict[tuple[str, str], Path] = {}

    def make(name: str, frames: Any = 48, **kwargs: Any) -> Path:
        key = (name, repr(sorted(kwargs.items())))
        if key not in made:
            made[key] = make_video(root / name, frames, **kwargs)
        return made[key]

    return make
