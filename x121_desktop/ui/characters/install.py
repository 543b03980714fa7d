"""Characters in the window: New character… (character.new), and generated seeds recorded as they finish.

Adding goes through `CharacterService` with the project's seed workflow (`ProjectSeedGenerator`):
Forward and Reverse mode queue the job that makes the missing seed, and the window says which job and
workflow, or the sentence naming the setting to fix when the project has none that works.

Collecting: for a creator or admin (who may record seeds), once the window has started, one LISTEN
thread on `x121_jobs` (`SeedCollector.listen`) hears every job that ends. A success of a job of the
signed-in user starts a collection within `COLLECT_DELAY_MS` (later notices join it; one collection at
a time), which records the finished seed generations among them (`SeedCollector.collect`, idempotent:
another client collecting the same job records nothing more) and says which seed is ready. At start,
and after the LISTEN connection came back, everything finished meanwhile is collected. A seed job that
failed or was cancelled re-reads the navigator, whose "generating" mark then goes. The navigator
itself re-reads on every seed recorded, by anyone (revision 0016's NOTIFY). No polling.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, QTimer, Signal

from x121_desktop.core.enums import JobStatus
from x121_desktop.core.errors import X121Error
from x121_desktop.core.ids import UserId
from x121_desktop.services.characters import AddCharacterRequest, AddCharacterResult, CharacterService
from x121_desktop.services.seed_generation import JobEnded, SeedCollection, SeedCollector, SeedJobListener
from x121_desktop.services.seed_workflows import ProjectSeedGenerator, SeedWorkflowService
from x121_desktop.ui.characters.dialog import NewCharacterDialog
from x121_desktop.ui.panels.notifications import Level

if TYPE_CHECKING:
    from x121_desktop.services.bootstrap import Studio
    from x121_desktop.ui.main_window import MainWindow

COLLECT_DELAY_MS = 200
"""How soon after a job's success notice its seed is collected (a burst of notices is one collection)."""


class CharacterWiring(QObject):
    job_ended = Signal(object)
    """A JobEnded (or None: the LISTEN connection came back) from the listener thread, queued to this one."""
    collected = Signal(object)
    """A SeedCollection this window recorded."""

    def __init__(self, window: MainWindow, studio: Studio) -> None:
        super().__init__(window)
        self.window = window
        self.studio = studio
        self.characters = CharacterService(studio, ProjectSeedGenerator(studio))
        self.collector = SeedCollector(studio)
        self.dialog: NewCharacterDialog | None = None
        self.listener: SeedJobListener | None = None
        self.me: UserId | None = None
        self._jobs: set[int] = set()
        self._everything = False
        self._collecting: asyncio.Task[SeedCollection | None] | None = None
        self._stopped = False
        self._soon = QTimer(self)
        self._soon.setObjectName("CharacterWiring.collect")
        self._soon.setSingleShot(True)
        self._soon.setInterval(COLLECT_DELAY_MS)
        self._soon.timeout.connect(self.collect_soon_due)
        self.job_ended.connect(self._ended, Qt.ConnectionType.QueuedConnection)
        action = window.qactions.get("character.new")
        if action is not None:
            action.triggered.connect(lambda _checked=False: self.ask_new_character())
        window.started.connect(lambda: window.tasks.spawn(self.follow(), what="follow seed generation"))

    # ------------------------------------------------------------ New character…

    def ask_new_character(self) -> None:
        self.window.tasks.spawn(self.open_dialog(), what="open the new character dialog")

    async def open_dialog(self) -> NewCharacterDialog:
        nav = self.window.navigator
        projects = [p.name for p in nav.data.projects] if nav is not None and nav.data is not None else []
        views = await self._workflow_names()
        settings = {s.project: s for s in await SeedWorkflowService(self.studio).list()}
        dialog = NewCharacterDialog(projects, views, settings, self.window)
        dialog.submitted.connect(
            lambda request: self.window.tasks.spawn(self.add(dialog, request), what="add the character")
        )
        dialog.finished.connect(lambda _result: self._closed(dialog))
        self.dialog = dialog
        dialog.open()
        return dialog

    async def _workflow_names(self) -> list[str]:
        from x121_desktop.services.workflows import WorkflowService

        views = await WorkflowService(self.studio.sessions, self.studio.runtime).list_workflows()
        return [v.name for v in views if v.latest is not None and not v.archived]

    def _closed(self, dialog: NewCharacterDialog) -> None:
        if self.dialog is dialog:
            self.dialog = None
        dialog.deleteLater()

    async def add(self, dialog: NewCharacterDialog, request: AddCharacterRequest) -> AddCharacterResult | None:
        """Add the character; a refusal stays in the dialog as the service's sentence."""
        try:
            result = await self.characters.add(request)
        except X121Error as exc:
            dialog.show_error(exc.sentence)
            return None
        dialog.accept()
        c = result.character
        created = " (a new project)" if result.project_created else ""
        self.window.notifier.post(
            Level.SUCCESS, f"Character {c.name!r} added to project {c.project!r}{created}, {c.mode.name.lower()} mode."
        )
        outcome = result.generation
        if outcome is not None and not outcome.requested:
            self.window.notifier.post(Level.WARNING, outcome.sentence)
        elif outcome is not None and not outcome.recorded:
            self.window.notifier.post(Level.INFO, f"{outcome.sentence} {self._render_hint()}")
        elif outcome is not None:
            self.window.notifier.post(Level.SUCCESS, outcome.sentence)
        nav = self.window.navigator
        if nav is not None:  # the new character shown, its project open
            nav.show_tree(await self.window.services.navigator.tree())
            nav.focus_project(c.project_id)
        return result

    def _render_hint(self) -> str:
        dispatcher = self.window.services.dispatcher
        if dispatcher is not None and dispatcher.running:
            where = "It renders on this window's dispatcher"
        else:
            where = "It renders on a running dispatcher (start this window's from the status bar, or `x121 worker`)"
        return f"{where} and shows here when it is done."

    # ------------------------------------------------------------ collecting generated seeds

    async def follow(self) -> None:
        """Listen for finished jobs and collect what finished meanwhile (creators and admins only)."""
        me, may_record = await self.collector.me()
        if not may_record or self._stopped or self.listener is not None:
            return
        self.me = me
        self.listener = self.collector.listen(self.job_ended.emit)
        self._everything = True
        self._soon.start()

    def _ended(self, ended: JobEnded | None) -> None:
        if self._stopped:
            return
        if ended is None:
            self._everything = True
        elif ended.status is JobStatus.SUCCEEDED and ended.owner_id == self.me:
            self._jobs.add(int(ended.job_id))
        else:
            if ended.status is not JobStatus.SUCCEEDED:
                self._refresh_if_generating()
            return
        if not self._soon.isActive():
            self._soon.start()

    def _refresh_if_generating(self) -> None:
        nav = self.window.navigator
        data = nav.data if nav is not None else None
        if nav is not None and data is not None and any(c.generating for p in data.projects for c in p.characters):
            nav.refresh()

    def collect_soon_due(self) -> None:
        if self._collecting is not None and not self._collecting.done():
            self._soon.start()  # one collection at a time; this one follows it
            return
        self._collecting = self.window.tasks.spawn(self.collect(), what="record the generated seeds")

    async def collect(self) -> SeedCollection:
        """Record the finished seed generations asked for since the last collection; say what is ready."""
        jobs, everything = set(self._jobs), self._everything
        self._jobs.clear()
        self._everything = False
        if not jobs and not everything:
            return SeedCollection()
        got = await self.collector.collect(None if everything else jobs)
        for seed in got.generated:
            self.window.notifier.post(
                Level.SUCCESS,
                f"Seed {seed.kind.name} for {self._character_name(int(seed.character_id))} is ready: "
                f"seed #{seed.id} from job {seed.job_id}.",
            )
        for problem in got.problems:
            self.window.notifier.post(Level.ERROR, problem.sentence)
        if got.seeds or got.problems:
            self.collected.emit(got)
        return got

    def _character_name(self, character_id: int) -> str:
        nav = self.window.navigator
        for project in nav.data.projects if nav is not None and nav.data is not None else ():
            for character in project.characters:
                if character.id == character_id:
                    return character.name
        return f"character #{character_id}"

    async def stop(self) -> None:
        """The window's shutdown step: the LISTEN thread and the timer end (a collection running is the
        window's task, drained by it)."""
        self._stopped = True
        self._soon.stop()
        if self.listener is not None:
            listener, self.listener = self.listener, None
            await asyncio.to_thread(listener.stop)


def install_characters(window: MainWindow, studio: Studio) -> CharacterWiring:
    wiring = CharacterWiring(window, studio)
    window.add_shutdown_step(wiring.stop)
    return wiring
