"""The Jobs panel's single-job actions and its binding to the window's job.* QActions.

`JobActions` drives, for one `JobsPanel`:
- job.cancel (not yet ended), job.retry (failed or cancelled: a new linked job, selected once the queue is
  re-read) and job.move_to_front (queued), each on exactly one selected job in a state that allows it; who
  may act is the service's and the database's call, whose refusal sentence the panel shows and posts;
- the binding of every job.* action: its own, and the hold/pause ones through the panel's
  `QueueControls` (ui.panels.jobs_hold), kept enabled as the selection and the queue change, and shown
  as the panel's tool buttons.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QToolButton

from x121_desktop.core.enums import JobStatus
from x121_desktop.core.orchestration.states import TERMINAL
from x121_desktop.services.job_board import JobBoardRow
from x121_desktop.ui.panels.jobs_hold import HOLD_ACTIONS, PAUSE_ACTIONS

if TYPE_CHECKING:
    from PySide6.QtGui import QAction

    from x121_desktop.ui.panels.jobs import JobsPanel

JOB_ACTIONS = ("job.cancel", "job.retry", "job.move_to_front")


def may(action_id: str, row: JobBoardRow | None) -> bool:
    """Whether the job's state lets `action_id` act on it (ownership is the service's and database's call)."""
    if row is None:
        return False
    if action_id == "job.cancel":
        return row.status not in TERMINAL and not row.cancel_requested
    if action_id == "job.retry":
        return row.status in (JobStatus.FAILED, JobStatus.CANCELLED)
    if action_id == "job.move_to_front":
        return row.status is JobStatus.QUEUED
    return False


class JobActions(QObject):
    def __init__(self, panel: JobsPanel) -> None:
        super().__init__(panel)
        self.panel = panel

    def can(self, action_id: str) -> bool:
        """A single-job action: exactly one job selected, in a state that allows it."""
        panel = self.panel
        return len(panel.table.selectionModel().selectedRows()) == 1 and may(action_id, panel.selected_row())

    def cancel_selected(self) -> None:
        self._act(self.panel.board.cancel, "cancel the job")

    def retry_selected(self) -> None:
        board, panel = self.panel.board, self.panel

        async def retry(job_id: int) -> str:
            new = await board.retry(job_id)
            panel.select_after_reload(int(new))
            return f"Job {job_id} was queued again as job {new} (same workflow version, inputs and seed)."

        self._act(retry, "retry the job")

    def move_selected_to_front(self) -> None:
        board = self.panel.board

        async def move(job_id: int) -> str:
            priority = await board.move_to_front(job_id)
            return f"Job {job_id} is now first of its owner's queued jobs (priority {priority})."

        self._act(move, "move the job to the front")

    def _act(self, work: Callable[[int], Coroutine[Any, Any, str]], what: str) -> None:
        job_id = self.panel.selected_id()
        if job_id is not None:
            self.panel.perform(work(int(job_id)), what)

    def bind(self, qactions: dict[str, QAction]) -> None:
        """Connect the job.* actions, keep them enabled exactly when they can act, and show them as buttons."""
        panel = self.panel
        handlers = {
            "job.cancel": self.cancel_selected,
            "job.retry": self.retry_selected,
            "job.move_to_front": self.move_selected_to_front,
        }
        for action_id, handler in handlers.items():
            qactions[action_id].triggered.connect(lambda _c=False, h=handler: h())

        def update() -> None:
            for action_id in JOB_ACTIONS:
                qactions[action_id].setEnabled(self.can(action_id))
            panel.queue.update_actions()

        panel.queue.bind(qactions)
        panel.selection_changed.connect(update)
        panel.reloaded.connect(update)
        update()
        for action_id in (*HOLD_ACTIONS, *JOB_ACTIONS, *PAUSE_ACTIONS):
            button = QToolButton(panel)
            button.setDefaultAction(qactions[action_id])
            button.setObjectName(f"JobsButton.{action_id}")
            panel.buttons.addWidget(button)
