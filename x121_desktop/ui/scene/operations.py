"""The scene, segment and take actions of the workspace, on the real services.

Every operation runs off the GUI thread as one service call (one transaction, committed by the
service); a refusal becomes a notification with the service's sentence and nothing changes. The
workspace re-reads after each. Operations that queue work (generate, regenerate, heal) then follow
the scene with the scene director (`SceneWorkspaceService.direct`, as `x121 scene generate --wait`)
as a cancellable row in the progress panel, whose progress is the chain's settled segments, updated
whenever the workspace re-reads (job notices). The jobs run on whatever dispatchers serve the queue.

Actions are enabled exactly when they can act: a scene open, a segment or take selected, a project
in the navigator; creator-only ones (generate, regenerate, heal, use, approve, assemble, new) stay
disabled for a reviewer, whom the services and PostgreSQL refuse anyway.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Mapping
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction

from x121_desktop.core.cancel import CancelToken, ProgressSink
from x121_desktop.core.enums import Verdict
from x121_desktop.services.assembly import AssemblyResult, AssemblyService
from x121_desktop.services.scene_cancel import SceneCancelService
from x121_desktop.services.scene_seams import AdvanceReport
from x121_desktop.services.scenes import Downstream, SceneService
from x121_desktop.services.seam_analysis import AnalyzeReport, AnalyzeRequest, SeamAnalysisService
from x121_desktop.services.takes import TakeReviewService
from x121_desktop.ui.concurrency import TaskRunner
from x121_desktop.ui.panels.notifications import Level, Notifier
from x121_desktop.ui.scene.cancelling import GenerationCanceller
from x121_desktop.ui.scene.dialogs import RegenerateDialog
from x121_desktop.ui.scene.locking import SegmentLocks
from x121_desktop.ui.scene.workspace import SceneWorkspace

CREATOR_ONLY = frozenset({
    "scene.generate", "scene.cancel_generation", "segment.regenerate", "segment.heal", "segment.analyze", "take.use",
    "take.approve", "scene.assemble", "scene.new",
})  # fmt: skip
HANDLED = (
    "scene.generate", "scene.cancel_generation", "scene.assemble", "scene.export", "scene.new", "segment.regenerate",
    "segment.heal", "segment.analyze", "segment.lock", "segment.open_workflow", "take.use", "take.approve",
    "take.compare_previous",
)  # fmt: skip


class SceneOperations(QObject):
    def __init__(
        self,
        workspace: SceneWorkspace,
        scenes: SceneService,
        reviews: TakeReviewService,
        assembly: AssemblyService,
        locks: SegmentLocks,
        tasks: TaskRunner,
        notifier: Notifier,
        cancels: SceneCancelService,
        seams: SeamAnalysisService,
    ) -> None:
        super().__init__(workspace)
        self.workspace, self.scenes, self.reviews, self.assembly = workspace, scenes, reviews, assembly
        self.locks, self.tasks, self.notifier = locks, tasks, notifier
        self.canceller = GenerationCanceller(cancels, workspace.service, notifier, workspace.refresh)
        self.seams = seams
        self.qactions: Mapping[str, QAction] = {}
        self.has_project: Callable[[], bool] = lambda: False
        self.can_compare: Callable[[], bool] = lambda: False
        self.can_open_workflow: Callable[[], bool] = lambda: False
        self.is_creator: bool | None = None
        """Known once a scene was read (or from `am_creator`); None: not known yet."""
        self.dispatcher_hint: Callable[[], str | None] = lambda: None
        self.directing: dict[int, asyncio.Task[Any]] = {}
        self.rows: dict[int, int] = {}
        """scene id → the progress row of its follow (Cancel scene generation cancels it there)."""
        self._sinks: dict[int, ProgressSink] = {}
        self.dialog: RegenerateDialog | None = None
        self.extra: dict[str, Callable[[], object]] = {}
        """Handlers the window adds (new scene, export, compare, open workflow)."""
        workspace.loaded.connect(self._loaded)
        workspace.selection_changed.connect(self.update_enabled)
        locks.changed.connect(workspace.refresh)

    def attach(self, qactions: Mapping[str, QAction]) -> None:
        self.qactions = qactions
        handlers: dict[str, Callable[[], object]] = {
            "scene.generate": self.generate,
            "scene.cancel_generation": self.cancel_generation,
            "segment.regenerate": self.ask_regenerate,
            "segment.heal": self.heal,
            "segment.analyze": self.analyze,
            "segment.lock": self.toggle_lock,
            "take.use": self.use_take,
            "take.approve": self.approve,
            "scene.assemble": self.assemble,
        }
        for action_id, handler in handlers.items():
            qactions[action_id].triggered.connect(lambda _checked=False, h=handler: h())
        self.update_enabled()

    def handle(self, action_id: str, handler: Callable[[], object]) -> None:
        self.extra[action_id] = handler
        if action_id in self.qactions:
            self.qactions[action_id].triggered.connect(lambda _checked=False: handler())
        self.update_enabled()

    # ------------------------------------------------------------ enabling

    def can(self, action_id: str) -> bool:
        ws = self.workspace.workspace
        link = self.workspace.selected_link()
        take_id = self.workspace.selected_take()
        creator = self.is_creator is not False
        if action_id in CREATOR_ONLY and not creator:
            return False
        node = ws.take(take_id) if ws is not None and take_id is not None else None
        current = link.segment.current_take_id if link is not None else None
        rules: dict[str, bool] = {
            "scene.generate": ws is not None,
            "scene.cancel_generation": ws is not None and (self.following(ws.scene_id) or ws.busy()),
            "scene.assemble": ws is not None,
            "scene.export": ws is not None,
            "scene.new": self.has_project() and "scene.new" in self.extra,
            "segment.regenerate": link is not None,
            "segment.heal": link is not None and link.segment.position > 0,
            "segment.analyze": link is not None and ws is not None and len(ws.chain) > 1,
            "segment.lock": link is not None,
            "segment.open_workflow": ws is not None and self.can_open_workflow(),
            "take.use": node is not None and node.take.id != current and node.take.file_id is not None,
            "take.approve": node is not None and node.take.id == current,
            "take.compare_previous": node is not None and node.take.parent_take_id is not None and self.can_compare(),
        }
        return rules.get(action_id, False)

    def update_enabled(self) -> None:
        for action_id in HANDLED:
            qaction = self.qactions.get(action_id)
            if qaction is not None:
                qaction.setEnabled(self.can(action_id))
        lock = self.qactions.get("segment.lock")
        link = self.workspace.selected_link()
        if lock is not None:
            lock.setChecked(link is not None and self.locks.holds(int(link.segment.id)))

    def _loaded(self) -> None:
        ws = self.workspace.workspace
        if ws is not None:
            self.is_creator = ws.is_creator
            sink = self._sinks.get(ws.scene_id)
            if sink is not None:
                busy = sum(1 for link in ws.chain if link.segment.status.code in ("queued", "generating"))
                sink(ws.settled(), len(ws.chain), f"{ws.settled()}/{len(ws.chain)} segments ready · {busy} generating")
        self.update_enabled()

    # ------------------------------------------------------------ running

    def run(self, work: Coroutine[Any, Any, object], what: str, *, follow: bool = False) -> asyncio.Task[Any]:
        """One operation: the service call, then a re-read (and following the scene if it queued work)."""
        scene_id = self.workspace.scene_id

        async def body() -> object:
            result = await work
            await self.workspace.reload()
            if follow and scene_id is not None:
                self.follow(scene_id)
            return result

        return self.tasks.spawn(body(), what=what)

    def follow(self, scene_id: int) -> None:
        """Direct the scene until its chain is complete or waits for a person (one follow per scene)."""
        running = self.directing.get(scene_id)
        if running is not None and not running.done():
            return
        ws = self.workspace.workspace
        name = str(ws.view.scene.ref) if ws is not None and ws.scene_id == scene_id else f"scene #{scene_id}"
        hint = self.dispatcher_hint()
        if hint:
            self.notifier.post(Level.INFO, hint)

        async def direct(token: CancelToken, sink: ProgressSink) -> AdvanceReport:
            self._sinks[scene_id] = sink
            try:
                return await self.workspace.service.direct(scene_id)
            except asyncio.CancelledError:
                self._sinks.pop(scene_id, None)
                if token.cancelled:  # the person's Cancel; closing the window only stops following
                    await self.canceller.cancel(scene_id, sink)
                raise
            finally:
                self._sinks.pop(scene_id, None)
                self.rows.pop(scene_id, None)
                self.update_enabled()

        def done(report: AdvanceReport) -> None:
            self._directed(name, report)

        progress = self.tasks.progress
        started: list[int] = []
        progress.operation_started.connect(started.append)  # emitted at once, inside run_cancellable
        try:
            self.directing[scene_id] = self.tasks.run_cancellable(direct, f"Generate {name}", on_done=done)
        finally:
            progress.operation_started.disconnect(started.append)
        self.rows[scene_id] = started[-1]
        self.update_enabled()

    def following(self, scene_id: int) -> bool:
        task = self.directing.get(scene_id)
        return task is not None and not task.done()

    def _directed(self, name: str, report: AdvanceReport) -> None:
        for sentence in report.failed:
            self.notifier.post(Level.ERROR, sentence)
        if report.complete:
            self.notifier.post(Level.SUCCESS, f"{name}: every segment is generated and its seams measured.")
        elif report.waiting:
            waiting = ", ".join(map(str, report.waiting))
            self.notifier.post(Level.WARNING, f"{name}: segment(s) {waiting} wait for you (regenerate or heal).")
        self.workspace.refresh()

    # ------------------------------------------------------------ the operations

    def generate(self) -> None:
        scene_id = self.workspace.scene_id
        if scene_id is not None:
            self.run(self.scenes.start(scene_id), "start generating the scene", follow=True)

    def cancel_generation(self) -> None:
        """Cancel the open scene's generation: on its Generate row when this window follows it, else in a new row."""
        ws = self.workspace.workspace
        if ws is None:
            return
        scene_id = ws.scene_id
        row = self.rows.get(scene_id)
        if row is not None and self.following(scene_id):
            self.tasks.progress.cancel(row)
            return

        async def work(_token: CancelToken, sink: ProgressSink) -> object:
            return await self.canceller.cancel(scene_id, sink)

        self.tasks.run_cancellable(work, f"Cancel generation of {ws.view.scene.ref}")

    def ask_regenerate(self) -> RegenerateDialog | None:
        ws, link = self.workspace.workspace, self.workspace.selected_link()
        if ws is None or link is None:
            return None
        first, last = self.workspace.chain.selected_range() or (link.segment.position, link.segment.position)
        dialog = RegenerateDialog(len(ws.chain), first, last, self.workspace)
        dialog.submitted.connect(self.regenerate)
        dialog.finished.connect(lambda _result: self._closed(dialog))
        self.dialog = dialog
        dialog.open()
        return dialog

    def _closed(self, dialog: RegenerateDialog) -> None:
        if self.dialog is dialog:
            self.dialog = None
        dialog.deleteLater()

    def regenerate(self, first: int, last: int, downstream: Downstream) -> None:
        scene_id = self.workspace.scene_id
        if scene_id is not None:
            work = self.scenes.regenerate(scene_id, first, last, downstream)
            self.run(work, f"regenerate segments {first + 1}-{last + 1}", follow=True)

    def heal(self) -> None:
        scene_id, link = self.workspace.scene_id, self.workspace.selected_link()
        if scene_id is not None and link is not None:
            position = link.segment.position
            self.run(self.scenes.restitch(scene_id, position), f"re-stitch the seam before segment {position + 1}",
                     follow=True)  # fmt: skip

    def analyze(self) -> asyncio.Task[AnalyzeReport | None] | None:
        """Measure the seams into and out of the selected segment(s) in the background, with progress and cancel."""
        ws, link = self.workspace.workspace, self.workspace.selected_link()
        if ws is None or link is None:
            return None
        first, last = self.workspace.chain.selected_range() or (link.segment.position, link.segment.position)
        request = AnalyzeRequest(ws.scene_id, first, last)
        which = f"segment {first + 1}" if first == last else f"segments {first + 1}-{last + 1}"

        async def work(token: CancelToken, sink: ProgressSink) -> AnalyzeReport:
            return await self.seams.analyze(request, cancel=token, progress=sink)

        def done(report: AnalyzeReport) -> None:
            self.notifier.post(Level.INFO, report.sentence())
            self.workspace.refresh()

        return self.tasks.run_cancellable(work, f"Analyze the seams of {which} of {ws.view.scene.ref}", on_done=done)

    def use_take(self) -> None:
        take_id = self.workspace.selected_take()
        if take_id is not None:
            self.run(self.scenes.restore(take_id), f"use take {take_id}")

    def approve(self) -> None:
        take_id = self.workspace.selected_take()
        if take_id is not None:
            self.run(self.reviews.review(take_id, Verdict.APPROVE, final=True), f"approve take {take_id}")

    def toggle_lock(self) -> None:
        ws, link = self.workspace.workspace, self.workspace.selected_link()
        if ws is None or link is None:
            return
        self.update_enabled()  # the check mark follows what is held, not the click
        self.tasks.spawn(self.locks.toggle(ws, link), what=f"lock segment {link.segment.position + 1}")

    def assemble(self) -> None:
        scene_id = self.workspace.scene_id
        if scene_id is not None:
            self.export(scene_id, None)

    def export(self, scene_id: int, out: Path | None) -> asyncio.Task[AssemblyResult | None]:
        """Assemble into final/ (out None), or to `out`: final when every current take has final approval,
        else a draft written only there."""
        ws = self.workspace.workspace
        approved = ws is not None and all(
            link.current is not None and link.current.id in ws.view.approvals for link in ws.chain
        )
        draft = out is not None and not approved
        title = f"{'Export' if out else 'Assemble'} scene #{scene_id}" + (" (draft)" if draft else "")

        async def work(_token: CancelToken, _sink: ProgressSink) -> AssemblyResult:
            return await self.assembly.assemble(scene_id, out, draft=draft)

        def done(result: AssemblyResult) -> None:
            kind = "draft" if result.draft else "master"
            self.notifier.post(
                Level.SUCCESS, f"Assembled {result.frame_count} frames ({result.method}) as the {kind} {result.master}"
            )
            self.workspace.refresh()

        return self.tasks.run_cancellable(work, title, on_done=done)
