"""Voice memos: with no audio input (this machine) the memo button is disabled with a sentence and
nothing else breaks; a reviewer's memo stored through the service reloads on its take and starts at its
frame during playback (here: reports that there is no output device to play it on), and the memo bar
saves a recording as the window's reviewer."""

from __future__ import annotations

import math
import struct
import wave
from collections.abc import Callable
from pathlib import Path

import qasync
from PySide6.QtMultimedia import QAudioDevice, QMediaDevices
from PySide6.QtWidgets import QMainWindow
from pytestqt.qtbot import QtBot

from tests.services.review_studio import ReviewStudio, review_studio, studio_as
from tests.ui.review.test_vinyl_focus import click
from tests.ui.studio_fixtures import qloop, run, until
from x121_desktop.core.enums import AnnotationKind
from x121_desktop.services.bootstrap import Studio
from x121_desktop.services.review import ReviewService
from x121_desktop.ui.review.compare import CompareController
from x121_desktop.ui.review.memos import NO_INPUT, MemoController
from x121_desktop.ui.review.panel import ReviewPanel
from x121_desktop.ui.review.verdicts import ReviewSession

__all__ = ["qloop", "review_studio", "studio_as"]


def beep(path: Path, seconds: float = 0.4, rate: int = 16000) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        samples = (int(8000 * math.sin(2 * math.pi * 440 * i / rate)) for i in range(int(seconds * rate)))
        w.writeframes(b"".join(struct.pack("<h", s) for s in samples))
    return path


def memo_window(
    qtbot: QtBot, studio: Studio, devices: Callable[[], list[QAudioDevice]] | None = None
) -> tuple[QMainWindow, ReviewPanel, ReviewSession, MemoController]:
    window = QMainWindow()
    qtbot.addWidget(window)
    panel = ReviewPanel(rows=1, columns=1, prefer_gl=False)
    window.setCentralWidget(panel)
    session = ReviewSession(panel, ReviewService(studio))
    memos = MemoController(session) if devices is None else MemoController(session, devices=devices)
    panel.add_bar(memos.bar)
    window.resize(640, 420)
    window.show()
    qtbot.waitExposed(window)
    return window, panel, session, memos


def test_no_input_device_disables_memos_with_a_sentence(
    qtbot: QtBot, qloop: qasync.QEventLoop, review_studio: ReviewStudio, studio_as: Callable[[str], Studio]
) -> None:
    _window, panel, session, memos = memo_window(qtbot, studio_as("reviewer"), devices=list)
    try:
        # the default lookup asks QtMultimedia (on the dev boxes: no input, hence this very path)
        assert MemoController(session).available == bool(QMediaDevices.audioInputs())
        assert not memos.available
        assert not memos.bar.record.isEnabled()
        assert memos.bar.label.text() == NO_INPUT
        assert memos.bar.record.toolTip() == NO_INPUT
        run(qloop, session.open_scene(review_studio.scene_id))
        assert memos.start() is False  # a shortcut or a stray call cannot record either
        assert not memos.recording
        assert session.current is not None  # the rest of the review keeps working
    finally:
        panel.close_player()


def test_a_stored_memo_reloads_and_starts_at_its_frame(
    qtbot: QtBot,
    qloop: qasync.QEventLoop,
    review_studio: ReviewStudio,
    studio_as: Callable[[str], Studio],
    tmp_path: Path,
) -> None:
    take = review_studio.take_ids[0]
    audio = beep(tmp_path / "memo.wav")
    # a reviewer's memo (revision 0008: x121_add_voice_memo; reviewers still may not insert files themselves)
    memo = run(qloop, ReviewService(studio_as("reviewer2")).add_voice_memo(take, 5, 10, audio))
    assert memo.kind is AnnotationKind.VOICE
    assert memo.voice_file_id is not None

    _window, panel, session, memos = memo_window(qtbot, studio_as("reviewer"))
    started: list[str] = []
    memos.message.connect(started.append)
    try:
        run(qloop, session.open_scene(review_studio.scene_id, take))
        run(qloop, until(lambda: [m.id for m in memos.memos] == [memo.id], what="the memo to load"))
        stored = run(qloop, session.review.media_path(memo.voice_file_id))
        assert stored.read_bytes() == audio.read_bytes()
        run(qloop, until(lambda: panel.controller.clock.frame_count == 30, what="the take to open"))
        panel.controller.play()
        run(qloop, until(lambda: any("frame 5" in m for m in started), what="the memo to start at frame 5"))
        panel.controller.stop()
        if not QMediaDevices.audioOutputs():
            assert any("no audio output device" in m for m in started)
        run(qloop, memos.drain())
        # the memo bar's save path (what a stopped recording runs) as the reviewer of this window
        recorded = beep(tmp_path / "recorded.wav", seconds=0.2)
        saved = run(qloop, memos.save(take, 12, 3, recorded))
        assert (saved.author_id, saved.frame_start, saved.frame_count) == (
            review_studio.secure.user_ids["reviewer"],
            12,
            3,
        )
        assert not recorded.exists()  # the recording is in the media store now, the temp file gone
        assert [m.id for m in memos.memos] == [memo.id, saved.id]
        assert memos.bar.label.text() == "Voice memo saved at frame 12"
    finally:
        panel.close_player()


def test_memos_follow_the_cell_the_reviewer_works_in(
    qtbot: QtBot, qloop: qasync.QEventLoop, review_studio: ReviewStudio, studio_as: Callable[[str], Studio],
    tmp_path: Path,
) -> None:  # fmt: skip
    """A memo on the third take starts while that take's cell is the working one, not while the first is."""
    t0, _t1, t2 = review_studio.take_ids
    memo = run(qloop, ReviewService(studio_as("reviewer2")).add_voice_memo(t2, 7, 4, beep(tmp_path / "m.wav")))
    _window, panel, session, memos = memo_window(qtbot, studio_as("reviewer"))
    said: list[str] = []
    memos.message.connect(said.append)
    try:
        run(qloop, session.open_scene(review_studio.scene_id, t0))
        queue = session.queue
        assert queue is not None
        videos = [t.video for t in queue.takes if t.take_id in (t0, t2) and t.video is not None]
        panel.set_grid(1, 2)
        CompareController(panel).show(videos)
        player = panel.controller
        run(qloop, until(lambda: player.ready and player.clock.frame_count == 30, what="both takes to open"))

        def play_through(to: int) -> None:
            player.seek(0)
            player.play()
            run(qloop, until(lambda: all(v.shown_index is not None and v.shown_index >= to for v in panel.grid.cells),
                             what=f"frame {to}"))  # fmt: skip
            player.stop()
            run(qloop, memos.drain())

        play_through(12)
        assert not any("frame 7" in m for m in said)  # the first cell (take t0) is the working one
        click(panel.grid.cells[1])
        run(qloop, until(lambda: [m.id for m in memos.memos] == [memo.id], what="the third take's memos"))
        play_through(12)
        assert any("frame 7" in m for m in said)
    finally:
        panel.close_player()
