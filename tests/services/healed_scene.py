"""A scene whose seam the real healing ladder healed, on the review studio (tests/services/review_studio.py).

Two rendered segments of one continuous camera move over a photo (tests/seam_fixtures.py); segment 2
carries a strong colour cast, so the seam between them is red. Every frame carries its number on the
move in a stripe (tests/media_factory.py): segment 2's frame 0 repeats segment 1's cut frame 29 (the
chain's one-frame overlap), so the stripes run on across the seam. `SceneDirector.advance`, signed in
as the creator, then measures the seam and heals it exactly as in production (services/scene_seams.py):
a HEAL take (child of the measured take) becomes segment 2's current take, and two seam rows (before
and after) carry the remedy.

Import `healed_scene` (with `review_studio` and `studio_as`) into a test module to use it.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import pytest

from tests.db.security_studio import SUPERUSER
from tests.media_factory import draw_stripe
from tests.media_factory import make_video as encode
from tests.seam_fixtures import animate, default_path, lab_shift, photo
from tests.services.review_studio import ReviewStudio, review_studio, studio_as
from x121_desktop.core.enums import (
    FileKind,
    RetentionClass,
    SceneStatus,
    SeedPolicy,
    SegmentStatus,
    StitchMode,
    TakeReason,
    TakeStatus,
)
from x121_desktop.services.bootstrap import LaunchOptions, Studio, open_studio
from x121_desktop.services.scene_director import SceneDirector

__all__ = ["HealedScene", "healed_scene", "review_studio", "studio_as"]

FRAMES = 30
SIZE = 160
CAST = (12.0, 14.0)
"""a*, b* added to every frame of segment 2: a cast of ~18 ΔE, graded red, healed by colour match."""


@dataclass(frozen=True)
class HealedScene:
    scene_id: int
    left_take: int
    measured_take: int
    """The take segment 2 was rendered as (before the heal)."""
    healed_take: int
    report: tuple[tuple[int, str], ...]
    """The director's seams report: ((boundary, "healed"),)."""


def _one(conn: object, sql: str, *params: object) -> int:
    row = conn.execute(sql, params).fetchone()  # type: ignore[attr-defined]
    assert row is not None
    return int(row[0])


def _file(conn: object, media: Path, rel: str, kind: FileKind, creator: int) -> int:
    data = (media / rel).read_bytes()
    return _one(
        conn,
        "INSERT INTO files (sha256, rel_path, size_bytes, file_kind_id, retention_class_id, created_by) "
        "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (rel_path) DO UPDATE SET size_bytes = EXCLUDED.size_bytes "
        "RETURNING id",
        hashlib.sha256(data).hexdigest(), rel, len(data), kind, RetentionClass.WORKING, creator,
    )  # fmt: skip


def build_healed_scene(review: ReviewStudio, creator: Studio) -> HealedScene:
    s = review.secure
    media = review.home / "media"
    img, path = photo("coffee"), default_path("coffee", SIZE)
    left = [draw_stripe(f, t) for t, f in enumerate(animate(img, path, 0, FRAMES, SIZE))]
    right = [draw_stripe(lab_shift(f, 1.0, *CAST), FRAMES - 1 + i)
             for i, f in enumerate(animate(img, path, FRAMES - 1, FRAMES, SIZE))]  # fmt: skip
    for name, frames in (("heal_left.mp4", left), ("heal_right.mp4", right)):
        encode(media / "review" / name, frames, rate=30, size=(SIZE, SIZE), gop=10, bframes=0)
    # The director measures identity against the character's hero Seed A: a real image (no face in it).
    hero = media / "media" / "seed_a.png"
    hero.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(hero), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    cre = s.user_ids["creator"]
    with s.connect(SUPERUSER) as conn:
        scene = _one(
            conn,
            "INSERT INTO scenes (character_id, name, scene_status_id, min_frames, max_frames, fps_num, fps_den, "
            "seed_policy_id, stitch_mode_id, created_by) VALUES (%s, 'Healed chain', %s, 24, 240, 30, 1, %s, %s, %s) "
            "RETURNING id",
            s.ids["character"], SceneStatus.IN_PROGRESS, SeedPolicy.FIXED, StitchMode.SIMPLE, cre,
        )  # fmt: skip
        takes = []
        for position, (name, status) in enumerate(
            (("heal_left.mp4", SegmentStatus.IN_REVIEW), ("heal_right.mp4", SegmentStatus.GENERATED))
        ):
            file_id = _file(conn, media, f"review/{name}", FileKind.VIDEO, cre)
            segment = _one(
                conn,
                "INSERT INTO segments (scene_id, position, segment_status_id, planned_frames) "
                "VALUES (%s, %s, %s, %s) RETURNING id",
                scene, position, status, FRAMES,
            )  # fmt: skip
            take = _one(
                conn,
                "INSERT INTO takes (segment_id, take_reason_id, take_status_id, file_id, cut_frame, frame_count, "
                "created_by) VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id",
                segment, TakeReason.INITIAL, TakeStatus.READY, file_id, FRAMES - 1, FRAMES, cre,
            )  # fmt: skip
            conn.execute("UPDATE segments SET current_take_id = %s WHERE id = %s", (take, segment))
            takes.append(take)
    report = asyncio.run(SceneDirector(creator).advance(scene))
    with s.connect(SUPERUSER) as conn:
        healed = _one(
            conn,
            "SELECT g.current_take_id FROM segments g WHERE g.scene_id = %s AND g.position = 1",
            scene,
        )
    return HealedScene(scene, takes[0], takes[1], healed, tuple(report.seams))


@pytest.fixture(scope="module")
def healed_scene(review_studio: ReviewStudio) -> Iterator[HealedScene]:
    creator = open_studio(LaunchOptions(database_url=review_studio.secure.url("creator"), home=str(review_studio.home)))
    try:
        yield build_healed_scene(review_studio, creator)
    finally:
        creator.close()
