"""Seam review media: what a healed seam looked like before the heal, and ±k-frame seam clips.

A heal (services/scene_seams.py) leaves in the database: the measured take (still stored, with its
video), its seam row graded before the heal, a HEAL take (child of the measured take, same frame
count) that became the segment's current take, and the healed seam's row; both rows carry the
remedy. `heal_of` reads that back as a `SeamHeal`, so review can play the seam either way.

Seam clips show what the assembled scene plays (core.pipeline.chain.kept_ranges): take N up to its
cut frame (less an advanced cut's tail trim), then take N+1 from the frame after the one-frame
overlap (plus the head trim). The overlap frame repeats N's cut frame and is never played; showing
it would stall the picture for a frame at every seam (and a healed take keeps it unhealed).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from sqlalchemy.engine import Connection

from x121_desktop.core.enums import SeamGrade, TakeReason
from x121_desktop.core.ids import TakeId
from x121_desktop.core.media.reader import FrameReader
from x121_desktop.core.media.writer import VideoWriter
from x121_desktop.core.pipeline.values import SeamValue, TakeValue
from x121_desktop.core.review.seams import SeamWindow, blend
from x121_desktop.db.repositories import takes as take_repo
from x121_desktop.services.review_media import REVIEW_PROXY
from x121_desktop.services.storage import MediaStore


@dataclass(frozen=True, slots=True)
class SeamHeal:
    """How the healing ladder healed a seam: the remedy applied, the measured take it started from (the
    HEAL take's parent) and the seam's grade and score before the heal. After: the seam's own."""

    remedy: str
    """What was applied: "colour_match", "colour_match+crossfade", …"""
    reason: str
    unhealed_take_id: TakeId
    unhealed_video: Path | None
    grade_before: SeamGrade
    score_before: float


@dataclass(frozen=True, slots=True)
class SeamClip:
    """A rendered seam clip. `window` counts the frames the scene keeps: its right frame i is frame
    `right_head + i` of the right take's file (its left frames are the left file's own numbers)."""

    path: Path
    window: SeamWindow
    ghost: bool
    right_head: int = 0


def video_path(conn: Connection, store: MediaStore, file_id: int | None) -> Path | None:
    return None if file_id is None else store.path_of(take_repo.file_path(conn, file_id))


def seam_trims(seam: SeamValue) -> tuple[int, int]:
    """(tail trim, head trim) an advanced cut recorded in the seam's remedy (services/takes.trims), else (0, 0)."""
    remedy = seam.remedy or {}
    if remedy.get("cut") != "advanced":
        return 0, 0
    return int(remedy.get("tail_trim", 0)), int(remedy.get("head_trim", 0))


def heal_of(
    conn: Connection, store: MediaStore, seam: SeamValue, right: TakeValue, measured: list[SeamValue]
) -> SeamHeal | None:
    """The heal behind `seam` (whose right take is `right`), or None when that take is not a heal's result.
    `measured`: the scene's seam rows (the one graded before the heal is among them)."""
    if right.reason is not TakeReason.HEAL or right.parent_take_id is None:
        return None
    pair = (seam.left_take_id, right.parent_take_id)
    before = next((m for m in measured if (m.left_take_id, m.right_take_id) == pair), None)
    remedy = dict(seam.remedy or (before.remedy if before is not None else None) or {})
    if before is not None:
        grade, score = before.grade, before.score
    else:  # no row for the measured take: the heal report's own figures
        grade = SeamGrade.from_code(str(remedy.get("grade_before", "red")))
        score = float(remedy.get("score_before", 0.0))
    unhealed = take_repo.get_take(conn, right.parent_take_id)
    video = video_path(conn, store, unhealed.file_id)
    return SeamHeal(str(remedy.get("remedy", "heal")), str(remedy.get("reason", "")), unhealed.id, video, grade, score)


def render_seam_clip(
    left: Path,
    right: Path,
    k: int,
    ghost: bool,
    out: Path,
    rate: Fraction,
    left_end: int | None = None,
    right_head: int = 0,
) -> SeamClip:
    """Blocking: decode the tail of `left` (its frames up to `left_end`, default its last) and the head of
    `right` from `right_head` on (at left's size), the frames the assembled scene keeps, and encode the clip."""
    with FrameReader(left, hwaccel=False) as a:
        size = a.size
        with FrameReader(right, size=size, hwaccel=False) as b:
            end = a.frame_count - 1 if left_end is None else min(left_end, a.frame_count - 1)
            head_at = min(max(0, right_head), b.frame_count - 1)
            window = SeamWindow(end + 1, b.frame_count - head_at, k)
            if out.is_file():
                return SeamClip(out, window, ghost, head_at)
            tail = list(a.frames(window.left.start, window.left.stop))
            head = list(b.frames(head_at + window.right.start, head_at + window.right.stop))
    with VideoWriter(out, rate, REVIEW_PROXY) as writer:
        for frame in tail:
            writer.write(frame)
        for i, frame in enumerate(head):
            writer.write(blend(tail[i], frame) if ghost and i < len(tail) else frame)
    return SeamClip(out, window, ghost, head_at)
