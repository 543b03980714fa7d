"""The scene workspace in the real window on the secure studio: chain, traffic lights, take tree, use take,
final approval, segment locks, and what a reviewer sees (tests/ui/scene/scene_studio.py)."""

from __future__ import annotations

from collections.abc import Callable

import qasync
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from tests.db.security_studio import SUPERUSER
from tests.services.review_studio import ReviewStudio
from tests.ui.scene.scene_studio import Chain, SceneWindow, build_chain, qloop, review_studio, scene_window, studio_as
from tests.ui.studio_fixtures import run, until
from x121_desktop.core.enums import SceneStatus, SeamGrade, SegmentStatus, TakeReason, TakeStatus
from x121_desktop.services.bootstrap import Studio
from x121_desktop.services.locks import LockService
from x121_desktop.services.scenes import Downstream
from x121_desktop.ui.review.seams import grade_color
from x121_desktop.ui.scene.chain_view import LOCK_COLUMN, SEAM_COLUMN
from x121_desktop.ui.scene.take_tree import CURRENT, TAKE_ROLE

__all__ = ["qloop", "review_studio", "scene_window", "studio_as"]

Make = Callable[[str], SceneWindow]


def _opened(
    qloop: qasync.QEventLoop,
    review: ReviewStudio,
    scene_window: Make,
    who: str,
    grades: tuple[SeamGrade, SeamGrade],
    scores: tuple[float, float],
) -> tuple[Chain, SceneWindow]:
    """A new chain with these seams, opened in a window signed in as `who`."""
    chain = build_chain(review, grades, scores)
    sw = scene_window(who)
    sw.open(qloop, chain.scene_id)
    return chain, sw


def _notes(sw: SceneWindow) -> list[str]:
    return [n.text for n in sw.window.notifier.items()]


def _row(sw: SceneWindow, row: int) -> list[str]:
    chain = sw.wiring.workspace.chain
    return [chain.item(row, c).text() for c in range(chain.columnCount())]  # type: ignore[union-attr]


def test_chain_with_traffic_lights_and_take_tree(
    qloop: qasync.QEventLoop, review_studio: ReviewStudio, scene_window: Make
) -> None:
    chain, sw = _opened(qloop, review_studio, scene_window, "creator", (SeamGrade.GREEN, SeamGrade.RED), (0.91, 0.27))
    ws = sw.wiring.workspace
    assert ws.title.text().endswith(f" / {chain.name}")
    assert ws.chain.rowCount() == 3
    rows = [_row(sw, r) for r in range(3)]
    assert [r[0] for r in rows] == ["1", "2", "3"]
    assert all(r[2] == "In review" for r in rows)
    assert rows[1][3].startswith(f"#{chain.currents[1]} regenerate")
    assert [r[SEAM_COLUMN] for r in rows] == ["—", "green 0.91", "red 0.27"]
    lights = [ws.chain.item(r, SEAM_COLUMN).data(Qt.ItemDataRole.UserRole) for r in (1, 2)]  # type: ignore[union-attr]
    assert lights == [grade_color(SeamGrade.GREEN).name(), grade_color(SeamGrade.RED).name()]

    # ↓ moves to segment 2; its take tree holds the earlier take with the current one under it, marked.
    ws.chain.setFocus()
    QTest.keyClick(ws.chain, Qt.Key.Key_Down)
    assert ws.chain.current_position() == 1
    tree = ws.takes
    assert tree.topLevelItemCount() == 1
    parent = tree.topLevelItem(0)
    assert parent is not None
    assert parent.data(0, TAKE_ROLE) == chain.older
    assert f"{review_studio.secure.roles['reviewer']}: reject (hand jitters)" in parent.text(4)
    child = parent.child(0)
    assert child is not None
    assert child.data(0, TAKE_ROLE) == chain.currents[1]
    assert CURRENT in child.text(0)
    assert tree.selected_take() == chain.currents[1]
    # → goes to the takes, ↑ to the earlier one, ← back to the chain.
    QTest.keyClick(ws.chain, Qt.Key.Key_Right)
    assert tree.hasFocus()
    QTest.keyClick(tree, Qt.Key.Key_Up)
    assert tree.selected_take() == chain.older
    QTest.keyClick(tree, Qt.Key.Key_Left)
    assert ws.chain.hasFocus()
    a = sw.window.qactions
    assert a["take.use"].isEnabled()
    assert not a["take.approve"].isEnabled()
    assert a["segment.heal"].isEnabled()
    assert a["segment.regenerate"].isEnabled()
    # Shift+↓ makes a range; the regenerate dialog opens on it (Escape leaves it, nothing written)
    QTest.keyClick(ws.chain, Qt.Key.Key_Down, Qt.KeyboardModifier.ShiftModifier)
    assert ws.chain.selected_range() == (1, 2)
    dialog = sw.wiring.ops.ask_regenerate()
    assert dialog is not None
    assert (dialog.first.value(), dialog.last.value()) == (2, 3)
    QTest.keyClick(dialog, Qt.Key.Key_Escape)
    assert sw.wiring.ops.dialog is None


def test_use_an_earlier_take_then_approve_it(
    qloop: qasync.QEventLoop, review_studio: ReviewStudio, scene_window: Make
) -> None:
    chain, sw = _opened(qloop, review_studio, scene_window, "creator", (SeamGrade.GREEN, SeamGrade.AMBER), (0.88, 0.55))
    ws = sw.wiring.workspace
    ws.chain.select_range(1, 1)
    assert ws.takes.select_take(chain.older)
    sw.window.qactions["take.use"].trigger()
    run(qloop, until(lambda: ws.chain.links[1].segment.current_take_id not in (chain.currents[1], None),
                     what="the restored take to be current"))  # fmt: skip
    with review_studio.secure.connect(SUPERUSER) as conn:
        restored = conn.execute(
            "SELECT t.id, t.take_reason_id, t.parent_take_id, t.file_id = o.file_id FROM segments g "
            "JOIN takes t ON t.id = g.current_take_id JOIN takes o ON o.id = %s WHERE g.id = %s",
            (chain.older, chain.segments[1]),
        ).fetchone()
        later = conn.execute("SELECT segment_status_id FROM segments WHERE id = %s", (chain.segments[2],)).fetchone()
    assert restored is not None
    assert later is not None
    assert (TakeReason(restored[1]), restored[2], restored[3]) == (TakeReason.RESTORE, chain.currents[1], True)
    assert SegmentStatus(later[0]) is SegmentStatus.STALE  # as SceneService.restore marks the next segment
    # The tree now has the RESTORE take under the one it replaced, current; the ready take is selected.
    run(qloop, until(lambda: ws.takes.current_take_id == restored[0], what="the tree to follow"))
    assert ws.takes.selected_take() == restored[0]
    approve = sw.window.qactions["take.approve"]
    assert approve.isEnabled()
    approve.trigger()
    run(qloop, until(lambda: "· final" in _row(sw, 1)[2], what="final approval shown"))
    with review_studio.secure.connect(SUPERUSER) as conn:
        who = conn.execute(
            "SELECT u.role_name FROM approvals a JOIN users u ON u.id = a.approved_by WHERE a.take_id = %s",
            (restored[0],),
        ).fetchone()
    assert who is not None
    assert who[0] == review_studio.secure.roles["creator"]


def test_lock_toggle_and_a_lock_someone_else_holds(
    qloop: qasync.QEventLoop, review_studio: ReviewStudio, scene_window: Make, studio_as: Callable[[str], Studio]
) -> None:
    chain, sw = _opened(qloop, review_studio, scene_window, "creator", (SeamGrade.GREEN, SeamGrade.GREEN), (0.9, 0.92))
    ws = sw.wiring.workspace
    lock = sw.window.qactions["segment.lock"]
    ws.chain.select_range(0, 0)
    lock.trigger()
    run(qloop, until(lambda: "you on" in _row(sw, 0)[LOCK_COLUMN], what="my lock shown"))
    assert lock.isChecked()
    assert sw.wiring.locks.holds(chain.segments[0])
    lock.trigger()  # release
    run(qloop, until(lambda: _row(sw, 0)[LOCK_COLUMN] == "", what="my lock released"))
    assert not lock.isChecked()

    # An admin on another machine takes segment 3: the row says so live (x121_locks notice), and taking it
    # here is refused with the sentence naming the holder.
    admin = studio_as("admin")
    other = LockService(admin.engine, admin.runtime, machine="ws-7")
    grant = run(qloop, other.acquire(chain.segments[2]))
    admin_name = review_studio.secure.roles["admin"]
    run(qloop, until(lambda: admin_name in _row(sw, 2)[LOCK_COLUMN], what="the admin's lock shown"))
    assert "ws-7" in _row(sw, 2)[LOCK_COLUMN]
    ws.chain.select_range(2, 2)
    lock.trigger()
    run(qloop, until(lambda: any("is locked by" in n for n in _notes(sw)), what="the refusal"))
    said = next(n for n in _notes(sw) if "is locked by" in n)
    assert said.startswith("Segment 3 of ")
    assert admin_name in said
    assert "ws-7" in said
    assert not lock.isChecked()
    # Regenerating the locked segment is refused before anything is written.
    sw.wiring.ops.regenerate(2, 2, Downstream.HEAL)
    run(qloop, until(lambda: sum("is locked by" in n for n in _notes(sw)) >= 2, what="regenerate refused"))
    with review_studio.secure.connect(SUPERUSER) as conn:
        status = conn.execute("SELECT segment_status_id FROM segments WHERE id = %s", (chain.segments[2],)).fetchone()
    assert status is not None
    assert SegmentStatus(status[0]) is SegmentStatus.IN_REVIEW
    run(qloop, other.release(grant))


def test_a_reviewer_sees_creator_actions_disabled_and_is_refused_with_the_sentence(
    qloop: qasync.QEventLoop, review_studio: ReviewStudio, scene_window: Make
) -> None:
    chain, sw = _opened(qloop, review_studio, scene_window, "reviewer", (SeamGrade.AMBER, SeamGrade.RED), (0.6, 0.3))
    ws = sw.wiring.workspace
    ws.chain.select_range(1, 1)
    a = sw.window.qactions
    assert ws.takes.selected_take() == chain.currents[1]
    creators = ("scene.generate", "scene.cancel_generation", "segment.regenerate", "segment.heal", "segment.analyze",
                "take.approve", "scene.assemble")  # fmt: skip
    for action_id in creators:
        assert not a[action_id].isEnabled(), action_id
    assert a["segment.lock"].isEnabled()
    assert a["scene.export"].isEnabled()
    assert "reviewer" in ws.notice.text()
    # The operations themselves (as a script or a stale menu would call them) are refused by the service.
    sw.wiring.ops.approve()
    sw.wiring.ops.generate()
    run(qloop, until(lambda: sum("Only creators and admins" in n for n in _notes(sw)) >= 2, what="refusals"))
    said = [n for n in _notes(sw) if "Only creators and admins" in n]
    assert any("give final approval" in n for n in said)
    assert any("generate scenes" in n for n in said)
    with review_studio.secure.connect(SUPERUSER) as conn:
        approvals = conn.execute("SELECT count(*) FROM approvals WHERE take_id = %s", (chain.currents[1],)).fetchone()
        scene = conn.execute("SELECT scene_status_id FROM scenes WHERE id = %s", (chain.scene_id,)).fetchone()
    assert approvals is not None
    assert approvals[0] == 0
    assert scene is not None
    assert SceneStatus(scene[0]) is SceneStatus.IN_REVIEW
    with review_studio.secure.connect(SUPERUSER) as conn:
        takes = conn.execute(
            "SELECT count(*) FROM takes t JOIN segments g ON g.id = t.segment_id WHERE g.scene_id = %s "
            "AND t.take_status_id = %s",
            (chain.scene_id, TakeStatus.PENDING),
        ).fetchone()
    assert takes is not None
    assert takes[0] == 0


def test_closing_the_window_gives_back_the_segment_locks_taken_there(
    qloop: qasync.QEventLoop, review_studio: ReviewStudio, scene_window: Make
) -> None:
    chain, sw = _opened(qloop, review_studio, scene_window, "creator", (SeamGrade.GREEN, SeamGrade.GREEN), (0.9, 0.9))
    sw.wiring.workspace.chain.select_range(1, 1)
    sw.window.qactions["segment.lock"].trigger()
    run(qloop, until(lambda: sw.wiring.locks.holds(chain.segments[1]), what="the lock taken"))

    def live() -> int:
        with review_studio.secure.connect(SUPERUSER) as conn:
            row = conn.execute(
                "SELECT count(*) FROM segment_locks WHERE segment_id = %s AND expires_at > clock_timestamp()",
                (chain.segments[1],),
            ).fetchone()
        assert row is not None
        return int(row[0])

    assert live() == 1
    sw.window.close()
    run(qloop, until(lambda: live() == 0, what="the lock given back on close"))
    assert sw.wiring.locks.held() == ()
