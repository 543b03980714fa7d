"""The scene workspace: the open scene's chain (top) and the selected segment's take tree (bottom).

It reads through `SceneWorkspaceService.load` off the GUI thread and re-reads when job, lock or
activity notices arrive (one LISTEN thread; notices are queued to the main thread and those within
`REFRESH_DELAY_MS` of the first make one re-read, so at most about four a second), after each
operation (`refresh`) and when another scene is opened. Operations live in operations.py; this
widget only shows and selects.
"""

from __future__ import annotations

import asyncio

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QLabel, QSplitter, QVBoxLayout, QWidget

from x121_desktop.services.scene_workspace import (
    ChainLink,
    SceneWorkspaceService,
    Workspace,
    WorkspaceEvent,
    WorkspaceListener,
)
from x121_desktop.ui.concurrency import TaskRunner
from x121_desktop.ui.scene.chain_view import ChainView
from x121_desktop.ui.scene.take_tree import TakeTree

REFRESH_DELAY_MS = 250


def header_text(ws: Workspace) -> str:
    scene, view = ws.view.scene, ws.view
    rate = f"{scene.rate.numerator}/{scene.rate.denominator}" if scene.rate.denominator != 1 else str(scene.rate)
    return (
        f"{scene.status.label.lower()} · {len(view.segments)} segments · {view.planned_frames} frames planned at "
        f"{rate} fps · workflow {scene.workflow} v{scene.workflow_version} · {scene.stitch_mode.label.lower()} · "
        f"seed {scene.seed_policy.label.lower()} {scene.base_seed} · likeness {scene.likeness_weight:g}"
    )


def segment_details(link: ChainLink | None) -> str:
    if link is None:
        return "Select a segment (↑/↓; Shift for a range). → goes to its takes, ← back."
    seg, seam = link.segment, link.seam_before
    lines = [f"Segment {seg.position + 1}: {seg.status.label.lower()}, {seg.planned_frames} frames planned"]
    if seg.prompt:
        lines.append(f"Prompt: {seg.prompt}")
    if seam is not None:
        metrics = seam.metrics
        parts = [f"{k} {metrics[k]}" for k in ("ssim_across", "delta_e_cast", "motion_across", "identity_distance")
                 if metrics.get(k) is not None]  # fmt: skip
        lines.append(
            f"Seam in: {seam.grade.label.lower()} {seam.score:.2f}" + (f" ({', '.join(parts)})" if parts else "")
        )
        reasons = metrics.get("reasons") or []
        lines += [f"  · {r}" for r in reasons]
        if seam.remedy:
            lines.append(f"Remedy: {seam.remedy.get('remedy') or seam.remedy}")
    return "\n".join(lines)


class SceneWorkspace(QWidget):
    loaded = Signal()
    """A (re)read of the open scene was applied."""
    selection_changed = Signal()
    changed_remotely = Signal(object)
    """A WorkspaceEvent, emitted on the listener thread and handled on the main thread (queued)."""

    def __init__(self, service: SceneWorkspaceService, tasks: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("SceneWorkspace")
        self.service = service
        self.tasks = tasks
        self.scene_id: int | None = None
        self.workspace: Workspace | None = None
        self.listener: WorkspaceListener | None = None
        self._reading: asyncio.Task[Workspace | None] | None = None
        self._pending_take: int | None = None
        self._again = False
        self.title = QLabel("", self)
        self.title.setProperty("role", "heading")
        self.summary = QLabel("", self)
        self.summary.setObjectName("SceneSummary")
        self.summary.setProperty("role", "muted")
        self.summary.setWordWrap(True)
        self.notice = QLabel("", self)
        self.notice.setObjectName("SceneNotice")
        self.notice.setWordWrap(True)
        self.chain = ChainView(self)
        self.takes = TakeTree(self)
        self.details = QLabel("", self)
        self.details.setObjectName("SegmentDetails")
        self.details.setProperty("role", "mono")
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._lay_out()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REFRESH_DELAY_MS)
        self._timer.timeout.connect(self.refresh)
        self.changed_remotely.connect(self._soon)
        self.chain.segment_selected.connect(self._segment_selected)
        self.chain.take_tree_requested.connect(self.takes.setFocus)
        self.takes.chain_requested.connect(self.chain.setFocus)
        self.takes.take_selected.connect(lambda _t: self.selection_changed.emit())

    def _lay_out(self) -> None:
        """Heading, summary and notes above; the chain over the segment's details and take tree."""
        split = QSplitter(Qt.Orientation.Vertical, self)
        split.addWidget(self.chain)
        lower = QWidget(split)
        lower_layout = QVBoxLayout(lower)
        lower_layout.setContentsMargins(0, 0, 0, 0)
        lower_layout.addWidget(self.details)
        lower_layout.addWidget(self.takes, 1)
        split.addWidget(lower)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 18, 24, 12)
        layout.setSpacing(6)
        for widget in (self.title, self.summary, self.notice):
            layout.addWidget(widget)
        layout.addWidget(split, 1)

    # ------------------------------------------------------------ opening and reading

    def open_scene(self, scene_id: int) -> None:
        if scene_id != self.scene_id:
            self.scene_id = scene_id
            self.workspace = None
            self.title.setText(f"Scene #{scene_id}")
            self.summary.setText("Loading…")
            self.chain.setRowCount(0)
            self.takes.clear()
        if self.listener is None:
            self.listener = self.service.listen(self._on_event)
        self.refresh()
        self.chain.setFocus()

    def _soon(self, _event: object = None) -> None:
        """Re-read within REFRESH_DELAY_MS of the first notice; later ones join it (a steady stream of job
        notices must not postpone the re-read until it stops)."""
        if not self._timer.isActive():
            self._timer.start()

    def _on_event(self, event: WorkspaceEvent) -> None:
        self.changed_remotely.emit(event)  # listener thread → queued to the main thread

    def refresh(self) -> None:
        """Re-read the open scene (coalesced: one read at a time, one more if asked meanwhile)."""
        if self.scene_id is None:
            return
        if self._reading is not None and not self._reading.done():
            self._again = True
            return
        self._reading = self.tasks.spawn(self.reload(), what="read the scene")

    async def reload(self) -> Workspace | None:
        scene_id = self.scene_id
        if scene_id is None:
            return None
        ws = await self.service.load(scene_id)
        if scene_id == self.scene_id:
            self.show_workspace(ws)
        if self._again:
            self._again = False
            QTimer.singleShot(0, self.refresh)
        return ws

    def show_workspace(self, ws: Workspace) -> None:
        self.workspace = ws
        scene = ws.view.scene
        self.title.setText(f"{scene.character} / {scene.name}")
        self.summary.setText(header_text(ws))
        notes = list(ws.view.notes)
        if not ws.is_creator:
            notes.append("You sign in as a reviewer: generating, regenerating, healing and approving are for creators.")
        self.notice.setText("\n".join(notes))
        self.notice.setVisible(bool(notes))
        self.chain.show_chain(ws)
        pending, self._pending_take = self._pending_take, None
        position = next((p for p, link in enumerate(ws.chain) if pending in {t.take.id for t in
                         ws.takes.get(int(link.segment.id), ())}), -1)  # fmt: skip
        if position >= 0:
            self.chain.select_range(position, position)
        if self.chain.current_position() < 0 and ws.chain:
            self.chain.select_range(0, 0)
        self._segment_selected(self.chain.current_position())
        if pending is not None and position >= 0:
            self.takes.select_take(pending)
        self.loaded.emit()

    def _segment_selected(self, position: int) -> None:
        link = self.chain.current_link()
        self.details.setText(segment_details(link))
        ws = self.workspace
        if ws is not None and link is not None and position >= 0:
            self.takes.show_takes(ws.takes.get(int(link.segment.id), ()), link.segment.current_take_id)
        else:
            self.takes.clear()
        self.selection_changed.emit()

    def show_take(self, take_id: int) -> None:
        """Select `take_id` (its segment first) once the open scene is read next (an x121:// link)."""
        self._pending_take = take_id
        self.refresh()

    # ------------------------------------------------------------ what is selected

    def selected_link(self) -> ChainLink | None:
        return self.chain.current_link() if self.workspace is not None else None

    def selected_take(self) -> int | None:
        take = self.takes.selected_take()
        return take if take >= 0 and self.workspace is not None else None

    def stop(self) -> None:
        """Stop listening (window close, tests)."""
        self._timer.stop()
        if self.listener is not None:
            self.listener.stop()
            self.listener = None
