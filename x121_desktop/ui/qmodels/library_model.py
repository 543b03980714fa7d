"""LibraryModel: a table over frozen LibraryItem tuples, filled a page at a time.

The database sorts and filters (10,000+ items never load at once): `sort()` and `fetchMore()` only
emit intents (`sort_requested`, `more_requested`) that the panel turns into service calls, and the
panel hands pages back with `reset()` / `append()`. After an edit, `replace_items()` refreshes only
the rows that changed. The grid and the spreadsheet are two views of this one model.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QIcon, QPixmap

from x121_desktop.services.library import ItemKey, LibraryItem, LibraryPage

ITEM_ROLE = Qt.ItemDataRole.UserRole + 1
"""data(index, ITEM_ROLE) → the row's LibraryItem."""

COLUMNS: tuple[tuple[str, str], ...] = (
    ("name", "Name"),
    ("kind", "Kind"),
    ("title", "Title"),
    ("tags", "Tags"),
    ("notes", "Notes"),
    ("project", "Project"),
    ("character", "Character"),
    ("status", "Status"),
    ("frame_count", "Frames"),
    ("created_at", "Created"),
    ("pinned", "Pinned"),
)
SORT_KEYS = tuple(key for key, _ in COLUMNS)

Index = QModelIndex | QPersistentModelIndex
ThumbnailLookup = Callable[[LibraryItem], QPixmap | None]


def cell_text(item: LibraryItem, key: str) -> str:
    if key == "tags":
        return ", ".join(item.tags)
    if key == "pinned":
        return "★" if item.pinned else ""
    if key == "created_at":
        return item.created_at.strftime("%Y-%m-%d %H:%M")
    if key == "kind":
        return item.key.kind.value.capitalize()
    value = getattr(item, key)
    return "" if value is None else str(value)


class LibraryModel(QAbstractTableModel):
    more_requested = Signal(int)
    """The view scrolled to the end of what is loaded: fetch the page at this offset."""
    sort_requested = Signal(str, bool)
    """(sort key, descending): reload from the database in this order."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._items: list[LibraryItem] = []
        self._rows: dict[ItemKey, int] = {}
        self._total = 0
        self._loading = False
        self.thumbnail_lookup: ThumbnailLookup | None = None
        self.sort_key = "name"
        self.descending = False

    # ------------------------------------------------------------------ Qt API
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt signature
        return 0 if parent.isValid() else len(self._items)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt signature
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._items):
            return None
        item = self._items[index.row()]
        key = COLUMNS[index.column()][0]
        if role == Qt.ItemDataRole.DisplayRole:
            return cell_text(item, key)
        if role == ITEM_ROLE:
            return item
        if role == Qt.ItemDataRole.ToolTipRole and key in ("name", "title", "notes"):
            return item.notes or item.title or item.name
        if role == Qt.ItemDataRole.DecorationRole and key == "name" and self.thumbnail_lookup is not None:
            pixmap = self.thumbnail_lookup(item)
            return None if pixmap is None else QIcon(pixmap)  # an icon scales to the view's iconSize
        if role == Qt.ItemDataRole.TextAlignmentRole and key == "frame_count":
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section][1]
        return None

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008 - Qt signature
        return not parent.isValid() and not self._loading and len(self._items) < self._total

    def fetchMore(self, parent: Index = QModelIndex()) -> None:  # noqa: B008 - Qt signature
        if self.canFetchMore(parent):
            self._loading = True
            self.more_requested.emit(len(self._items))

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        key = COLUMNS[column][0] if 0 <= column < len(COLUMNS) else "name"
        descending = order == Qt.SortOrder.DescendingOrder
        if (key, descending) != (self.sort_key, self.descending):
            self.sort_key, self.descending = key, descending
            self.sort_requested.emit(key, descending)

    # ------------------------------------------------------------------ filled by the panel
    @property
    def total(self) -> int:
        return self._total

    @property
    def loading(self) -> bool:
        return self._loading

    def begin_loading(self) -> None:
        self._loading = True

    def reset(self, page: LibraryPage) -> None:
        self.beginResetModel()
        self._items = list(page.items)
        self._rows = {item.key: row for row, item in enumerate(self._items)}
        self._total = max(page.total, len(self._items))
        self._loading = False
        self.endResetModel()

    def append(self, page: LibraryPage) -> None:
        self._loading = False
        if page.offset != len(self._items):
            return  # a stale page (the query changed meanwhile)
        fresh = [item for item in page.items if item.key not in self._rows]
        self._total = max(page.total, len(self._items) + len(fresh))
        if not fresh:
            return
        first = len(self._items)
        self.beginInsertRows(QModelIndex(), first, first + len(fresh) - 1)
        for item in fresh:
            self._rows[item.key] = len(self._items)
            self._items.append(item)
        self.endInsertRows()

    def replace_items(self, items: Mapping[ItemKey, LibraryItem]) -> None:
        """New values for rows already shown (after an edit); rows not shown are ignored."""
        for key, item in items.items():
            row = self._rows.get(key)
            if row is not None:
                self._items[row] = item
                self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))

    def item(self, row: int) -> LibraryItem:
        return self._items[row]

    def items(self) -> tuple[LibraryItem, ...]:
        return tuple(self._items)

    def row_of(self, key: ItemKey) -> int | None:
        return self._rows.get(key)
