"""A secure studio (tests/db/security_studio.py) with a reviewable scene: three segments, each with a
READY current take whose video is a real H.264 clip in the studio's media store, and graded seams
between them (green, red). Opened as each login through `open_studio`, so RLS applies.

Import `review_studio` and `studio_as` into a test module to use them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.db.security_studio import SUPERUSER, SecureStudio, build_secure_studio, drop_secure_studio
from tests.media_factory import make_video
from x121_desktop.core.enums import (
    FileKind,
    RetentionClass,
    SceneStatus,
    SeamGrade,
    SeedPolicy,
    SegmentStatus,
    StitchMode,
    TakeReason,
    TakeStatus,
)
from x121_desktop.db.embedded import EmbeddedServer
from x121_desktop.services.bootstrap import LaunchOptions, Studio, open_studio

__all__ = ["ReviewStudio", "review_studio", "studio_as"]

CLIP_FRAMES = 30
CLIP_SIZE = (160, 96)
PHOTOS = ("astronaut", "chelsea", "coffee")


@dataclass
class ReviewStudio:
    secure: SecureStudio
    home: Path
    scene_id: int
    segment_ids: list[int]
    take_ids: list[int]
    seam_ids: list[int]


def _one(conn: Any, sql: str, *params: object) -> int:
    row = conn.execute(sql, params).fetchone()
    assert row is not None
    return int(row[0])


def build_review_scene(studio: SecureStudio, home: Path) -> ReviewStudio:
    media = home / "media"
    (media / "review").mkdir(parents=True, exist_ok=True)
    cre = studio.user_ids["creator"]
    segments: list[int] = []
    takes: list[int] = []
    seams: list[int] = []
    with studio.connect(SUPERUSER) as conn:
        scene = _one(
            conn,
            "INSERT INTO scenes (character_id, name, scene_status_id, min_frames, max_frames, fps_num, fps_den, "
            "seed_policy_id, stitch_mode_id, created_by) VALUES (%s, 'Review chain', %s, 24, 240, 30, 1, %s, %s, %s) "
            "RETURNING id",
            studio.ids["character"],
            SceneStatus.IN_PROGRESS,
            SeedPolicy.FIXED,
            StitchMode.SIMPLE,
            cre,
        )
        for n, photo in enumerate(PHOTOS):
            rel = f"review/take_{n}.mp4"
            make_video(media / rel, CLIP_FRAMES, rate=30, size=CLIP_SIZE, gop=10, bframes=0, photo_name=photo)
            file_id = _one(
                conn,
                "INSERT INTO files (sha256, rel_path, size_bytes, file_kind_id, retention_class_id, created_by) "
                "VALUES (encode(sha256(%s::bytea), 'hex'), %s, %s, %s, %s, %s) RETURNING id",
                f"{scene}-{rel}".encode(),
                rel,
                (media / rel).stat().st_size,
                FileKind.VIDEO,
                RetentionClass.WORKING,
                cre,
            )
            segment = _one(
                conn,
                "INSERT INTO segments (scene_id, position, segment_status_id, planned_frames) "
                "VALUES (%s, %s, %s, %s) RETURNING id",
                scene,
                n,
                SegmentStatus.IN_REVIEW,
                CLIP_FRAMES,
            )
            take = _one(
                conn,
                "INSERT INTO takes (segment_id, take_reason_id, take_status_id, file_id, frame_count, created_by) "
                "VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
                segment,
                TakeReason.INITIAL,
                TakeStatus.READY,
                file_id,
                CLIP_FRAMES,
                cre,
            )
            conn.execute("UPDATE segments SET current_take_id = %s WHERE id = %s", (take, segment))
            segments.append(segment)
            takes.append(take)
        for n, grade in enumerate((SeamGrade.GREEN, SeamGrade.RED)):
            seams.append(
                _one(
                    conn,
                    "INSERT INTO seams (scene_id, left_take_id, right_take_id, seam_grade_id, score, metrics) "
                    "VALUES (%s, %s, %s, %s, %s, '{}'::jsonb) RETURNING id",
                    scene,
                    takes[n],
                    takes[n + 1],
                    grade,
                    0.9 if grade is SeamGrade.GREEN else 0.3,
                )
            )
    return ReviewStudio(studio, home, scene, segments, takes, seams)


@pytest.fixture(scope="module")
def review_studio(
    pg_server: EmbeddedServer, new_database: Callable[[], str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ReviewStudio]:
    secure = build_secure_studio(pg_server, new_database)
    try:
        yield build_review_scene(secure, tmp_path_factory.mktemp("review-home"))
    finally:
        drop_secure_studio(secure)


@pytest.fixture
def studio_as(review_studio: ReviewStudio) -> Iterator[Callable[[str], Studio]]:
    """Open the studio as a test login (`reviewer`, `creator`, …) on the scene's media home."""
    opened: list[Studio] = []

    def make(who: str) -> Studio:
        built = open_studio(LaunchOptions(database_url=review_studio.secure.url(who), home=str(review_studio.home)))
        opened.append(built)
        return built

    yield make
    for built in opened:
        built.close()
