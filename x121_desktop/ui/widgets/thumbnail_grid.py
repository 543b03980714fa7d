"""ThumbnailGrid: an icon-mode QListView of library items that stays smooth at 10,000 items.

- Uniform item sizes and batched layout: Qt lays out and paints only what is visible.
- Thumbnails are asked for lazily: the delegate paints a placeholder and tells the ThumbnailCache
  what is missing; only painted (= visible) items are ever asked for. The cache is an LRU of
  QPixmaps; whoever owns the service fills it (`put`) and the grid repaints.
- Hover scrubbing: over a video, the mouse's x picks a frame from a small cached strip of N frames
  (one request per video, made on first hover).
"""

from __future__ import annotations

from collections import OrderedDict

from PySide6.QtCore import QEvent, QModelIndex, QObject, QPersistentModelIndex, QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPixmap
from PySide6.QtWidgets import QListView, QStyle, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from x121_desktop.services.library import ItemKind, LibraryItem
from x121_desktop.ui.qmodels.library_model import ITEM_ROLE

THUMB_SIZE = 160
STRIP_FRAMES = 8
CARD = QSize(THUMB_SIZE + 12, THUMB_SIZE * 9 // 16 + 40)
KIND_COLOURS = {
    ItemKind.CHARACTER: QColor("#7aa2f7"),
    ItemKind.SEED: QColor("#9ece6a"),
    ItemKind.TAKE: QColor("#e0af68"),
    ItemKind.VIDEO: QColor("#bb9af7"),
}


class ThumbnailCache(QObject):
    """file id → pixmap (single picture, or a scrub strip), most recently used kept."""

    thumbnail_needed = Signal(int, int)
    """(file id, frames): not cached and not yet asked for."""
    thumbnail_ready = Signal(int)

    def __init__(self, capacity: int = 800, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._capacity = capacity
        self._pixmaps: OrderedDict[tuple[int, int], QPixmap] = OrderedDict()
        self._asked: set[tuple[int, int]] = set()
        self._failed: set[tuple[int, int]] = set()

    def get(self, file_id: int, frames: int = 1) -> QPixmap | None:
        key = (file_id, frames)
        pixmap = self._pixmaps.get(key)
        if pixmap is not None:
            self._pixmaps.move_to_end(key)
            return pixmap
        if key not in self._asked and key not in self._failed:
            self._asked.add(key)
            self.thumbnail_needed.emit(file_id, frames)
        return None

    def has(self, file_id: int, frames: int = 1) -> bool:
        """Cached already (does not ask for it)."""
        return (file_id, frames) in self._pixmaps

    def put(self, file_id: int, frames: int, image: QImage) -> None:
        key = (file_id, frames)
        self._asked.discard(key)
        self._pixmaps[key] = QPixmap.fromImage(image)
        while len(self._pixmaps) > self._capacity:
            self._pixmaps.popitem(last=False)
        self.thumbnail_ready.emit(file_id)

    def failed(self, file_id: int, frames: int) -> None:
        """No picture can be made (missing or damaged file): paint the placeholder, do not ask again."""
        self._asked.discard((file_id, frames))
        self._failed.add((file_id, frames))

    def forget_requests(self) -> None:
        """Requests dropped unanswered (scrolled away) may be asked for again."""
        self._asked.clear()

    def __len__(self) -> int:
        return len(self._pixmaps)


class ThumbnailDelegate(QStyledItemDelegate):
    def __init__(self, cache: ThumbnailCache, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.cache = cache
        self.hover_row = -1
        self.hover_fraction = 0.0

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        return CARD

    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        item = index.data(ITEM_ROLE)
        if not isinstance(item, LibraryItem):
            return
        rect: QRect = option.rect
        state = option.state
        palette = option.palette
        painter.save()
        selected = bool(state & QStyle.StateFlag.State_Selected)
        painter.fillRect(rect.adjusted(2, 2, -2, -2), palette.highlight() if selected else palette.alternateBase())
        pic = QRect(rect.x() + 6, rect.y() + 6, rect.width() - 12, THUMB_SIZE * 9 // 16)
        painter.fillRect(pic, QColor("#16181d"))
        self._paint_picture(painter, pic, item, index.row())
        painter.fillRect(QRect(pic.x(), pic.bottom() - 3, pic.width(), 4), KIND_COLOURS[item.key.kind])
        if item.pinned:
            painter.setPen(QColor("#f7c948"))
            painter.drawText(
                pic.adjusted(0, 2, -4, 0), int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop), "★"
            )
        painter.setPen(palette.highlightedText().color() if selected else palette.text().color())
        text_rect = QRect(rect.x() + 6, pic.bottom() + 4, rect.width() - 12, rect.bottom() - pic.bottom() - 6)
        label = item.title or item.name
        elided = painter.fontMetrics().elidedText(label, Qt.TextElideMode.ElideRight, text_rect.width())
        painter.drawText(text_rect, int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop), elided)
        painter.restore()

    def _paint_picture(self, painter: QPainter, pic: QRect, item: LibraryItem, row: int) -> None:
        if item.file_id is None:
            return
        source: QPixmap | None = None
        part = QRect()
        if row == self.hover_row and item.is_video:
            strip = self.cache.get(item.file_id, STRIP_FRAMES)
            if strip is not None:
                frame_w = strip.width() // STRIP_FRAMES
                n = min(STRIP_FRAMES - 1, max(0, int(self.hover_fraction * STRIP_FRAMES)))
                source, part = strip, QRect(n * frame_w, 0, frame_w, strip.height())
        if source is None:
            source = self.cache.get(item.file_id, 1)
            if source is None:
                return
            part = source.rect()
        scaled = part.size().scaled(pic.size(), Qt.AspectRatioMode.KeepAspectRatio)
        target = QRect(QPoint(0, 0), scaled)
        target.moveCenter(pic.center())
        painter.drawPixmap(target, source, part)


class ThumbnailGrid(QListView):
    """Icon-mode view of a LibraryModel (column 0); hover over a video to scrub through it."""

    def __init__(self, cache: ThumbnailCache, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.cache = cache
        self.delegate = ThumbnailDelegate(cache, self)
        self.setItemDelegate(self.delegate)
        # List mode wrapping left-to-right looks like icon mode, but with uniform sizes its layout
        # is arithmetic; icon mode positions every item (free movement) on each page appended.
        self.setViewMode(QListView.ViewMode.ListMode)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(True)
        self.setVerticalScrollMode(QListView.ScrollMode.ScrollPerPixel)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setUniformItemSizes(True)
        self.setLayoutMode(QListView.LayoutMode.Batched)
        self.setBatchSize(400)
        self.setGridSize(CARD)
        self.setSpacing(0)
        self.setSelectionMode(QListView.SelectionMode.ExtendedSelection)
        self.setMouseTracking(True)
        self.setWordWrap(False)
        self.verticalScrollBar().setSingleStep(CARD.height() // 3)
        cache.thumbnail_ready.connect(self._thumbnail_ready)

    def _thumbnail_ready(self, _file_id: int) -> None:
        self.viewport().update()

    def scrub_to(self, row: int, fraction: float) -> None:
        """Show the frame at `fraction` (0…1) of the video in `row` (what hovering does)."""
        previous = self.delegate.hover_row
        self.delegate.hover_row, self.delegate.hover_fraction = row, min(1.0, max(0.0, fraction))
        for r in {previous, row}:
            if r >= 0 and self.model() is not None:
                self.update(self.model().index(r, 0))

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        index = self.indexAt(event.position().toPoint())
        if index.isValid():
            rect = self.visualRect(index)
            self.scrub_to(index.row(), (event.position().x() - rect.x()) / max(1, rect.width()))
        elif self.delegate.hover_row >= 0:
            self.scrub_to(-1, 0.0)
        super().mouseMoveEvent(event)

    def leaveEvent(self, event: QEvent) -> None:
        self.scrub_to(-1, 0.0)
        super().leaveEvent(event)


def image_from_rgb(width: int, height: int, rgb: bytes) -> QImage:
    """A QImage that owns a copy of tightly packed RGB888 bytes."""
    return QImage(rgb, width, height, 3 * width, QImage.Format.Format_RGB888).copy()
