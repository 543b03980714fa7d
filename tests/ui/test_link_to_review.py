"""An x121:// @mention link, end to end in the real window: the link → Review shows that take at that frame.

The window is built by `ui.app._build_window`, exactly as `x121` builds it, on a studio with a real
scene (tests/services/review_studio.py: three rendered H.264 takes whose frames carry their number
in a stripe), signed in as a reviewer. A creator @mentions the reviewer in a comment at a frame; the
comment shows in the reviewer's Studio Pulse, and picking it there (Return) opens Review. Other links
arrive as `x121 open LINK` sends them from another process (the window's hand-off socket). The frame
on screen is read back from the decoded picture itself.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import qasync
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QListWidgetItem
from pytestqt.qtbot import QtBot

from tests.db.security_studio import SUPERUSER
from tests.media_factory import make_video, read_stripe
from tests.services.review_studio import CLIP_FRAMES, CLIP_SIZE, ReviewStudio, review_studio, studio_as
from tests.ui.studio_fixtures import qloop, run, until
from x121_desktop.core.enums import FileKind, RetentionClass, TakeReason, TakeStatus
from x121_desktop.services.bootstrap import Studio
from x121_desktop.services.handoff import forward
from x121_desktop.services.review import ReviewService
from x121_desktop.ui.app import _build_window
from x121_desktop.ui.main_window import MainWindow
from x121_desktop.ui.panels.pulse import LINK_ROLE, PulsePanel, runtime_socket
from x121_desktop.ui.review.compare import frame_rgb
from x121_desktop.ui.review.panel import ReviewPanel
from x121_desktop.ui.review.tools import ReviewTools

__all__ = ["qloop", "review_studio", "studio_as"]


@pytest.fixture(scope="module")
def older_take(review_studio: ReviewStudio) -> int:
    """A second, NOT current take of segment 2 (an earlier version a comment may link to), on its own video."""
    s = review_studio.secure
    rel = "review/older_take_1.mp4"
    path = make_video(review_studio.home / "media" / rel, CLIP_FRAMES, rate=30, size=CLIP_SIZE, gop=10, bframes=0,
                      photo_name="rocket")  # fmt: skip
    with s.connect(SUPERUSER) as conn:
        row = conn.execute(
            "INSERT INTO files (sha256, rel_path, size_bytes, file_kind_id, retention_class_id, created_by) "
            "VALUES (encode(sha256(%s::bytea), 'hex'), %s, %s, %s, %s, %s) RETURNING id",
            (rel.encode(), rel, path.stat().st_size, FileKind.VIDEO, RetentionClass.WORKING, s.user_ids["creator"]),
        ).fetchone()
        assert row is not None
        take = conn.execute(
            "INSERT INTO takes (segment_id, take_reason_id, take_status_id, file_id, frame_count, created_by) "
            "VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
            (review_studio.segment_ids[1], TakeReason.VARIANT, TakeStatus.READY, row[0], CLIP_FRAMES,
             s.user_ids["creator"]),
        ).fetchone()  # fmt: skip
        assert take is not None
    return int(take[0])


@pytest.fixture
def real_window(qloop: qasync.QEventLoop, studio_as: Callable[[str], Studio]) -> Iterator[MainWindow]:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    window = _build_window(app, studio_as("reviewer"))
    panel = window.panel("review", ReviewPanel)
    assert panel is not None
    window.show()
    run(qloop, window.start())
    yield window
    try:
        panel.close_player()
        run(qloop, window.shutdown())  # its shutdown steps stop the collaboration wiring too
    finally:  # a window left open keeps its panels' timers firing into later tests
        window.close()
        window.deleteLater()
        run(qloop, asyncio.sleep(0.01))


def _link(r: ReviewStudio, segment: int, take: int, frame: int) -> str:
    return f"x121://project/{r.secure.ids['project']}/scene/{r.scene_id}/segment/{segment}/take/{take}@{frame}"


def _frame_on_screen(qloop: qasync.QEventLoop, panel: ReviewPanel, video: Path, frame: int) -> int:
    """Wait until Review shows `frame` of `video`; the number read from the decoded picture's stripe."""
    run(qloop, until(lambda: panel.paths == [video], what=f"Review to load {video.name}"))
    view = panel.grid.cells[0]
    run(qloop, until(lambda: view.shown_index == frame, what=f"frame {frame} on screen"))
    rgb = frame_rgb(view.state.frame)
    assert rgb is not None
    return read_stripe(rgb)


def _hand_over(qloop: qasync.QEventLoop, home: Path, url: str) -> str | None:
    """What `x121 open URL` does from another process: hand the link to the running window's socket
    (a client thread; the window answers on its own loop, which runs meanwhile)."""
    replies: list[str | OSError | None] = []

    def client() -> None:
        try:
            replies.append(forward(runtime_socket(home), url))
        except OSError as exc:
            replies.append(exc)

    thread = threading.Thread(target=client)
    thread.start()
    run(qloop, until(lambda: bool(replies), what="the window's answer"))
    thread.join(5)
    assert not isinstance(replies[0], OSError), replies[0]
    return replies[0]


def test_an_at_mention_link_opens_its_take_at_its_frame_in_review(
    qtbot: QtBot,
    qloop: qasync.QEventLoop,
    review_studio: ReviewStudio,
    older_take: int,
    studio_as: Callable[[str], Studio],
    real_window: MainWindow,
) -> None:
    window = real_window
    panel = window.panel("review", ReviewPanel)
    pulse = window.panel("pulse", PulsePanel)
    assert panel is not None
    assert pulse is not None
    tools = panel.tools
    assert isinstance(tools, ReviewTools)
    media = review_studio.home / "media" / "review"

    # a creator @mentions the reviewer at frame 17 of take 2; the comment reaches the reviewer's Pulse
    take = review_studio.take_ids[1]
    reviewer = review_studio.secure.roles["reviewer"]
    posted = run(qloop, ReviewService(studio_as("creator")).comment(take, 17, f"@{reviewer} the hand melts here"))
    assert posted.mentioned == (reviewer,)
    assert posted.link == _link(review_studio, 2, take, 17)

    def row() -> QListWidgetItem | None:
        rows = (pulse.list.item(i) for i in range(pulse.list.count()))
        return next((r for r in rows if r.data(LINK_ROLE) == posted.link), None)

    # (live delivery to the feed is tested in test_pulse.py; here the feed is re-read, as a filter change does,
    # so the test does not depend on whether the window's listener was already subscribed)
    pulse.reload()
    run(qloop, until(lambda: row() is not None, what="the mention in Studio Pulse"))
    window.show_panel("pulse")
    item = row()
    assert item is not None
    qtbot.waitUntil(pulse.list.isVisible, timeout=2000)
    pulse.list.setCurrentItem(item)  # the reviewer picks the mention and presses Return
    pulse.list.setFocus()
    QTest.keyClick(pulse.list, Qt.Key.Key_Return)
    # Review comes up on that take, paused on the linked frame
    assert _frame_on_screen(qloop, panel, media / "take_1.mp4", 17) == 17
    assert window.panel("review", ReviewPanel) is panel
    assert panel.isVisible()
    assert tools.session.current is not None
    assert tools.session.current.take_id == take
    assert not panel.controller.clock.playing

    # `x121 open LINK` from another process, while Review is open: the other take and frame
    assert _hand_over(qloop, review_studio.home, _link(review_studio, 3, review_studio.take_ids[2], 4)) is None
    assert _frame_on_screen(qloop, panel, media / "take_2.mp4", 4) == 4

    # a link to an earlier (not current) take of a segment shows THAT take, not the segment's current one
    assert _hand_over(qloop, review_studio.home, _link(review_studio, 2, older_take, 23)) is None
    assert _frame_on_screen(qloop, panel, media / "older_take_1.mp4", 23) == 23
    assert tools.session.current is not None
    assert tools.session.current.take_id == older_take
    assert "not its current take" in tools.session.bar.label.text()
