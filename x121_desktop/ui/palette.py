"""The command palette (Ctrl+K / Cmd+K): fuzzy search over actions and entities, keyboard only.

Type to filter, ↑/↓ (and PgUp/PgDn) to move, Enter to run or open, Esc to close. Recent items come
first. Ranking lives in `x121_desktop.actions.palette_model` (pure Python, tested without Qt).

Integration:

    palette = CommandPalette(registry, keymap.keys_for, actions=actions, entities=provider, parent=window)
    actions["app.command_palette"].triggered.connect(palette.open_palette)
    palette.entity_chosen.connect(navigator.open_entity)          # (kind, id)
    # `palette.recent` (RecentItems) can be saved with the user's settings and passed back in.

`entities` is a callable `query → Sequence[PaletteEntity]`; the DB-backed one comes with services.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from PySide6.QtCore import (
    QAbstractListModel,
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRect,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import QAction, QFont, QKeyEvent, QKeySequence, QPainter, QPalette
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QLabel,
    QLineEdit,
    QListView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from x121_desktop.actions.palette_model import (
    ACTION_KIND,
    EntityProvider,
    PaletteItem,
    RecentItems,
    action_items,
    entity_items,
    rank,
)
from x121_desktop.actions.registry import ActionRegistry

ITEM_ROLE = Qt.ItemDataRole.UserRole + 1
EVERYTHING_PROMPT = "Search actions, projects, characters, scenes, segments, workflows…   > actions  @ items"
_Index = QModelIndex | QPersistentModelIndex


class PaletteListModel(QAbstractListModel):
    """Ranked PaletteItems; DisplayRole is the title, ITEM_ROLE the frozen item."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._items: list[PaletteItem] = []

    def set_items(self, items: Sequence[PaletteItem]) -> None:
        self.beginResetModel()
        self._items = list(items)
        self.endResetModel()

    def item(self, row: int) -> PaletteItem | None:
        return self._items[row] if 0 <= row < len(self._items) else None

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._items)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        item = self.item(index.row())
        if item is None:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return item.title
        if role == Qt.ItemDataRole.ToolTipRole:
            return item.ref
        if role == ITEM_ROLE:
            return item
        return None

    def flags(self, index: _Index) -> Qt.ItemFlag:
        # Disabled actions stay selectable (so the keyboard can reach and read them); the delegate
        # dims them and Enter does nothing.
        if self.item(index.row()) is None:
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEnabled


class PaletteDelegate(QStyledItemDelegate):
    """Title, then the subtitle in the muted colour, the shortcut right-aligned in the mono font."""

    def __init__(self, mono: QFont, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._mono = mono

    def sizeHint(self, option: QStyleOptionViewItem, index: _Index) -> QSize:
        height = option.fontMetrics.height()
        return QSize(200, int(height * 1.9))

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: _Index) -> None:
        item = index.data(ITEM_ROLE)
        if not isinstance(item, PaletteItem):
            return
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""
        widget = opt.widget
        style = widget.style() if widget is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)
        rect: QRect = opt.rect.adjusted(10, 0, -10, 0)
        pal: QPalette = opt.palette
        painter.save()
        shortcut = QKeySequence(item.shortcut, QKeySequence.SequenceFormat.PortableText).toString(
            QKeySequence.SequenceFormat.NativeText
        )
        right = 0
        if shortcut:
            painter.setFont(self._mono)
            painter.setPen(pal.color(QPalette.ColorRole.PlaceholderText))
            right = painter.fontMetrics().horizontalAdvance(shortcut) + 12
            painter.drawText(rect, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, shortcut)
        painter.setFont(opt.font)
        enabled = item.enabled
        title_role = QPalette.ColorRole.Text if enabled else QPalette.ColorRole.PlaceholderText
        painter.setPen(pal.color(QPalette.ColorGroup.Normal, title_role))
        metrics = painter.fontMetrics()
        text_rect = rect.adjusted(0, 0, -right, 0)
        title = metrics.elidedText(item.title, Qt.TextElideMode.ElideRight, text_rect.width())
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, title)
        used = metrics.horizontalAdvance(title) + 14
        if item.subtitle and used < text_rect.width():
            painter.setPen(pal.color(QPalette.ColorRole.PlaceholderText))
            sub_rect = text_rect.adjusted(used, 0, 0, 0)
            sub = metrics.elidedText(item.subtitle, Qt.TextElideMode.ElideRight, sub_rect.width())
            painter.drawText(sub_rect, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, sub)
        painter.restore()


class CommandPalette(QDialog):
    """Modal, frameless search box over the parent window."""

    #: an action was chosen (it has also been triggered when `actions` were given and it is enabled)
    action_chosen = Signal(str)
    #: an entity was chosen: (kind, id)
    entity_chosen = Signal(str, str)

    def __init__(
        self,
        registry: ActionRegistry,
        keys_for: Callable[[str], tuple[str, ...]],
        *,
        actions: Mapping[str, QAction] | None = None,
        entities: EntityProvider | None = None,
        recent: RecentItems | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent, Qt.WindowType.Dialog | Qt.WindowType.FramelessWindowHint)
        self.setObjectName("CommandPalette")
        self.setModal(True)
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self._registry = registry
        self._keys_for = keys_for
        self._actions = actions
        self._entities = entities
        self.recent = recent if recent is not None else RecentItems()
        self._only_kind: str | None = None  # a scoped palette (Open project…) lists one entity kind

        self.query = QLineEdit(self)
        self.query.setObjectName("PaletteQuery")
        self.query.setPlaceholderText(EVERYTHING_PROMPT)
        self.query.setClearButtonEnabled(False)
        self.list = QListView(self)
        self.list.setObjectName("PaletteList")
        self.list.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.list.setUniformItemSizes(True)
        self.model = PaletteListModel(self)
        self.list.setModel(self.model)
        mono = QFont()
        mono.setFamilies(["JetBrains Mono", "DejaVu Sans Mono"])
        mono.setStyleHint(QFont.StyleHint.Monospace)
        self.list.setItemDelegate(PaletteDelegate(mono, self.list))
        self.hint = QLabel("↑↓ move · Enter run · Esc close", self)
        self.hint.setObjectName("PaletteHint")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 6)
        layout.setSpacing(6)
        layout.addWidget(self.query)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.hint)
        self.resize(640, 420)

        self.query.textChanged.connect(self.refresh)
        self.query.installEventFilter(self)
        self.list.clicked.connect(lambda index: self._choose(index.row()))

    # ---------------------------------------------------------------- behaviour

    def open_palette(self) -> None:
        """Clear the query, list recent items first, and take the keyboard."""
        self.open_scoped(None, EVERYTHING_PROMPT)

    def open_scoped(self, only_kind: str | None, prompt: str) -> None:
        """The palette listing only `only_kind` entities (None: everything), with its own prompt."""
        self._only_kind = only_kind
        self.query.setPlaceholderText(prompt)
        self.query.clear()
        self.refresh()
        parent = self.parentWidget()
        if parent is not None:
            top = parent.mapToGlobal(parent.rect().topLeft())
            self.move(top.x() + (parent.width() - self.width()) // 2, top.y() + 60)
        self.show()
        self.raise_()
        self.activateWindow()
        self.query.setFocus()

    def items(self) -> list[PaletteItem]:
        """Everything the current query can match: actions (with enabled state) and the provider's entities."""

        def enabled(action_id: str) -> bool:
            return self._actions[action_id].isEnabled() if self._actions and action_id in self._actions else True

        out = [] if self._only_kind is not None else action_items(self._registry, self._keys_for, enabled)
        if self._entities is not None:
            found = entity_items(self._entities(self.query.text().strip().lstrip(">@").strip()))
            out += [i for i in found if self._only_kind in (None, i.kind)]
        return out

    def refresh(self) -> None:
        self.model.set_items(rank(self.query.text(), self.items(), self.recent.keys))
        if self.model.rowCount():
            self.list.setCurrentIndex(self.model.index(0))

    def current_item(self) -> PaletteItem | None:
        return self.model.item(self.list.currentIndex().row())

    def _move(self, step: int) -> None:
        count = self.model.rowCount()
        if count:
            row = min(max(self.list.currentIndex().row() + step, 0), count - 1)
            self.list.setCurrentIndex(self.model.index(row))

    def _choose(self, row: int) -> None:
        item = self.model.item(row)
        if item is None or not item.enabled:
            return
        self.recent = self.recent.touched(item.key)
        self.accept()
        if item.kind == ACTION_KIND:
            if self._actions is not None and item.ref in self._actions:
                self._actions[item.ref].trigger()
            self.action_chosen.emit(item.ref)
        else:
            self.entity_chosen.emit(item.kind, item.ref)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.query and event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            key = event.key()
            page = max(1, self.list.height() // max(1, self.list.sizeHintForRow(0) or 1) - 1)
            moves = {Qt.Key.Key_Down: 1, Qt.Key.Key_Up: -1, Qt.Key.Key_PageDown: page, Qt.Key.Key_PageUp: -page}
            if key in moves:
                self._move(moves[Qt.Key(key)])
                return True
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self._choose(self.list.currentIndex().row())
                return True
        return super().eventFilter(watched, event)
