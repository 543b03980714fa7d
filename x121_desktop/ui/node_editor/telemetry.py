"""Live telemetry on the canvas while a test run executes on a server.

The run goes through `TestRunService` (a worker thread follows the server's WebSocket); each
`RunEvent` crosses to the main thread over a queued signal and becomes node state: the executing
node highlighted, its progress bar, cached nodes marked, the measured time (and the historical
average per node type, when a history is given) on hover, the latest preview frame per node, and
the failure pinned on the failing node as an error marker. Started with the server's registered
name, the run is recorded as an `editor_test_run` job (its node times join that history), and
`show_averages` puts the refreshed averages on every node after it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import Future
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from x121_desktop.core.cancel import CancelToken
from x121_desktop.services.node_editor_runs import (
    NodeFinished,
    NodePreview,
    NodeProgressed,
    NodesCached,
    NodeStarted,
    RunEnded,
    RunEvent,
    RunFailed,
    WaitingForSlot,
)
from x121_desktop.ui.node_editor.items.node import Marker, NodeState

if TYPE_CHECKING:
    from x121_desktop.services.node_editor_runs import TestRunService
    from x121_desktop.ui.node_editor.editor import NodeEditor

Averages = Callable[[str], Mapping[str, float]]
"""class_type → average seconds (across runs and servers), for the hover text."""


def _canvas_id(api_id: str) -> str:
    return api_id.split(":", 1)[0]  # a node inside a subgraph shows on its instance node


class RunTelemetry(QObject):
    event_arrived = Signal(object)  # RunEvent, emitted from the worker thread
    run_finished = Signal(object)  # RunEnded, on the main thread
    preview_changed = Signal(str)  # node id whose latest preview frame arrived

    def __init__(self, editor: NodeEditor, runs: TestRunService) -> None:
        super().__init__(editor)
        self.editor, self.runs = editor, runs
        self.averages: Mapping[str, float] = {}
        self.previews: dict[str, QPixmap] = {}
        self.times: dict[str, float] = {}
        self.running: str | None = None
        self.failed: RunFailed | None = None
        self._cancel: CancelToken | None = None
        self._touched: set[str] = set()
        self.event_arrived.connect(self._apply)

    def start(
        self, base_url: str, averages: Mapping[str, float] | None = None, server: str | None = None
    ) -> Future[RunEnded]:
        """Run the open document on `base_url` (recorded as a job when `server` names it); clears earlier state."""
        self.clear()
        self.averages = dict(averages or {})
        self._cancel = CancelToken()
        return self.runs.start(base_url, self.editor.document, self.event_arrived.emit, self._cancel, server)

    def show_averages(self, averages: Mapping[str, float]) -> None:
        """New historical averages (e.g. re-read after a recorded run): every node's hover text follows."""
        self.averages = dict(averages)
        scene = self.editor.scenes.get(None)
        for node_id, item in scene.nodes.items() if scene is not None else ():
            text = self.hover_text(node_id, self.times.get(node_id))
            reasons = [m.text for m in item.markers]
            item.setToolTip("\n".join([*reasons, text] if text else reasons))

    def cancel(self) -> None:
        if self._cancel is not None:
            self._cancel.cancel()

    def clear(self) -> None:
        for node_id in self._touched:
            self.editor.set_state(node_id, NodeState())
        if self.failed is not None and self.failed.node_id is not None:
            self.editor.set_markers(_canvas_id(self.failed.node_id), ())
        self._touched.clear()
        self.previews.clear()
        self.times.clear()
        self.running, self.failed = None, None

    def _state(self, node_id: str, state: NodeState) -> None:
        self._touched.add(node_id)
        self.editor.set_state(node_id, state)
        item = self.editor.scenes[None].nodes.get(node_id) if None in self.editor.scenes else None
        if item is not None:
            reasons = [m.text for m in item.markers]
            item.setToolTip("\n".join([*reasons, state.text] if state.text else reasons))

    def _class(self, node_id: str) -> str:
        graph = self.editor.document.graph
        node = next((n for n in graph.nodes if str(n.id) == node_id), None)
        return node.type if node is not None else "?"

    def hover_text(self, node_id: str, seconds: float | None) -> str:
        bits = [] if seconds is None else [f"ran {seconds:.2f} s"]
        average = self.averages.get(self._class(node_id))
        if average is not None:
            bits.append(f"average {average:.2f} s over earlier runs")
        return " · ".join(bits)

    def _apply(self, event: RunEvent) -> None:
        if isinstance(event, NodesCached):
            for api_id in event.node_ids:
                node_id = _canvas_id(api_id)
                self._state(
                    node_id, NodeState("cached", None, f"cached · {self.hover_text(node_id, None)}".rstrip(" ·"))
                )
        elif isinstance(event, NodeStarted):
            self.running = _canvas_id(event.node_id)
            self._state(self.running, NodeState("running", 0.0, "running"))
        elif isinstance(event, NodeProgressed):
            node_id = _canvas_id(event.node_id)
            share = event.value / event.maximum if event.maximum else None
            self._state(node_id, NodeState("running", share, f"running {event.value}/{event.maximum}"))
        elif isinstance(event, NodeFinished):
            node_id = _canvas_id(event.node_id)
            self.times[node_id] = self.times.get(node_id, 0.0) + event.seconds
            self._state(node_id, NodeState("done", None, self.hover_text(node_id, self.times[node_id])))
            if self.running == node_id:
                self.running = None
        elif isinstance(event, NodePreview) and event.node_id is not None:
            pixmap = QPixmap()
            if pixmap.loadFromData(event.image):
                self.previews[_canvas_id(event.node_id)] = pixmap
                self.preview_changed.emit(_canvas_id(event.node_id))
        elif isinstance(event, RunFailed):
            self.failed = event
            if event.node_id is not None:
                node_id = _canvas_id(event.node_id)
                self.editor.set_markers(node_id, (Marker("error", event.sentence),))
                self._state(node_id, NodeState("error", None, event.sentence))
            self.running = None
        elif isinstance(event, WaitingForSlot):
            slots = "its only job slot is" if event.slots == 1 else f"all {event.slots} of its job slots are"
            self.editor.message_posted.emit(
                f"{event.server} is busy ({slots} taken): the test run waits up to {event.wait_s:g} s for a free "
                "slot (Stop run stops the wait)."
            )
        elif isinstance(event, RunEnded):
            self.run_finished.emit(event)


class RunPreview(QWidget):
    """The latest preview frame of the run (binary preview frames), captioned with its node."""

    def __init__(self, telemetry: RunTelemetry, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.telemetry = telemetry
        self.caption = QLabel("Previews from the running workflow appear here.")
        self.caption.setWordWrap(True)
        self.image = QLabel()
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image.setMinimumSize(160, 160)
        lay = QVBoxLayout(self)
        lay.addWidget(self.caption)
        lay.addWidget(self.image, 1)
        telemetry.preview_changed.connect(self.show_preview)

    def show_preview(self, node_id: str) -> None:
        pixmap = self.telemetry.previews.get(node_id)
        if pixmap is None:
            return
        box = self.image.size()
        self.image.setPixmap(pixmap.scaled(box, Qt.AspectRatioMode.KeepAspectRatio))
        self.caption.setText(f"Node #{node_id}: preview {pixmap.width()} x {pixmap.height()}")
