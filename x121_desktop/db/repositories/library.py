"""Queries for the library browser: items across characters, seeds, takes and videos. Never commits.

An item is one character (thumbnail: its hero Seed A, else its first Seed A), seed image, take
(its rendered video) or video file no take uses (imports, exports). Metadata (title, notes,
tags) lives in `library_meta`, pins in `library_pins` (private to each user).

Similarity search uses pgvector: faces by L2 distance (`<->`) and perceptual hashes by Hamming
distance (`<~>`). Tables under EXACT_BELOW_ROWS are scanned exactly; larger ones use their HNSW
index with `hnsw.ef_search` raised for the transaction (the default of 40 misses exact matches,
PLATFORM.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

EF_SEARCH = 200
EXACT_BELOW_ROWS = 100_000
"""Below this many rows a similarity query scans exactly (~10 ms per 10,000 faces) instead of using HNSW.

Measured (tests/services/test_library.py): with 7 real faces among 10,000 random embeddings, HNSW
with ef_search 200 returned none of the 7 (a small far-off cluster is unreachable in the graph);
ef_search 1000 made the planner pick the exact scan. Exact is always right; HNSW is for scale.
"""


class ItemKind(StrEnum):
    CHARACTER = "character"
    SEED = "seed"
    TAKE = "take"
    VIDEO = "video"


META_COLUMN: dict[ItemKind, str] = {
    ItemKind.CHARACTER: "character_id",
    ItemKind.SEED: "seed_image_id",
    ItemKind.TAKE: "take_id",
    ItemKind.VIDEO: "file_id",
}


@dataclass(frozen=True, slots=True, order=True)
class ItemKey:
    """Which item: its kind and the id of its row (character, seed image, take or file)."""

    kind: ItemKind
    id: int


@dataclass(frozen=True, slots=True)
class ItemRecord:
    key: ItemKey
    name: str
    title: str
    notes: str
    tags: tuple[str, ...]
    pinned: bool
    project: str | None
    character: str | None
    status: str | None
    file_id: int | None
    is_video: bool
    frame_count: int | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ItemFilter:
    kinds: frozenset[ItemKind] = frozenset()
    """Empty: every kind."""
    text: str = ""
    tag: str = ""
    pinned_only: bool = False
    file_ids: tuple[int, ...] | None = None
    """Only items showing one of these files (similarity results)."""


@dataclass(frozen=True, slots=True)
class FileRecord:
    id: int
    rel_path: str
    sha256: str
    file_kind_id: int


SORT_COLUMNS: dict[str, str] = {
    "kind": "kind",
    "name": "lower(name)",
    "title": "lower(title)",
    "project": "lower(project)",
    "character": "lower(character)",
    "status": "status",
    "frame_count": "frame_count",
    "created_at": "created_at",
    "pinned": "pinned",
    "tags": "lower(array_to_string(tags, ', '))",
    "notes": "lower(notes)",
}

_ITEMS = """
WITH me AS (SELECT public.x121_current_user_id() AS uid),
items AS (
  SELECT 'character'::text AS kind, c.id AS item_id, c.name AS name, p.name AS project, c.name AS character,
         NULL::text AS status, c.created_at,
         (SELECT s.file_id FROM seed_images s WHERE s.character_id = c.id AND s.seed_kind_id = 1
          ORDER BY s.is_hero DESC, s.id LIMIT 1) AS file_id,
         false AS is_video, NULL::integer AS frame_count, m.id AS meta_id, m.title, m.notes, m.tags
  FROM characters c JOIN projects p ON p.id = c.project_id
  LEFT JOIN library_meta m ON m.character_id = c.id
  UNION ALL
  SELECT 'seed', s.id, c.name || ' · ' || sk.label, p.name, c.name, so.label, s.created_at, s.file_id,
         false, NULL, m.id, m.title, m.notes, m.tags
  FROM seed_images s JOIN characters c ON c.id = s.character_id JOIN projects p ON p.id = c.project_id
  JOIN seed_kind sk ON sk.id = s.seed_kind_id JOIN seed_origin so ON so.id = s.seed_origin_id
  LEFT JOIN library_meta m ON m.seed_image_id = s.id
  UNION ALL
  SELECT 'take', t.id, sc.name || ' · segment ' || (g.position + 1) || ' · take ' || t.id, p.name, c.name,
         ts.label, t.created_at, t.file_id, true, t.frame_count, m.id, m.title, m.notes, m.tags
  FROM takes t JOIN segments g ON g.id = t.segment_id JOIN scenes sc ON sc.id = g.scene_id
  JOIN characters c ON c.id = sc.character_id JOIN projects p ON p.id = c.project_id
  JOIN take_status ts ON ts.id = t.take_status_id
  LEFT JOIN library_meta m ON m.take_id = t.id
  UNION ALL
  SELECT 'video', f.id, regexp_replace(f.rel_path, '^.*/', ''), NULL, NULL, fk.label, f.created_at, f.id,
         true, NULL, m.id, m.title, m.notes, m.tags
  FROM files f JOIN file_kind fk ON fk.id = f.file_kind_id
  LEFT JOIN library_meta m ON m.file_id = f.id
  WHERE f.file_kind_id IN (2, 4, 8) AND NOT EXISTS (SELECT 1 FROM takes t WHERE t.file_id = f.id)
),
rows AS (
  SELECT i.kind, i.item_id, i.name, coalesce(i.title, '') AS title, coalesce(i.notes, '') AS notes,
         coalesce(i.tags, '{}'::text[]) AS tags, i.project, i.character, i.status, i.file_id, i.is_video,
         i.frame_count, i.created_at,
         EXISTS (SELECT 1 FROM library_pins lp, me WHERE lp.meta_id = i.meta_id AND lp.user_id = me.uid) AS pinned
  FROM items i
)
"""

_COLUMNS = (
    "kind, item_id, name, title, notes, tags, pinned, project, character, status, file_id, is_video, frame_count, "
    "created_at"
)


def _where(f: ItemFilter, params: dict[str, Any]) -> str:
    clauses: list[str] = []
    if f.kinds:
        clauses.append("kind = ANY(:kinds)")
        params["kinds"] = sorted(str(k) for k in f.kinds)
    if f.text.strip():
        clauses.append(
            "(name ILIKE :pattern OR title ILIKE :pattern OR notes ILIKE :pattern "
            "OR array_to_string(tags, ' ') ILIKE :pattern OR project ILIKE :pattern OR character ILIKE :pattern)"
        )
        escaped = f.text.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        params["pattern"] = f"%{escaped}%"
    if f.tag.strip():
        clauses.append(":tag = ANY(tags)")
        params["tag"] = f.tag.strip()
    if f.pinned_only:
        clauses.append("pinned")
    if f.file_ids is not None:
        clauses.append("file_id = ANY(:file_ids)")
        params["file_ids"] = list(f.file_ids)
    return ("WHERE " + " AND ".join(clauses)) if clauses else ""


def _record(row: Sequence[Any]) -> ItemRecord:
    return ItemRecord(
        key=ItemKey(ItemKind(row[0]), int(row[1])),
        name=row[2],
        title=row[3],
        notes=row[4],
        tags=tuple(row[5]),
        pinned=bool(row[6]),
        project=row[7],
        character=row[8],
        status=row[9],
        file_id=row[10],
        is_video=bool(row[11]),
        frame_count=row[12],
        created_at=row[13],
    )


def query_items(
    session: Session, f: ItemFilter, *, sort: str = "name", descending: bool = False, offset: int = 0, limit: int = 200
) -> list[ItemRecord]:
    """One page of items matching `f`, in a stable order (ties broken by kind and id)."""
    order = SORT_COLUMNS.get(sort)
    if order is None:
        raise ValueError(f"unknown sort column {sort!r}")
    params: dict[str, Any] = {"offset": max(0, offset), "limit": max(0, limit)}
    direction = "DESC NULLS LAST" if descending else "ASC NULLS LAST"
    sql = (
        f"{_ITEMS} SELECT {_COLUMNS} FROM rows {_where(f, params)} "
        f"ORDER BY {order} {direction}, kind, item_id LIMIT :limit OFFSET :offset"
    )
    return [_record(r) for r in session.execute(text(sql), params)]


def count_items(session: Session, f: ItemFilter) -> int:
    params: dict[str, Any] = {}
    return int(session.execute(text(f"{_ITEMS} SELECT count(*) FROM rows {_where(f, params)}"), params).scalar_one())


def items_by_keys(session: Session, keys: Iterable[ItemKey]) -> dict[ItemKey, ItemRecord]:
    wanted = set(keys)
    out: dict[ItemKey, ItemRecord] = {}
    for kind in {k.kind for k in wanted}:
        ids = [k.id for k in wanted if k.kind == kind]
        sql = f"{_ITEMS} SELECT {_COLUMNS} FROM rows WHERE kind = :kind AND item_id = ANY(:ids)"
        for row in session.execute(text(sql), {"kind": str(kind), "ids": ids}):
            rec = _record(row)
            out[rec.key] = rec
    return out


def ensure_meta(session: Session, keys: Iterable[ItemKey]) -> dict[ItemKey, int]:
    """The meta row id of each item, creating empty rows where missing (pointer columns only)."""
    out: dict[ItemKey, int] = {}
    by_kind: dict[ItemKind, list[int]] = {}
    for key in keys:
        by_kind.setdefault(key.kind, []).append(key.id)
    for kind, ids in by_kind.items():
        col = META_COLUMN[kind]
        session.execute(
            text(
                f"INSERT INTO library_meta ({col}) SELECT unnest(CAST(:ids AS integer[])) "
                f"ON CONFLICT ({col}) DO NOTHING"
            ),
            {"ids": ids},
        )
        rows = session.execute(text(f"SELECT {col}, id FROM library_meta WHERE {col} = ANY(:ids)"), {"ids": ids})
        out.update({ItemKey(kind, int(item)): int(meta) for item, meta in rows})
    return out


def lock_meta(session: Session, meta_ids: Sequence[int]) -> dict[int, tuple[str, str, tuple[str, ...]]]:
    """Current (title, notes, tags) of meta rows, locked until the transaction ends."""
    rows = session.execute(
        text("SELECT id, title, notes, tags FROM library_meta WHERE id = ANY(:ids) ORDER BY id FOR UPDATE"),
        {"ids": list(meta_ids)},
    )
    return {int(r[0]): (r[1], r[2], tuple(r[3])) for r in rows}


def update_meta(session: Session, meta_id: int, *, title: str, notes: str, tags: Sequence[str]) -> None:
    session.execute(
        text("UPDATE library_meta SET title = :title, notes = :notes, tags = :tags, updated_at = now() WHERE id = :id"),
        {"id": meta_id, "title": title, "notes": notes, "tags": list(tags)},
    )


def set_pins(session: Session, meta_ids: Sequence[int], pinned: bool) -> None:
    """Pin or unpin for the calling user (`user_id` defaults to the caller)."""
    if pinned:
        session.execute(
            text(
                "INSERT INTO library_pins (meta_id) SELECT unnest(CAST(:ids AS integer[])) "
                "ON CONFLICT (user_id, meta_id) DO NOTHING"
            ),
            {"ids": list(meta_ids)},
        )
    else:
        session.execute(
            text("DELETE FROM library_pins WHERE meta_id = ANY(:ids) AND user_id = public.x121_current_user_id()"),
            {"ids": list(meta_ids)},
        )


def file_record(session: Session, file_id: int) -> FileRecord | None:
    row = session.execute(
        text("SELECT id, rel_path, sha256, file_kind_id FROM files WHERE id = :id"), {"id": file_id}
    ).first()
    return None if row is None else FileRecord(int(row[0]), row[1], row[2], int(row[3]))


def face_embedding_of(session: Session, file_id: int) -> str | None:
    """The embedding (pgvector text form) of the largest face in the file's first frame with a face."""
    return session.execute(
        text(
            "SELECT embedding::text FROM face_embeddings WHERE file_id = :f "
            "ORDER BY frame_index, box_w * box_h DESC, id LIMIT 1"
        ),
        {"f": file_id},
    ).scalar_one_or_none()


def _plan_search(session: Session, table: str, limit: int) -> None:
    """Exact scan for small tables; HNSW with a raised ef_search for large ones (this transaction only)."""
    rows = session.execute(
        text("SELECT greatest(reltuples, 0)::bigint FROM pg_class WHERE oid = CAST(:t AS regclass)"), {"t": table}
    ).scalar_one()
    if int(rows) < EXACT_BELOW_ROWS:
        session.execute(text("SET LOCAL enable_indexscan = off"))
    else:
        session.execute(text(f"SET LOCAL hnsw.ef_search = {max(EF_SEARCH, limit)}"))


def nearest_faces(session: Session, embedding: str, limit: int) -> list[tuple[int, float]]:
    """(file_id, L2 distance) of the nearest face boxes, nearest first."""
    _plan_search(session, "face_embeddings", limit)
    rows = session.execute(
        text(
            "SELECT file_id, embedding <-> CAST(:q AS vector) AS d FROM face_embeddings "
            "ORDER BY embedding <-> CAST(:q AS vector) LIMIT :n"
        ),
        {"q": embedding, "n": limit},
    )
    return [(int(f), float(d)) for f, d in rows]


def phash_of(session: Session, file_id: int) -> str | None:
    """The pHash (64 '0'/'1' characters) of the file's first hashed frame."""
    return session.execute(
        text("SELECT phash::text FROM image_hashes WHERE file_id = :f ORDER BY frame_index LIMIT 1"), {"f": file_id}
    ).scalar_one_or_none()


def nearest_hashes(session: Session, phash: str, limit: int) -> list[tuple[int, int]]:
    """(file_id, Hamming distance) of the nearest frame hashes, nearest first."""
    _plan_search(session, "image_hashes", limit)
    rows = session.execute(
        text(
            "SELECT file_id, phash <~> CAST(:q AS bit(64)) AS d FROM image_hashes "
            "ORDER BY phash <~> CAST(:q AS bit(64)) LIMIT :n"
        ),
        {"q": phash, "n": limit},
    )
    return [(int(f), round(float(d))) for f, d in rows]
