"""Cancelling a scene's generation from the workspace: Cancel on its Generate row, or Cancel scene generation.

The row's Cancel stops the follow (the director gives back its segment locks as it stops), then the
same row shows the cancel itself: the scene's queued and running jobs of yours are cancelled in one
transaction (SceneCancelService), and a job that had already finished gets its take recorded by one
director round (cancelled segments are not chained). The end is one notification with the service's
sentences: how many jobs were cancelled or interrupted, which had already finished, whose were left
alone. Closing the window also cancels the follow, but only stops following: the jobs go on.
"""

from __future__ import annotations

from collections.abc import Callable

from x121_desktop.core.cancel import ProgressSink
from x121_desktop.core.errors import X121Error
from x121_desktop.services.scene_cancel import SceneCancelReport, SceneCancelService
from x121_desktop.services.scene_workspace import SceneWorkspaceService
from x121_desktop.ui.panels.notifications import Level, Notifier

CANCELLING = "cancelling the scene's jobs…"
RECORDING = "recording the takes that had already finished…"


class GenerationCanceller:
    def __init__(
        self,
        cancels: SceneCancelService,
        workspace: SceneWorkspaceService,
        notifier: Notifier,
        refresh: Callable[[], None],
    ) -> None:
        self.cancels, self.workspace, self.notifier, self.refresh = cancels, workspace, notifier, refresh

    async def cancel(self, scene_id: int, sink: ProgressSink) -> SceneCancelReport | None:
        """Cancel the scene's generation, saying each step in `sink`'s row and the outcome as a notification."""
        sink(0, 0, CANCELLING)
        try:
            report = await self.cancels.cancel(scene_id)
        except X121Error as exc:
            self.notifier.post(Level.ERROR, exc.sentence)
            return None
        finally:
            self.refresh()
        self.notifier.post(Level.INFO, report.sentence())
        if report.finished:
            sink(0, 0, RECORDING)
            try:
                recorded = await self.workspace.record_finished(scene_id)
            except X121Error as exc:
                self.notifier.post(Level.ERROR, exc.sentence)
            else:
                for sentence in recorded.failed:
                    self.notifier.post(Level.ERROR, sentence)
            self.refresh()
        return report
