"""The library service on a real PostgreSQL with 10,000 items, real photos, real clips, real faces.

The module builds its own migrated database (the library commits, so it stays out of the shared
test database), seeds it with COPY, and checks paging/filters/sort, search & replace as one
transaction, pins, pgvector similarity (real dlib embeddings and pHashes among 10,000 distractors)
and the thumbnail disk cache.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import psycopg
import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from tests.media_factory import photo
from tests.seam_fixtures import LFW_FACES, lfw_face, swap_face
from tests.services.library_seed import SeededLibrary, seed_library
from x121_desktop.core.enums import CharacterMode, FileKind, RetentionClass, SeedKind, SeedOrigin
from x121_desktop.core.errors import InvalidInput
from x121_desktop.core.likeness import SAME_PERSON_DISTANCE, observe_face
from x121_desktop.core.stitching.phash import phash
from x121_desktop.db.embedded import EmbeddedServer
from x121_desktop.db.engine import session_factory
from x121_desktop.db.migrate import upgrade
from x121_desktop.services.library import (
    BulkEditRequest,
    EditField,
    ItemKey,
    ItemKind,
    LibraryQuery,
    LibraryService,
    preview_bulk_edit,
)
from x121_desktop.services.runtime import Runtime


def run[T](coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


@dataclass(frozen=True)
class LibraryDb:
    url: str
    conninfo: dict[str, Any]
    media_root: Path
    cache_dir: Path
    seeded: SeededLibrary
    seconds: float

    def connect(self) -> psycopg.Connection[Any]:
        return psycopg.connect(**self.conninfo)


@pytest.fixture(scope="module")
def library_db(
    new_database: Callable[[], str], pg_server: EmbeddedServer, tmp_path_factory: pytest.TempPathFactory
) -> LibraryDb:
    url = new_database()
    engine = create_engine(url, pool_size=1)
    upgrade(engine)
    engine.dispose()
    name = make_url(url).database
    assert name is not None
    conninfo = pg_server.conninfo(name)
    root = tmp_path_factory.mktemp("library")
    media_root, cache_dir = root / "media", root / "cache"
    t0 = time.perf_counter()
    with psycopg.connect(**conninfo) as conn:
        seeded = seed_library(conn, media_root)
    return LibraryDb(url, conninfo, media_root, cache_dir, seeded, time.perf_counter() - t0)


@pytest.fixture
def service(library_db: LibraryDb) -> Iterator[LibraryService]:
    engine = create_engine(library_db.url, pool_size=2)
    runtime = Runtime()
    yield LibraryService(session_factory(engine), runtime, library_db.media_root, library_db.cache_dir)
    runtime.shutdown()
    engine.dispose()


def test_ten_thousand_items_seed_fast_and_page_completely(library_db: LibraryDb, service: LibraryService) -> None:
    assert library_db.seeded.items == 10_000
    assert library_db.seconds < 10  # COPY: the clips and photos dominate, not the rows
    first = run(service.page(LibraryQuery(), 0, 500))
    assert first.total == 10_000
    keys: set[ItemKey] = set()
    offset = 0
    while True:
        page = run(service.page(LibraryQuery(sort="created_at"), offset, 1000))
        keys.update(i.key for i in page.items)
        if len(page.items) < 1000:
            break
        offset += 1000
    assert len(keys) == 10_000
    kinds = {k: sum(1 for key in keys if key.kind is k) for k in ItemKind}
    assert kinds == {ItemKind.CHARACTER: 500, ItemKind.SEED: 1000, ItemKind.TAKE: 8000, ItemKind.VIDEO: 500}


def test_filters_and_server_side_sort(service: LibraryService) -> None:
    videos = run(service.page(LibraryQuery(kinds=frozenset({ItemKind.VIDEO})), 0, 50))
    assert videos.total == 500
    assert all(i.is_video and i.key.kind is ItemKind.VIDEO for i in videos.items)
    one = run(service.page(LibraryQuery(text="character 00042"), 0, 100))
    assert one.total == 1 + 2 + 16  # the character, its two seeds, its takes
    assert {i.character for i in one.items} == {"lib character 00042"}
    down = run(service.page(LibraryQuery(kinds=frozenset({ItemKind.CHARACTER}), sort="name", descending=True), 0, 5))
    assert [i.name for i in down.items] == [f"lib character {n:05d}" for n in range(499, 494, -1)]
    assert run(service.page(LibraryQuery(text="100%_"), 0, 5)).total == 0  # LIKE wildcards are literal


def test_bulk_search_and_replace_changes_every_row_in_one_transaction(service: LibraryService) -> None:
    page = run(service.page(LibraryQuery(kinds=frozenset({ItemKind.TAKE}), sort="created_at"), 0, 3000))
    keys = tuple(i.key for i in page.items)
    setting = BulkEditRequest(keys, EditField.TITLE, find="", replace="Shot for Client A")
    assert len(run(service.bulk_edit(setting)).changes) == 3000
    req = BulkEditRequest(keys, EditField.TITLE, find="client a", replace="Client B", match_case=False)
    fresh = run(service.items(keys))
    preview = preview_bulk_edit(fresh.values(), req)
    assert len(preview) == 3000
    assert preview[0].after == "Shot for Client B"
    result = run(service.bulk_edit(req))
    assert set(result.changed_keys) == set(keys)
    assert {i.title for i in run(service.items(keys)).values()} == {"Shot for Client B"}
    tags = BulkEditRequest(keys[:2], EditField.TAGS, find="", replace=" hero, wide ,hero,")
    run(service.bulk_edit(tags))
    assert {i.tags for i in run(service.items(keys[:2])).values()} == {("hero", "wide")}
    assert run(service.page(LibraryQuery(tag="wide"), 0, 10)).total == 2


def test_a_row_the_database_refuses_rolls_the_whole_edit_back(service: LibraryService) -> None:
    page = run(service.page(LibraryQuery(kinds=frozenset({ItemKind.SEED}), sort="created_at"), 0, 50))
    keys = tuple(i.key for i in page.items)
    run(service.bulk_edit(BulkEditRequest(keys, EditField.TITLE, find="", replace="x")))
    run(service.bulk_edit(BulkEditRequest(keys[-1:], EditField.TITLE, find="", replace="x" * 150)))
    doubling = BulkEditRequest(keys, EditField.TITLE, find="x", replace="xx")  # last row: 300 > 200 characters
    with pytest.raises(InvalidInput, match="not allowed") as caught:
        run(service.bulk_edit(doubling))
    assert page.items[-1].name in caught.value.sentence
    titles = {k: i.title for k, i in run(service.items(keys)).items()}
    assert [titles[k] for k in keys[:-1]] == ["x"] * 49  # none of the 49 good rows changed
    assert titles[keys[-1]] == "x" * 150
    with pytest.raises(InvalidInput, match="regular expression"):
        run(service.bulk_edit(BulkEditRequest(keys, EditField.NOTES, find="(", replace="", regex=True)))


def test_pins_filter_and_unpin(service: LibraryService) -> None:
    page = run(service.page(LibraryQuery(kinds=frozenset({ItemKind.CHARACTER})), 0, 3))
    keys = [i.key for i in page.items]
    run(service.set_pinned(keys, True))
    run(service.set_pinned(keys[:1], True))  # pinning twice is harmless
    pinned = run(service.page(LibraryQuery(pinned_only=True), 0, 50))
    assert {i.key for i in pinned.items} == set(keys)
    run(service.set_pinned(keys, False))
    assert run(service.page(LibraryQuery(pinned_only=True), 0, 50)).total == 0


def _variants() -> dict[str, np.ndarray[Any, np.dtype[np.uint8]]]:
    astro = photo("astronaut")
    ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(astro, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 35])
    assert ok
    h, w = astro.shape[:2]
    rot = cv2.warpAffine(astro, cv2.getRotationMatrix2D((w / 2, h / 2), 6, 1.05), (w, h))
    return {
        "astronaut": astro,
        "astronaut-jpeg": cv2.cvtColor(cv2.imdecode(jpeg, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB),
        "astronaut-half": cv2.resize(astro, (w // 2, h // 2), interpolation=cv2.INTER_AREA),
        "astronaut-rotated": rot,
        **{f"lfw-{i}": swap_face(lfw_face(i)) for i in LFW_FACES},
        "coffee": photo("coffee"),
        "chelsea": photo("chelsea"),
    }


@pytest.fixture(scope="module")
def probes(library_db: LibraryDb) -> dict[str, int]:
    """Each variant as an image file + a character whose Seed A it is, with its real face and pHash,
    among 10,000 random face embeddings and 10,000 random hashes on the export videos."""
    rng = np.random.default_rng(7)
    ids: dict[str, int] = {}
    with library_db.connect() as conn:
        cur = conn.cursor()
        for n, (name, image) in enumerate(_variants().items()):
            sha = f"{n + 1:064x}"
            row = cur.execute(
                "INSERT INTO files (sha256, rel_path, size_bytes, file_kind_id, retention_class_id) "
                "VALUES (%s, %s, 1, %s, %s) RETURNING id",
                (sha, f"probe/{name}.png", int(FileKind.IMAGE), int(RetentionClass.WORKING)),
            ).fetchone()
            assert row is not None
            ids[name] = file_id = int(row[0])
            char = cur.execute(
                "INSERT INTO characters (project_id, name, character_mode_id) VALUES (%s, %s, %s) RETURNING id",
                (library_db.seeded.project_id, f"probe {name}", int(CharacterMode.FORWARD)),
            ).fetchone()
            assert char is not None
            cur.execute(
                "INSERT INTO seed_images (character_id, seed_kind_id, file_id, seed_origin_id) VALUES (%s,%s,%s,%s)",
                (char[0], int(SeedKind.A), file_id, int(SeedOrigin.GIVEN)),
            )
            cur.execute(
                "INSERT INTO image_hashes (file_id, phash) VALUES (%s, %s::bit(64))",
                (file_id, format(phash(image), "064b")),
            )
            face = observe_face(image)
            if face is not None:
                b = face.box
                cur.execute(
                    "INSERT INTO face_embeddings (file_id, box_x, box_y, box_w, box_h, embedding) "
                    "VALUES (%s, %s, %s, %s, %s, %s::vector)",
                    (file_id, b.left, b.top, b.width, b.height, str(list(face.embedding))),
                )
        others = library_db.seeded.video_file_ids
        with cur.copy("COPY face_embeddings (file_id, box_x, box_y, box_w, box_h, embedding) FROM STDIN") as cp:
            for n in range(10_000):
                vec = rng.normal(0.0, 0.09, 128)
                cp.write_row((others[n % len(others)], 0, 0, 10, 10, "[" + ",".join(f"{v:.5f}" for v in vec) + "]"))
        with cur.copy("COPY image_hashes (file_id, frame_index, phash) FROM STDIN") as cp:
            for n in range(10_000):
                cp.write_row(
                    (others[n % len(others)], n // len(others) + 1, format(int(rng.integers(0, 2**63)), "064b"))
                )
        cur.execute("ANALYZE face_embeddings, image_hashes")
    return ids


def test_similar_faces_finds_the_same_person_first(service: LibraryService, probes: dict[str, int]) -> None:
    hits = run(service.similar_faces(probes["astronaut"], k=6))
    by_file = {}
    for h in hits:
        by_file.setdefault(h.item.file_id, h.distance)
    ranked = sorted(by_file, key=lambda f: by_file[f])
    same = {probes[n] for n in ("astronaut-jpeg", "astronaut-half", "astronaut-rotated")}
    others = {probes[f"lfw-{i}"] for i in LFW_FACES}
    assert set(ranked[:3]) == same
    assert all(by_file[f] < SAME_PERSON_DISTANCE for f in same)
    assert set(ranked[3:6]) == others  # real other people before 10,000 random faces
    assert all(by_file[f] > SAME_PERSON_DISTANCE for f in others)
    assert probes["astronaut"] not in by_file
    assert {h.item.key.kind for h in hits} == {ItemKind.CHARACTER, ItemKind.SEED}  # the seed and its character


def test_near_duplicates_by_perceptual_hash(service: LibraryService, probes: dict[str, int]) -> None:
    hits = run(service.near_duplicates(probes["astronaut"], max_distance=10))
    files = {h.item.file_id for h in hits}
    assert {probes["astronaut-jpeg"], probes["astronaut-half"]} <= files
    # The same photo with another face pasted in is a near-duplicate picture (that is what the face
    # search is for); other photos and the 10,000 random hashes are not.
    assert {probes[f"lfw-{i}"] for i in LFW_FACES} <= files
    assert not files & {probes["coffee"], probes["chelsea"]}
    assert files <= set(probes.values())
    assert all(h.distance <= 10 for h in hits)


def test_thumbnails_and_scrub_strips_are_cached_atomically(library_db: LibraryDb, service: LibraryService) -> None:
    still = run(service.thumbnail(library_db.seeded.photo_file_ids["coffee"], size=160))
    assert (still.width, still.height, still.frames) == (160, 107, 1)
    assert len(still.rgb) == still.width * still.height * 3
    clip = library_db.seeded.clip_file_ids["chelsea"]
    strip = run(service.thumbnail(clip, size=96, frames=8))
    assert strip.frames == 8
    assert strip.width == 8 * 96
    assert strip.height == 64
    pixels = np.frombuffer(strip.rgb, np.uint8).reshape(strip.height, strip.width, 3)
    assert not np.array_equal(pixels[:, :96], pixels[:, -96:])  # the strip shows the clip moving
    cached = sorted((library_db.cache_dir / "thumbs").rglob("*"))
    files = [p for p in cached if p.is_file()]
    assert len(files) == 2
    assert not [p for p in files if p.name.startswith(".tmp-")]
    stamp = files[0].stat().st_mtime_ns

    async def many() -> list[int]:
        got = await asyncio.gather(*(service.thumbnail(v, size=96, frames=8) for v in library_db.seeded.video_file_ids))
        return [t.width for t in got]

    assert set(run(many())) == {8 * 96}  # 500 export paths: three contents, served from three cache files
    assert files[0].stat().st_mtime_ns == stamp
    assert len([p for p in (library_db.cache_dir / "thumbs").rglob("*") if p.is_file()]) == 4
