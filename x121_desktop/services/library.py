"""Library browser use cases: page through items, bulk-edit metadata, pins, similarity search, thumbnails.

Reads run in the `db_read` executor, writes in `db_writer`, thumbnails in `cpu`; every method is
async and returns frozen values. Each user operation is one transaction: a bulk edit of 10,000
items either changes all of them or none (a row the database refuses rolls everything back, and
the error names that item).

Search & replace: `find` is a literal (or a regular expression) replaced everywhere in the field;
an empty `find` sets the field to `replace`. Tags are edited as one comma-separated text, then
split, trimmed and de-duplicated again.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.exc import DBAPIError

from x121_desktop.core.enums import FileKind
from x121_desktop.core.errors import InvalidInput, NotFound
from x121_desktop.db.engine import unit_of_work
from x121_desktop.db.repositories import library as repo
from x121_desktop.db.repositories.library import ItemFilter, ItemKey, ItemKind, ItemRecord
from x121_desktop.services.library_thumbs import Thumbnail, cache_path, load_or_make

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from x121_desktop.services.bootstrap import Studio
    from x121_desktop.services.runtime import Runtime

__all__ = [
    "BulkChange",
    "BulkEditRequest",
    "BulkEditResult",
    "EditField",
    "ItemKey",
    "ItemKind",
    "LibraryItem",
    "LibraryPage",
    "LibraryQuery",
    "LibraryService",
    "SimilarItem",
    "Thumbnail",
    "preview_bulk_edit",
]

LibraryItem = ItemRecord
"""One row of the library (frozen; crosses into ui and cli)."""

VIDEO_KINDS = frozenset({FileKind.VIDEO, FileKind.PROXY, FileKind.EXPORT})
SORTABLE = tuple(repo.SORT_COLUMNS)


@dataclass(frozen=True, slots=True)
class LibraryQuery:
    kinds: frozenset[ItemKind] = frozenset()
    text: str = ""
    tag: str = ""
    pinned_only: bool = False
    sort: str = "name"
    descending: bool = False
    file_ids: tuple[int, ...] | None = None

    def filter(self) -> ItemFilter:
        return ItemFilter(self.kinds, self.text, self.tag, self.pinned_only, self.file_ids)


@dataclass(frozen=True, slots=True)
class LibraryPage:
    items: tuple[LibraryItem, ...]
    offset: int
    total: int


class EditField(StrEnum):
    TITLE = "title"
    NOTES = "notes"
    TAGS = "tags"


@dataclass(frozen=True, slots=True)
class BulkEditRequest:
    keys: tuple[ItemKey, ...]
    field: EditField
    find: str
    replace: str
    match_case: bool = True
    regex: bool = False


@dataclass(frozen=True, slots=True)
class BulkChange:
    key: ItemKey
    name: str
    before: str
    after: str


@dataclass(frozen=True, slots=True)
class BulkEditResult:
    changes: tuple[BulkChange, ...]

    @property
    def changed_keys(self) -> tuple[ItemKey, ...]:
        return tuple(c.key for c in self.changes)


@dataclass(frozen=True, slots=True)
class SimilarItem:
    item: LibraryItem
    distance: float
    """L2 face distance (< 0.6: same person) or Hamming bits between pHashes (0: same picture)."""


def field_text(title: str, notes: str, tags: Sequence[str], which: EditField) -> str:
    return {EditField.TITLE: title, EditField.NOTES: notes, EditField.TAGS: ", ".join(tags)}[which]


def parse_tags(value: str) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for part in value.split(","):
        tag = part.strip()
        if tag:
            seen.setdefault(tag, None)
    return tuple(seen)


def _compile(req: BulkEditRequest) -> re.Pattern[str] | None:
    if not req.find:
        return None
    flags = 0 if req.match_case else re.IGNORECASE
    try:
        return re.compile(req.find if req.regex else re.escape(req.find), flags)
    except re.error as exc:
        raise InvalidInput(
            f"The search pattern {req.find!r} is not a valid regular expression ({exc})", "Fix it"
        ) from exc


def apply_edit(value: str, req: BulkEditRequest, pattern: re.Pattern[str] | None) -> str:
    if pattern is None:
        out = req.replace
    elif req.regex:
        out = pattern.sub(req.replace, value)
    else:
        out = pattern.sub(lambda _m: req.replace, value)
    return ", ".join(parse_tags(out)) if req.field is EditField.TAGS else out


def preview_bulk_edit(items: Iterable[LibraryItem], req: BulkEditRequest) -> tuple[BulkChange, ...]:
    """What the edit would change, from the items as shown (pure; apply re-reads under lock)."""
    pattern = _compile(req)
    wanted = set(req.keys)
    out: list[BulkChange] = []
    for item in items:
        if item.key not in wanted:
            continue
        before = field_text(item.title, item.notes, item.tags, req.field)
        after = apply_edit(before, req, pattern)
        if after != before:
            out.append(BulkChange(item.key, item.name, before, after))
    return tuple(out)


@dataclass
class LibraryService:
    sessions: sessionmaker[Session]
    runtime: Runtime
    media_root: Path
    cache_dir: Path
    _inflight: dict[tuple[int, int, int], asyncio.Future[Thumbnail]] = field(default_factory=dict)

    @classmethod
    def from_studio(cls, studio: Studio) -> LibraryService:
        return cls(studio.sessions, studio.runtime, studio.paths.media_root, studio.paths.cache_dir)

    # ------------------------------------------------------------------ reads
    async def page(self, query: LibraryQuery, offset: int = 0, limit: int = 200) -> LibraryPage:
        return await self.runtime.run(self.runtime.db_read, self._page, query, offset, limit)

    def _page(self, query: LibraryQuery, offset: int, limit: int) -> LibraryPage:
        with self.sessions() as s:
            f = query.filter()
            items = repo.query_items(s, f, sort=query.sort, descending=query.descending, offset=offset, limit=limit)
            total = repo.count_items(s, f) if offset == 0 or len(items) == limit else offset + len(items)
        return LibraryPage(tuple(items), offset, total)

    async def items(self, keys: Sequence[ItemKey]) -> dict[ItemKey, LibraryItem]:
        """Fresh rows for these items (after an edit: refresh only what changed)."""
        return await self.runtime.run(self.runtime.db_read, self._items, tuple(keys))

    def _items(self, keys: tuple[ItemKey, ...]) -> dict[ItemKey, LibraryItem]:
        with self.sessions() as s:
            return repo.items_by_keys(s, keys)

    # ------------------------------------------------------------------ writes
    async def bulk_edit(self, req: BulkEditRequest) -> BulkEditResult:
        _compile(req)  # a bad pattern is refused before any work
        return await self.runtime.run(self.runtime.db_writer, self._bulk_edit, req)

    def _bulk_edit(self, req: BulkEditRequest) -> BulkEditResult:
        pattern = _compile(req)
        changes: list[BulkChange] = []
        with unit_of_work(self.sessions) as s:
            names = {k: r.name for k, r in repo.items_by_keys(s, req.keys).items()}
            missing = [k for k in req.keys if k not in names]
            if missing:
                raise NotFound(f"{len(missing)} of the chosen items no longer exist", "Refresh the library and retry")
            meta = repo.ensure_meta(s, req.keys)
            current = repo.lock_meta(s, sorted(meta.values()))
            for key in sorted(set(req.keys)):
                title, notes, tags = current[meta[key]]
                before = field_text(title, notes, tags, req.field)
                after = apply_edit(before, req, pattern)
                if after == before:
                    continue
                if req.field is EditField.TITLE:
                    title = after
                elif req.field is EditField.NOTES:
                    notes = after
                else:
                    tags = parse_tags(after)
                try:
                    repo.update_meta(s, meta[key], title=title, notes=notes, tags=tags)
                except DBAPIError as exc:
                    raise _refused(exc, names[key], req.field) from exc
                changes.append(BulkChange(key, names[key], before, after))
        return BulkEditResult(tuple(changes))

    async def set_pinned(self, keys: Sequence[ItemKey], pinned: bool) -> tuple[ItemKey, ...]:
        return await self.runtime.run(self.runtime.db_writer, self._set_pinned, tuple(keys), pinned)

    def _set_pinned(self, keys: tuple[ItemKey, ...], pinned: bool) -> tuple[ItemKey, ...]:
        with unit_of_work(self.sessions) as s:
            meta = repo.ensure_meta(s, keys)
            repo.set_pins(s, list(meta.values()), pinned)
        return keys

    # ------------------------------------------------------------------ similarity
    async def similar_faces(
        self, file_id: int | None = None, *, embedding: Sequence[float] | None = None, k: int = 12
    ) -> tuple[SimilarItem, ...]:
        """Items showing the faces nearest to the face in `file_id` (or to `embedding`), nearest first."""
        return await self.runtime.run(self.runtime.db_read, self._similar_faces, file_id, embedding, k)

    def _similar_faces(self, file_id: int | None, embedding: Sequence[float] | None, k: int) -> tuple[SimilarItem, ...]:
        with self.sessions() as s, s.begin():
            if embedding is not None:
                query = "[" + ",".join(repr(float(v)) for v in embedding) + "]"
            else:
                found = repo.face_embedding_of(s, _need(file_id))
                if found is None:
                    raise NotFound(f"File {file_id} has no detected face", "Analyse it for faces first")
                query = found
            hits = repo.nearest_faces(s, query, limit=max(4 * k, 40))
            return self._rank(s, hits, exclude=file_id, k=k)

    async def near_duplicates(self, file_id: int, max_distance: int = 10, k: int = 50) -> tuple[SimilarItem, ...]:
        """Items whose pHash is within `max_distance` bits of `file_id`'s, nearest first (itself excluded)."""
        return await self.runtime.run(self.runtime.db_read, self._near_duplicates, file_id, max_distance, k)

    def _near_duplicates(self, file_id: int, max_distance: int, k: int) -> tuple[SimilarItem, ...]:
        with self.sessions() as s, s.begin():
            phash = repo.phash_of(s, file_id)
            if phash is None:
                raise NotFound(f"File {file_id} has no perceptual hash", "Analyse it first")
            hits = [(f, float(d)) for f, d in repo.nearest_hashes(s, phash, limit=max(4 * k, 40)) if d <= max_distance]
            return self._rank(s, hits, exclude=file_id, k=k)

    @staticmethod
    def _rank(s: Session, hits: Sequence[tuple[int, float]], *, exclude: int | None, k: int) -> tuple[SimilarItem, ...]:
        best: dict[int, float] = {}
        for f, d in hits:
            if f != exclude and d < best.get(f, float("inf")):
                best[f] = d
        chosen = sorted(best, key=lambda f: (best[f], f))[:k]
        if not chosen:
            return ()
        items = repo.query_items(s, ItemFilter(file_ids=tuple(chosen)), limit=10 * len(chosen))
        ranked = [SimilarItem(i, best[i.file_id]) for i in items if i.file_id is not None]
        ranked.sort(key=lambda h: (h.distance, h.item.key))
        return tuple(ranked)

    # ------------------------------------------------------------------ thumbnails
    async def thumbnail(self, file_id: int, size: int = 160, frames: int = 1) -> Thumbnail:
        """A picture of the file (`frames` > 1: a hover-scrub strip for videos), from the disk cache."""
        key = (file_id, size, frames)
        running = self._inflight.get(key)
        if running is not None:
            return await asyncio.shield(running)
        future: asyncio.Future[Thumbnail] = asyncio.ensure_future(self._make_thumbnail(file_id, size, frames))
        self._inflight[key] = future
        future.add_done_callback(lambda _f: self._inflight.pop(key, None))
        return await asyncio.shield(future)

    async def _make_thumbnail(self, file_id: int, size: int, frames: int) -> Thumbnail:
        record = await self.runtime.run(self.runtime.db_read, self._file, file_id)
        is_video = record.file_kind_id in VIDEO_KINDS
        target = cache_path(self.cache_dir, record.sha256, size, frames if is_video else 1)
        source = self.media_root / record.rel_path
        return await self.runtime.run(
            self.runtime.cpu, load_or_make, file_id, source, target, size=size, frames=frames, is_video=is_video
        )

    def _file(self, file_id: int) -> repo.FileRecord:
        with self.sessions() as s:
            record = repo.file_record(s, file_id)
        if record is None:
            raise NotFound(f"File {file_id} is not in the database", "Refresh the library")
        return record


def _need(file_id: int | None) -> int:
    if file_id is None:
        raise InvalidInput("Similar faces needs a file or an embedding", "Choose an item with a face")
    return file_id


def _refused(exc: DBAPIError, name: str, which: EditField) -> Exception:
    from x121_desktop.db.engine import translate_db_error

    code = getattr(getattr(exc, "orig", None), "sqlstate", None)
    if code == "23514":  # check_violation
        limit = {EditField.TITLE: "at most 200 characters", EditField.TAGS: "at most 32 non-empty tags"}
        return InvalidInput(
            f"The new {which} of {name!r} is not allowed ({limit.get(which, 'refused by the database')}); "
            "nothing was changed",
            "Change the replacement and try again",
        )
    return translate_db_error(exc)
