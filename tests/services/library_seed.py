"""A library of ~10,000 items on a real database, written with COPY (well under a second).

Real media: a few real photos (skimage.data) and real h264 clips (PyAV, tests.media_factory) in the
media root; many rows point at the same few contents (video files by symlinked paths), so thumbnails
are real while seeding stays fast. Layout of `seed_library(conn, media_root, characters=n)`:

- 1 project; n characters; 2 seeds each (A and B; A photos cycle through PHOTOS);
- 1 scene per character, `takes_per_character` segments with one take each (video clips cycle);
- `videos` video files no take uses (exports), named export-00001.mp4 ...
n=500, takes_per_character=16, videos=500 gives 500 + 1000 + 8000 + 500 = 10,000 items.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import psycopg

from tests.media_factory import make_video, photo
from x121_desktop.core.enums import (
    CharacterMode,
    FileKind,
    ProjectStatus,
    RetentionClass,
    SceneStatus,
    SeedKind,
    SeedOrigin,
    SeedPolicy,
    SegmentStatus,
    StitchMode,
    TakeReason,
    TakeStatus,
)

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket")
CLIPS = ("astronaut", "coffee", "chelsea")


@dataclass(frozen=True, slots=True)
class SeededLibrary:
    project_id: int
    character_ids: tuple[int, ...]
    photo_file_ids: dict[str, int]
    clip_file_ids: dict[str, int]
    video_file_ids: tuple[int, ...]
    items: int


def _store(media_root: Path, data: bytes, suffix: str) -> tuple[str, str]:
    sha = hashlib.sha256(data).hexdigest()
    rel = f"{sha[:2]}/{sha[2:]}{suffix}"
    path = media_root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return rel, sha


def _insert_file(cur: psycopg.Cursor[Any], rel: str, sha: str, size: int, kind: FileKind) -> int:
    row = cur.execute(
        "INSERT INTO files (sha256, rel_path, size_bytes, file_kind_id, retention_class_id) "
        "VALUES (%s, %s, %s, %s, %s) RETURNING id",
        (sha, rel, size, int(kind), int(RetentionClass.WORKING)),
    ).fetchone()
    assert row is not None
    return int(row[0])


def seed_library(
    conn: psycopg.Connection[Any],
    media_root: Path,
    *,
    characters: int = 500,
    takes_per_character: int = 16,
    videos: int = 500,
    prefix: str = "lib",
) -> SeededLibrary:
    """Write the library described above in the connection's transaction (the caller commits)."""
    cur = conn.cursor()
    photo_ids: dict[str, int] = {}
    for name in PHOTOS:
        ok, png = cv2.imencode(".png", cv2.cvtColor(photo(name), cv2.COLOR_RGB2BGR))
        assert ok
        rel, sha = _store(media_root, png.tobytes(), ".png")
        photo_ids[name] = _insert_file(cur, rel, sha, len(png.tobytes()), FileKind.IMAGE)
    clip_ids: dict[str, int] = {}
    clip_paths: list[Path] = []
    for name in CLIPS:
        tmp = media_root / f"tmp-{name}.mp4"
        make_video(tmp, 24, size=(192, 128), gop=12, photo_name=name)
        rel, sha = _store(media_root, tmp.read_bytes(), ".mp4")
        tmp.unlink()
        clip_ids[name] = _insert_file(cur, rel, sha, (media_root / rel).stat().st_size, FileKind.VIDEO)
        clip_paths.append(media_root / rel)
    project = cur.execute(
        "INSERT INTO projects (name, project_status_id) VALUES (%s, %s) RETURNING id",
        (f"{prefix} project", int(ProjectStatus.ACTIVE)),
    ).fetchone()
    assert project is not None
    project_id = int(project[0])
    base = _next_ids(cur)
    char_ids = tuple(range(base["characters"], base["characters"] + characters))
    with cur.copy("COPY characters (id, project_id, name, character_mode_id, notes) FROM STDIN") as cp:
        for n, cid in enumerate(char_ids):
            cp.write_row((cid, project_id, f"{prefix} character {n:05d}", int(CharacterMode.FORWARD), ""))
    seed_id = base["seed_images"]
    with cur.copy(
        "COPY seed_images (id, character_id, seed_kind_id, file_id, seed_origin_id, is_hero) FROM STDIN"
    ) as cp:
        for n, cid in enumerate(char_ids):
            a = photo_ids[PHOTOS[n % len(PHOTOS)]]
            b = photo_ids[PHOTOS[(n + 1) % len(PHOTOS)]]
            cp.write_row((seed_id, cid, int(SeedKind.A), a, int(SeedOrigin.GIVEN), True))
            cp.write_row((seed_id + 1, cid, int(SeedKind.B), b, int(SeedOrigin.GIVEN), False))
            seed_id += 2
    scene_ids = range(base["scenes"], base["scenes"] + characters)
    with cur.copy(
        "COPY scenes (id, character_id, name, scene_status_id, min_frames, max_frames, seed_policy_id, "
        "stitch_mode_id) FROM STDIN"
    ) as cp:
        for sid, cid in zip(scene_ids, char_ids, strict=True):
            cp.write_row(
                (
                    sid,
                    cid,
                    "scene",
                    int(SceneStatus.IN_PROGRESS),
                    24,
                    480,
                    int(SeedPolicy.FIXED),
                    int(StitchMode.SIMPLE),
                )
            )
    seg_id, take_id = base["segments"], base["takes"]
    clip_list = list(clip_ids.values())
    segments: list[tuple[int, int, int]] = []
    for sid in scene_ids:
        for pos in range(takes_per_character):
            segments.append((seg_id, sid, pos))
            seg_id += 1
    with cur.copy("COPY segments (id, scene_id, position, segment_status_id, planned_frames) FROM STDIN") as cp:
        for gid, sid, pos in segments:
            cp.write_row((gid, sid, pos, int(SegmentStatus.GENERATED), 24))
    with cur.copy("COPY takes (id, segment_id, take_reason_id, take_status_id, file_id, frame_count) FROM STDIN") as cp:
        for n, (gid, _sid, _pos) in enumerate(segments):
            cp.write_row(
                (take_id, gid, int(TakeReason.INITIAL), int(TakeStatus.READY), clip_list[n % len(clip_list)], 24)
            )
            take_id += 1
    video_ids: list[int] = []
    file_id = base["files"]
    with cur.copy("COPY files (id, sha256, rel_path, size_bytes, file_kind_id, retention_class_id) FROM STDIN") as cp:
        for n in range(videos):
            source = clip_paths[n % len(clip_paths)]
            rel = f"exports/{prefix}-export-{n:05d}.mp4"
            link = media_root / rel
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(source)
            sha = source.name.split(".")[0]
            sha = source.parent.name + sha
            cp.write_row((file_id, sha, rel, source.stat().st_size, int(FileKind.EXPORT), int(RetentionClass.WORKING)))
            video_ids.append(file_id)
            file_id += 1
    for table in ("characters", "seed_images", "scenes", "segments", "takes", "files"):
        cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
    items = characters * (3 + takes_per_character) + videos
    return SeededLibrary(project_id, char_ids, photo_ids, clip_ids, tuple(video_ids), items)


def _next_ids(cur: psycopg.Cursor[Any]) -> dict[str, int]:
    out: dict[str, int] = {}
    for table in ("characters", "seed_images", "scenes", "segments", "takes", "files"):
        row = cur.execute(f"SELECT coalesce(max(id), 0) + 1000 FROM {table}").fetchone()
        assert row is not None
        out[table] = int(row[0])
    return out
