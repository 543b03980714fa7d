"""Scenes with known takes and seam scores on the secure studio (real logins, RLS), and a window with the
scene workspace installed on a real Studio for each login.

`build_chain` writes a 3-segment scene as the pipeline leaves it in review: every segment has a
rendered current take (a real H.264 clip in the studio's media store), segment 2 also an earlier
take (its parent, superseded) with a reviewer's verdict, and the two seams are graded as given.

Import `review_studio`, `studio_as`, `qloop` and `scene_window` into a test module to use them.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import qasync
from PySide6.QtWidgets import QApplication

from tests.db.security_studio import SUPERUSER
from tests.media_factory import Frame, make_video
from tests.services.review_studio import ReviewStudio, review_studio, studio_as
from tests.ui.studio_fixtures import qloop, run, until
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
    Verdict,
)
from x121_desktop.services.bootstrap import Studio
from x121_desktop.ui.docks import WindowServices
from x121_desktop.ui.main_window import MainWindow
from x121_desktop.ui.scene.install import SceneWindowWiring, install_scene_workspace

__all__ = [
    "Chain",
    "build_chain",
    "close_scene_window",
    "open_scene_window",
    "qloop",
    "review_studio",
    "scene_window",
    "studio_as",
]

FRAMES = 12
_names = itertools.count(1)


@dataclass(frozen=True)
class Chain:
    scene_id: int
    name: str
    segments: tuple[int, ...]
    currents: tuple[int, ...]
    """Current take of each segment."""
    older: int
    """Segment 2's earlier take (parent of its current one)."""
    scores: tuple[float, float]


def _one(conn: Any, sql: str, *params: object) -> int:
    row = conn.execute(sql, params).fetchone()
    assert row is not None
    return int(row[0])


def build_chain(
    review: ReviewStudio,
    grades: tuple[SeamGrade, SeamGrade],
    scores: tuple[float, float],
    clip: Callable[[int, int], list[Frame]] | None = None,
) -> Chain:
    """`clip(position, n)`: the frames of segment `position`'s take n (0 older, 1 current of segment 2);
    default: FRAMES frames of a photograph (the same for every take)."""
    s = review.secure
    media = review.home / "media"
    name = f"Chain {next(_names)}"
    cre, rev = s.user_ids["creator"], s.user_ids["reviewer"]
    with s.connect(SUPERUSER) as conn:
        scene = _one(
            conn,
            "INSERT INTO scenes (character_id, name, scene_status_id, min_frames, max_frames, fps_num, fps_den, "
            "seed_policy_id, stitch_mode_id, workflow_version_id, created_by) "
            "VALUES (%s, %s, %s, 24, 240, 24, 1, %s, %s, %s, %s) RETURNING id",
            s.ids["character"], name, SceneStatus.IN_REVIEW, SeedPolicy.FIXED, StitchMode.SIMPLE,
            s.ids["workflow_version"], cre,
        )  # fmt: skip

        def take(segment: int, n: int, reason: TakeReason, status: TakeStatus, parent: int | None) -> int:
            rel = f"scene-ws/{scene}_{segment}_{n}.mp4"
            make_video(media / rel, clip(position, n) if clip else FRAMES, rate=24, size=(64, 48), gop=6, bframes=0)
            file_id = _one(
                conn,
                "INSERT INTO files (sha256, rel_path, size_bytes, file_kind_id, retention_class_id, created_by) "
                "VALUES (encode(sha256(%s::bytea), 'hex'), %s, %s, %s, %s, %s) RETURNING id",
                rel.encode(), rel, (media / rel).stat().st_size, FileKind.VIDEO, RetentionClass.WORKING, cre,
            )  # fmt: skip
            return _one(
                conn,
                "INSERT INTO takes (segment_id, parent_take_id, take_reason_id, take_status_id, file_id, seed, "
                "cut_frame, frame_count, created_by) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
                segment, parent, reason, status, file_id, 7 + n, FRAMES - 1, FRAMES, cre,
            )  # fmt: skip

        segments, currents, older = [], [], 0
        for position in range(3):
            segment = _one(
                conn,
                "INSERT INTO segments (scene_id, position, segment_status_id, planned_frames) "
                "VALUES (%s, %s, %s, %s) RETURNING id",
                scene, position, SegmentStatus.IN_REVIEW, FRAMES,
            )  # fmt: skip
            if position == 1:
                older = take(segment, 0, TakeReason.INITIAL, TakeStatus.SUPERSEDED, None)
                current = take(segment, 1, TakeReason.REGENERATE, TakeStatus.READY, older)
            else:
                current = take(segment, 0, TakeReason.INITIAL, TakeStatus.READY, None)
            conn.execute("UPDATE segments SET current_take_id = %s WHERE id = %s", (current, segment))
            segments.append(segment)
            currents.append(current)
        conn.execute(
            "INSERT INTO verdicts (take_id, reviewer_id, verdict_id, note) VALUES (%s, %s, %s, 'hand jitters')",
            (older, rev, Verdict.REJECT),
        )
        for n, grade in enumerate(grades):
            conn.execute(
                "INSERT INTO seams (scene_id, left_take_id, right_take_id, seam_grade_id, score, metrics) "
                'VALUES (%s, %s, %s, %s, %s, \'{"reasons": ["colour shift"]}\'::jsonb)',
                (scene, currents[n], currents[n + 1], grade, scores[n]),
            )
    return Chain(scene, name, tuple(segments), tuple(currents), older, scores)


@dataclass
class SceneWindow:
    window: MainWindow
    wiring: SceneWindowWiring
    studio: Studio

    def open(self, loop: qasync.QEventLoop, scene_id: int) -> None:
        """Open the scene as a person does (the navigator's scene → MainWindow.open_scene) and wait for it."""
        nav = self.window.navigator
        assert nav is not None
        nav.refresh()  # the scene may be newer than the tree the window loaded
        run(loop, until(lambda: nav.data is not None and nav.data.find_scene(scene_id) is not None, what="navigator"))  # type: ignore[arg-type]
        self.window.open_scene(scene_id)  # type: ignore[arg-type]
        ws = self.wiring.workspace
        run(loop, until(lambda: ws.workspace is not None and ws.workspace.scene_id == scene_id, what="the scene"))


@pytest.fixture
def scene_window(
    qloop: qasync.QEventLoop, studio_as: Callable[[str], Studio]
) -> Iterator[Callable[[str], SceneWindow]]:
    made: list[SceneWindow] = []

    def make(who: str) -> SceneWindow:
        made.append(open_scene_window(qloop, studio_as(who)))
        return made[-1]

    yield make
    for sw in made:
        close_scene_window(qloop, sw)


def open_scene_window(qloop: qasync.QEventLoop, studio: Studio) -> SceneWindow:
    """A started window on `studio` with the scene workspace installed (as ui.app does)."""
    window = MainWindow(WindowServices.from_studio(studio), health_interval_ms=60_000, use_tray=False)
    wiring = install_scene_workspace(window, studio)
    window.show()
    run(qloop, window.start())
    return SceneWindow(window, wiring, studio)


def close_scene_window(qloop: qasync.QEventLoop, sw: SceneWindow) -> None:
    run(qloop, sw.wiring.stop())
    run(qloop, sw.window.shutdown())
    sw.window.close()
    sw.window.deleteLater()
    run(qloop, asyncio.sleep(0.01))
    QApplication.processEvents()
