"""LibraryPanel: characters, seeds, takes and videos as a thumbnail grid or a spreadsheet.

Both views share one LibraryModel and one selection. Filters, sort and paging run in the database
(through the LibraryService); thumbnails load in the background, a few at a time, newest request
first, so the grid stays responsive while it scrolls. Pins, bulk edit (one transaction) and
similarity search (faces like this one, near-duplicate pictures) act on the selection.

The main window builds it with `LibraryPanel(LibraryService.from_studio(studio))`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Iterable, Sequence
from typing import Any, Protocol

from PySide6.QtCore import QItemSelectionModel, QSize, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from x121_desktop.core.errors import X121Error
from x121_desktop.services.library import (
    BulkChange,
    BulkEditRequest,
    BulkEditResult,
    ItemKey,
    ItemKind,
    LibraryItem,
    LibraryPage,
    LibraryQuery,
    SimilarItem,
    Thumbnail,
    preview_bulk_edit,
)
from x121_desktop.ui.qmodels.library_model import ITEM_ROLE, LibraryModel
from x121_desktop.ui.widgets.bulk_edit import BulkEditDialog
from x121_desktop.ui.widgets.thumbnail_grid import (
    STRIP_FRAMES,
    THUMB_SIZE,
    ThumbnailCache,
    ThumbnailGrid,
    image_from_rgb,
)

log = logging.getLogger(__name__)

PAGE_SIZE = 300
THUMB_WORKERS = 3
KIND_CHOICES: tuple[tuple[str, frozenset[ItemKind]], ...] = (
    ("All kinds", frozenset()),
    ("Characters", frozenset({ItemKind.CHARACTER})),
    ("Seeds", frozenset({ItemKind.SEED})),
    ("Takes", frozenset({ItemKind.TAKE})),
    ("Videos", frozenset({ItemKind.TAKE, ItemKind.VIDEO})),
)


class LibraryApi(Protocol):
    """What the panel needs from services.library.LibraryService."""

    async def page(self, query: LibraryQuery, offset: int = 0, limit: int = 200) -> LibraryPage: ...
    async def items(self, keys: Sequence[ItemKey]) -> dict[ItemKey, LibraryItem]: ...
    async def bulk_edit(self, req: BulkEditRequest) -> BulkEditResult: ...
    async def set_pinned(self, keys: Sequence[ItemKey], pinned: bool) -> tuple[ItemKey, ...]: ...
    async def similar_faces(
        self, file_id: int | None = None, *, embedding: Sequence[float] | None = None, k: int = 12
    ) -> tuple[SimilarItem, ...]: ...
    async def near_duplicates(self, file_id: int, max_distance: int = 10, k: int = 50) -> tuple[SimilarItem, ...]: ...
    async def thumbnail(self, file_id: int, size: int = 160, frames: int = 1) -> Thumbnail: ...


class LibraryPanel(QWidget):
    item_activated = Signal(object)
    """ItemKey of a double-clicked item."""
    error_reported = Signal(str)
    """A sentence for the notifications (also shown in the panel's status line)."""
    edit_committed = Signal(int)
    """Number of items a bulk edit changed (after its transaction committed)."""

    def __init__(self, api: LibraryApi, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("library_panel")
        self.api = api
        self.query = LibraryQuery()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._page_task: asyncio.Task[Any] | None = None
        self._thumb_queue: list[tuple[int, int]] = []
        self._thumb_workers = 0
        self._similar: dict[ItemKey, float] = {}
        self.cache = ThumbnailCache(parent=self)
        self.model = LibraryModel(self)
        self.model.thumbnail_lookup = self._thumb_for
        self._build()
        self.model.more_requested.connect(self._load_more)
        self.model.sort_requested.connect(self._sort)
        self.cache.thumbnail_needed.connect(self._want_thumbnail)

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        self.search = QLineEdit(placeholderText="Search names, titles, notes, tags…")
        self.search.setClearButtonEnabled(True)
        self.kind = QComboBox()
        for label, _ in KIND_CHOICES:
            self.kind.addItem(label)
        self.pinned_only = QCheckBox("★ Pinned")
        self.grid_button = QPushButton("Grid")
        self.sheet_button = QPushButton("Sheet")
        for b in (self.grid_button, self.sheet_button):
            b.setCheckable(True)
        self.grid_button.setChecked(True)
        self.pin_button = QPushButton("Pin")
        self.unpin_button = QPushButton("Unpin")
        self.edit_button = QPushButton("Bulk edit…")
        self.faces_button = QPushButton("Similar faces")
        self.dupes_button = QPushButton("Near duplicates")
        self.clear_button = QPushButton("Show all")
        self.status = QLabel()
        self.grid = ThumbnailGrid(self.cache)
        self.grid.setModel(self.model)
        self.sheet = QTableView()
        self.sheet.setModel(self.model)
        self.sheet.setSortingEnabled(True)
        self.sheet.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.sheet.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.sheet.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.sheet.verticalHeader().setDefaultSectionSize(22)
        self.sheet.setIconSize(QSize(32, 18))  # the thumbnail as a small icon beside the name
        self.sheet.verticalHeader().hide()
        self.sheet.horizontalHeader().setStretchLastSection(True)
        self.selection = QItemSelectionModel(self.model, self)
        self.grid.setSelectionModel(self.selection)
        self.sheet.setSelectionModel(self.selection)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.grid)
        self.stack.addWidget(self.sheet)

        self._lay_out()
        self._connect()

    def _lay_out(self) -> None:
        bar = QHBoxLayout()
        for w in (self.search, self.kind, self.pinned_only, self.grid_button, self.sheet_button):
            bar.addWidget(w)
        actions = QHBoxLayout()
        for w in (
            self.pin_button,
            self.unpin_button,
            self.edit_button,
            self.faces_button,
            self.dupes_button,
            self.clear_button,
        ):
            actions.addWidget(w)
        actions.addStretch(1)
        actions.addWidget(self.status)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(bar)
        layout.addLayout(actions)
        layout.addWidget(self.stack, 1)

    def _connect(self) -> None:
        self._debounce = QTimer(self, singleShot=True, interval=250)
        self._debounce.timeout.connect(self._filters_changed)
        self.search.textChanged.connect(lambda _t: self._debounce.start())
        self.kind.currentIndexChanged.connect(lambda _i: self._filters_changed())
        self.pinned_only.toggled.connect(lambda _b: self._filters_changed())
        self.grid_button.clicked.connect(lambda: self.show_view("grid"))
        self.sheet_button.clicked.connect(lambda: self.show_view("sheet"))
        self.pin_button.clicked.connect(lambda: self._spawn(self.pin_selected(True)))
        self.unpin_button.clicked.connect(lambda: self._spawn(self.pin_selected(False)))
        self.edit_button.clicked.connect(self.open_bulk_edit)
        self.faces_button.clicked.connect(lambda: self._spawn(self.show_similar("faces")))
        self.dupes_button.clicked.connect(lambda: self._spawn(self.show_similar("duplicates")))
        self.clear_button.clicked.connect(lambda: self.reload_soon(self._filter_query()))
        self.grid.doubleClicked.connect(self._activated)
        self.sheet.doubleClicked.connect(self._activated)
        self.selection.selectionChanged.connect(lambda *_: self._update_buttons())
        self._update_buttons()

    def show_view(self, which: str) -> None:
        grid = which == "grid"
        self.stack.setCurrentWidget(self.grid if grid else self.sheet)
        self.grid_button.setChecked(grid)
        self.sheet_button.setChecked(not grid)

    def _update_buttons(self) -> None:
        chosen = self.selected_items()
        one_file = len(chosen) == 1 and chosen[0].file_id is not None
        for b in (self.pin_button, self.unpin_button, self.edit_button):
            b.setEnabled(bool(chosen))
        self.faces_button.setEnabled(one_file)
        self.dupes_button.setEnabled(one_file)
        self.clear_button.setVisible(self.query.file_ids is not None)

    # ------------------------------------------------------------------ tasks
    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if isinstance(exc, X121Error):
            self.report(exc.sentence)
        elif exc is not None:
            log.error("library task failed", exc_info=exc)
            self.report(f"The library hit an unexpected error: {exc}")

    def report(self, sentence: str) -> None:
        self.status.setText(sentence)
        self.error_reported.emit(sentence)

    async def shutdown(self) -> None:
        """Cancel background loads and wait for them (call before the service closes)."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        # Wait only: each task's failure has been reported already by _finished, its done-callback.
        await asyncio.gather(*tasks, return_exceptions=True)

    # ------------------------------------------------------------------ loading
    def _filter_query(self) -> LibraryQuery:
        return LibraryQuery(
            kinds=KIND_CHOICES[max(0, self.kind.currentIndex())][1],
            text=self.search.text(),
            pinned_only=self.pinned_only.isChecked(),
            sort=self.model.sort_key,
            descending=self.model.descending,
        )

    def _filters_changed(self) -> None:
        self.reload_soon(self._filter_query())

    def _sort(self, key: str, descending: bool) -> None:
        q = self.query
        self.reload_soon(LibraryQuery(q.kinds, q.text, q.tag, q.pinned_only, key, descending, q.file_ids))

    def reload_soon(self, query: LibraryQuery | None = None) -> asyncio.Task[Any]:
        """Start reloading in the background; a newer reload cancels an older one still waiting."""
        if self._page_task is not None and not self._page_task.done():
            self._page_task.cancel()
        self._page_task = self._spawn(self.reload(query))
        return self._page_task

    async def reload(self, query: LibraryQuery | None = None) -> None:
        """Show the first page of `query` (default: the current one)."""
        if query is not None:
            self.query = query
        self.model.begin_loading()
        page = await self.api.page(self.query, 0, PAGE_SIZE)
        self._thumb_queue.clear()
        self.cache.forget_requests()
        self._similar = {}
        self.model.reset(page)
        self._show_count()
        self._update_buttons()

    def _load_more(self, offset: int) -> None:
        self._spawn(self._append(self.query, offset))

    async def _append(self, query: LibraryQuery, offset: int) -> None:
        page = await self.api.page(query, offset, PAGE_SIZE)
        if query == self.query:
            self.model.append(page)
            self._show_count()

    def _show_count(self) -> None:
        self.status.setText(f"{self.model.rowCount()} of {self.model.total} items")

    # ------------------------------------------------------------------ thumbnails
    def _thumb_for(self, item: LibraryItem) -> Any:
        return None if item.file_id is None else self.cache.get(item.file_id, 1)

    def _want_thumbnail(self, file_id: int, frames: int) -> None:
        self._thumb_queue.append((file_id, frames))
        while self._thumb_workers < THUMB_WORKERS and self._thumb_queue:
            self._thumb_workers += 1
            self._spawn(self._thumb_worker())

    async def _thumb_worker(self) -> None:
        try:
            while self._thumb_queue:
                file_id, frames = self._thumb_queue.pop()  # newest first: what is on screen now
                try:
                    thumb = await self.api.thumbnail(file_id, THUMB_SIZE if frames == 1 else THUMB_SIZE // 2, frames)
                except X121Error:
                    self.cache.failed(file_id, frames)
                    continue
                self.cache.put(file_id, frames, image_from_rgb(thumb.width, thumb.height, thumb.rgb))
        finally:
            self._thumb_workers -= 1

    # ------------------------------------------------------------------ selection actions
    def selected_items(self) -> list[LibraryItem]:
        rows = sorted({i.row() for i in self.selection.selectedIndexes()})
        return [self.model.item(r) for r in rows]

    def select_rows(self, rows: Iterable[int]) -> None:
        self.selection.clearSelection()
        flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
        for r in rows:
            self.selection.select(self.model.index(r, 0), flags)

    async def pin_selected(self, pinned: bool) -> None:
        keys = [i.key for i in self.selected_items()]
        if keys:
            await self.api.set_pinned(keys, pinned)
            await self._refresh(keys)

    async def _refresh(self, keys: Sequence[ItemKey]) -> None:
        self.model.replace_items(await self.api.items(keys))

    def open_bulk_edit(self) -> BulkEditDialog | None:
        chosen = self.selected_items()
        if not chosen:
            return None
        dialog = BulkEditDialog(chosen, preview_bulk_edit, self)
        dialog.accepted.connect(lambda: self._spawn(self.apply_bulk_edit(dialog.request())))
        dialog.finished.connect(lambda _r: dialog.deleteLater())
        dialog.open()
        return dialog

    async def apply_bulk_edit(self, req: BulkEditRequest) -> tuple[BulkChange, ...]:
        """One transaction; on refusal nothing changed and the sentence is shown."""
        result = await self.api.bulk_edit(req)
        await self._refresh(result.changed_keys)
        self.status.setText(f"Changed {len(result.changes)} items")
        self.edit_committed.emit(len(result.changes))
        return result.changes

    async def show_similar(self, what: str) -> None:
        chosen = self.selected_items()
        if len(chosen) != 1 or chosen[0].file_id is None:
            return
        origin = chosen[0]
        assert origin.file_id is not None
        hits = (
            await self.api.similar_faces(origin.file_id, k=24)
            if what == "faces"
            else await self.api.near_duplicates(origin.file_id)
        )
        files = tuple(dict.fromkeys(h.item.file_id for h in hits if h.item.file_id is not None))
        self.query = LibraryQuery(file_ids=files, sort=self.model.sort_key, descending=self.model.descending)
        self.model.reset(LibraryPage(tuple(h.item for h in hits), 0, len(hits)))
        self._similar = {h.item.key: h.distance for h in hits}
        label = "faces like" if what == "faces" else "near duplicates of"
        self.status.setText(f"{len(hits)} items: {label} {origin.title or origin.name}")
        self._update_buttons()

    def distance_of(self, key: ItemKey) -> float | None:
        return self._similar.get(key)

    def _activated(self, index: Any) -> None:
        item = index.data(ITEM_ROLE)
        if isinstance(item, LibraryItem):
            self.item_activated.emit(item.key)


def make_library_panel(api: LibraryApi, parent: QWidget | None = None) -> LibraryPanel:
    """Dock factory for the main window's registry."""
    panel = LibraryPanel(api, parent)
    panel.reload_soon()
    return panel


__all__ = ["STRIP_FRAMES", "LibraryApi", "LibraryPanel", "make_library_panel"]
