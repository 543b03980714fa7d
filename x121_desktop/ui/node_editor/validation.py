"""Live validation on the canvas: every edit (debounced) re-checks the document against the chosen
server's node list in the background, and the reasons are pinned on the nodes they concern.

Describe on the main thread (the immutable document), compute in a worker (`CanvasValidator.submit`),
apply on the main thread (a queued signal). A result for an older document than the latest request is
dropped, so markers never flicker back to a stale state. Problems found while opening the file stay
on their nodes beside the validation markers.
"""

from __future__ import annotations

import contextlib
from concurrent.futures import Future
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal

from x121_desktop.ui.node_editor.items.node import Marker

if TYPE_CHECKING:
    from x121_desktop.core.graph.undo import GraphEdited
    from x121_desktop.services.node_editor_validation import CanvasReport, CanvasValidator
    from x121_desktop.ui.node_editor.editor import NodeEditor

DEBOUNCE_MS = 250

Place = tuple[str | None, str]


class LiveValidation(QObject):
    """Keeps an editor's validation markers in step with its document."""

    report_ready = Signal(int, object)  # (generation, CanvasReport), emitted from a worker thread
    validated = Signal(object)  # CanvasReport, on the main thread once its markers are on the nodes

    def __init__(self, editor: NodeEditor, validator: CanvasValidator, debounce_ms: int = DEBOUNCE_MS) -> None:
        super().__init__(editor)
        self.editor, self.validator = editor, validator
        self.report: CanvasReport | None = None
        self.summary = ""
        self._generation = 0
        self._marked: set[Place] = set()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(debounce_ms)
        self._timer.timeout.connect(self.run_now)
        self.report_ready.connect(self._apply)
        self._unsubscribe = editor.session.subscribe(self._edited)
        editor.scope_changed.connect(lambda _scope: self.schedule())  # a document or node list was opened
        self.schedule()

    def close(self) -> None:
        self._timer.stop()
        self._unsubscribe()
        self._generation += 1

    def _edited(self, _event: GraphEdited) -> None:
        self.schedule()

    def schedule(self) -> None:
        """Validate once the artist pauses (every edit restarts the wait)."""
        self._timer.start()

    def run_now(self) -> None:
        self._timer.stop()
        self._generation += 1
        generation = self._generation
        try:
            future = self.validator.submit(self.editor.document)
        except RuntimeError:  # the executors were shut down (the studio is closing)
            return

        def done(f: Future[CanvasReport]) -> None:
            if not f.cancelled() and f.exception() is None:
                with contextlib.suppress(RuntimeError):  # the editor closed while the check ran
                    self.report_ready.emit(generation, f.result())

        future.add_done_callback(done)

    def _apply(self, generation: int, report: CanvasReport) -> None:
        if generation != self._generation:
            return  # the document changed since; a newer result is on its way
        self.report = report
        found: dict[Place, list[Marker]] = {}
        for f in report.findings:
            found.setdefault((f.scope, f.node_id), []).append(Marker(f.level, f.text, f.input_name))
        opened: dict[Place, list[Marker]] = {}
        for p in self.editor.problems:
            if p.node_id is not None:
                opened.setdefault((p.scope, p.node_id), []).append(Marker("warning", p.message))
        for place in self._marked | set(found):
            scope, node_id = place
            markers = (*opened.get(place, ()), *found.get(place, ()))
            self.editor.set_markers(node_id, tuple(dict.fromkeys(markers)), scope)
        self._marked = set(found)
        self._status(report)
        self.validated.emit(report)

    def _status(self, report: CanvasReport) -> None:
        if not report.against:
            self.summary = ""
            return
        nodes = len({(f.scope, f.node_id) for f in report.findings})
        if nodes:
            self.summary = f"{nodes} node{'s' if nodes != 1 else ''} cannot run on {report.against}"
        else:
            self.summary = f"Runs on {report.against}"
