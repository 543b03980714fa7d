"""Timestamped voice memos: record from the microphone at the frame on screen, play back at that frame.

Recording uses QtMultimedia (QMediaCaptureSession + QAudioInput + QMediaRecorder, WAV into a temp
file); when the recorder stops the file goes through `ReviewService.add_voice_memo` (media store +
VOICE annotation on the take, from the start frame to the frame recording stopped at). The take and
frames are those of the cell the reviewer works in (the first cell until one is chosen), mapped as
notes are (`ReviewSession.take_at`: a seam clip's frames belong to the take on their side). While the
player runs, a memo of that cell's take starts playing when the cell reaches its first frame.

Where the machine has no audio input (a headless box, a workstation without a microphone) the
memo button is disabled and the bar says why, once, in a sentence; everything else keeps working.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QUrl, Signal
from PySide6.QtMultimedia import (
    QAudioDevice,
    QAudioInput,
    QAudioOutput,
    QMediaCaptureSession,
    QMediaDevices,
    QMediaFormat,
    QMediaPlayer,
    QMediaRecorder,
)
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from x121_desktop.core.enums import AnnotationKind
from x121_desktop.services.review import AnnotationValue
from x121_desktop.ui.review.frame_view import FrameView
from x121_desktop.ui.review.notes import not_a_take
from x121_desktop.ui.review.tasks import SentenceTasks
from x121_desktop.ui.review.verdicts import ReviewSession

NO_INPUT = (
    "No microphone was found, so voice memos are off. Connect an audio input device and reopen the Review panel; "
    "drawn notes and comments still work."
)


def audio_inputs() -> list[QAudioDevice]:
    return list(QMediaDevices.audioInputs())


class MemoBar(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("memoBar")
        self.record = QPushButton("● Voice memo", self)
        self.record.setCheckable(True)
        self.label = QLabel("", self)
        self.label.setObjectName("memoStatus")
        self.label.setWordWrap(True)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.record)
        layout.addWidget(self.label, 1)


class MemoController(QObject):
    """Voice memos for the take a ReviewSession shows. `available` False: no input device (button disabled)."""

    message = Signal(str)
    memo_saved = Signal(int)
    memo_started = Signal(int)

    def __init__(
        self,
        session: ReviewSession,
        bar: MemoBar | None = None,
        *,
        devices: Callable[[], Sequence[QAudioDevice]] = audio_inputs,
    ) -> None:
        super().__init__(session)
        self.session = session
        self.bar = bar if bar is not None else MemoBar(session.panel)
        self.memos: tuple[AnnotationValue, ...] = ()
        self._tasks = SentenceTasks(self.message.emit)
        self._start = 0
        self._take_id: int | None = None  # the take a recording is for, and the cell it was started on
        self._recording_view: object | None = None
        self._memos_take: int | None = None
        self._following: QObject | None = None
        self._file: Path | None = None
        self._recorder: QMediaRecorder | None = None
        self._capture: QMediaCaptureSession | None = None
        self._player: QMediaPlayer | None = None
        self._last_frame = -1
        self.message.connect(self.bar.label.setText)
        inputs = list(devices())
        self.available = bool(inputs)
        self.device = inputs[0] if inputs else None
        self.bar.record.setEnabled(self.available)
        self.bar.record.setToolTip("Record a voice memo at this frame" if self.available else NO_INPUT)
        if not self.available:
            self.message.emit(NO_INPUT)
        self.bar.record.toggled.connect(self._toggled)
        session.take_shown.connect(self._take_shown)
        session.panel.loaded.connect(self._follow)

    # ------------------------------------------------------------------ recording
    @property
    def recording(self) -> bool:
        return self._recorder is not None

    def _toggled(self, on: bool) -> None:
        if on and not self.recording:
            self.start()
        elif not on and self.recording:
            self.stop()

    def start(self) -> bool:
        if not self.available or self.device is None:
            self.bar.record.setChecked(False)
            if not self.available:
                self.message.emit(NO_INPUT)
            return False
        spot, view = self._spot(), self._view()
        if spot is None:
            self.bar.record.setChecked(False)
            if view is not None and view.shown_index is not None:
                self.message.emit(not_a_take(view.state.label))
            else:
                self.message.emit("Open a take to review first, then record a memo on its frames")
            return False
        self._take_id, self._start = spot
        self._recording_view = self._view()
        fd, name = tempfile.mkstemp(prefix="x121-memo-", suffix=".wav")
        Path(name).unlink(missing_ok=True)
        os.close(fd)
        self._file = Path(name)
        capture = QMediaCaptureSession(self)
        capture.setAudioInput(QAudioInput(self.device, capture))
        recorder = QMediaRecorder(self)
        fmt = QMediaFormat()
        fmt.setFileFormat(QMediaFormat.FileFormat.Wave)
        fmt.setAudioCodec(QMediaFormat.AudioCodec.Wave)
        recorder.setMediaFormat(fmt)
        recorder.setOutputLocation(QUrl.fromLocalFile(str(self._file)))
        capture.setRecorder(recorder)
        recorder.errorOccurred.connect(lambda _e, text: self._failed(text))
        recorder.recorderStateChanged.connect(self._state)
        self._capture, self._recorder = capture, recorder
        recorder.record()
        self.message.emit(f"Recording a memo from frame {self._start}… press the button again to stop")
        return True

    def stop(self) -> None:
        if self._recorder is not None:
            self._recorder.stop()

    def _state(self, state: QMediaRecorder.RecorderState) -> None:
        recorder, take = self._recorder, self._take_id
        if state != QMediaRecorder.RecorderState.StoppedState or recorder is None:
            return
        path = Path(recorder.actualLocation().toLocalFile()) if recorder.actualLocation().isLocalFile() else self._file
        self._recorder, self._capture = None, None
        recorder.deleteLater()
        self.bar.record.setChecked(False)
        spot = self._spot() if self._view() is self._recording_view else None
        end = spot[1] if spot is not None and spot[0] == take else self._start
        if take is not None and path is not None:
            count = max(1, end - self._start + 1)
            self._spawn(self.save(take, self._start, count, path))

    async def save(self, take_id: int, start: int, count: int, path: Path) -> AnnotationValue:
        """Store the recorded file `path` as a memo on frames start … start + count - 1 of the take, as the
        signed-in user (reviewers too: revision 0008), then delete the recording."""
        try:
            memo = await self.session.review.add_voice_memo(take_id, start, count, path)
        finally:
            path.unlink(missing_ok=True)
        if self._memos_take == take_id:
            self.memos = (*self.memos, memo)
        self.memo_saved.emit(memo.id)
        self.message.emit(f"Voice memo saved at frame {start}")
        return memo

    def _failed(self, text: str) -> None:
        self.message.emit(f"The voice memo could not be recorded: {text}")
        self._recorder = self._capture = None
        self.bar.record.setChecked(False)

    # ------------------------------------------------------------------ playback
    def _take_shown(self, take_id: int) -> None:
        self._memos_take = take_id
        self._spawn(self._load(take_id))
        self._follow()

    def _follow(self) -> None:
        """Listen to the panel's player and grid (load() makes new ones)."""
        panel = self.session.panel
        if panel.controller is not self._following:
            self._following = panel.controller
            panel.controller.frames_shown.connect(self._frame_shown)
            panel.grid.current_changed.connect(self._frame_shown)

    async def _load(self, take_id: int) -> None:
        notes = await self.session.review.annotations(take_id)
        if self._memos_take == take_id:
            self.memos = tuple(a for a in notes if a.kind is AnnotationKind.VOICE and a.voice_file_id is not None)

    def _frame_shown(self) -> None:
        spot = self._spot()
        if spot is None:
            return
        take, frame = spot
        if take != self._memos_take:  # the working cell shows another take: its memos
            self._memos_take, self.memos, self._last_frame = take, (), -1
            self._spawn(self._load(take))
        if frame == self._last_frame:
            return
        self._last_frame = frame
        if not self.session.panel.controller.clock.playing:
            return
        for memo in self.memos:
            if memo.frame_start == frame and memo.voice_file_id is not None:
                self._spawn(self.play(memo))

    async def play(self, memo: AnnotationValue) -> None:
        assert memo.voice_file_id is not None
        path = await self.session.review.media_path(memo.voice_file_id)
        if not QMediaDevices.audioOutputs():
            self.message.emit(f"Memo at frame {memo.frame_start}: no audio output device to play it on")
            return
        if self._player is None:
            self._player = QMediaPlayer(self)
            self._player.setAudioOutput(QAudioOutput(self._player))
        self._player.setSource(QUrl.fromLocalFile(str(path)))
        self._player.play()
        self.memo_started.emit(memo.id)

    # ------------------------------------------------------------------ helpers
    def _view(self) -> FrameView | None:
        """The cell the reviewer works in, else the first."""
        grid = self.session.panel.grid
        return grid.current if grid.current is not None else next(iter(grid.cells), None)

    def _spot(self) -> tuple[int, int] | None:
        """(take id, take frame) the working cell shows; None before a frame or for a clip that is no take."""
        view = self._view()
        cell = next((c for c in self.session.panel.controller.cells if c.view is view), None)
        if view is None or cell is None or view.shown_index is None:
            return None
        return self.session.take_at(cell.source.path, view.shown_index)

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[None]:
        return self._tasks.spawn(coro)

    async def drain(self) -> None:
        await self._tasks.drain()
