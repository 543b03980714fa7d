"""Sign out / switch user in one process, on the real window (ui/app.py's builder) and real logins.

A shared studio database served on loopback TCP with SCRAM passwords (tests/db/security_studio.py's logins
and production, built by the migrations): the creator signs out, a wrong password is asked again with the
server's sentence, the reviewer signs in, and the new window has the reviewer's rights and a session as
the reviewer. Cancelling the sign-in quits; "Forget my password" removes the keyring entry (keyrings.alt's
plaintext file backend, tests/conftest.py). On the embedded single-user database Sign out offers the
studio logins (none: one sentence, nothing happens) and opens the chosen one without a password.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDialog

from tests.db.security_studio import SecureStudio, build_secure_studio
from tests.fixtures.lan import served_on_loopback
from tests.media_factory import make_video
from tests.ui.node_editor.conftest import chain_document
from tests.ui.qt_loop import RunningLoop, settle
from tests.ui.studio_fixtures import qloop, run, until
from tests.ui.test_signin import session_user
from x121_desktop.core.enums import UserRole
from x121_desktop.core.ids import SceneId
from x121_desktop.db.embedded import start_embedded
from x121_desktop.services.auth.credentials import CredentialStore
from x121_desktop.services.auth.login import Credentials, LoginMemory
from x121_desktop.services.bootstrap import LaunchOptions, Studio
from x121_desktop.ui.app import _build_window
from x121_desktop.ui.main_window import MainWindow
from x121_desktop.ui.node_editor.panel import NodeEditorPanel
from x121_desktop.ui.review.panel import ReviewPanel
from x121_desktop.ui.scene.install import SceneWindowWiring
from x121_desktop.ui.session import StudioSession
from x121_desktop.ui.sign_out import NOTHING_TO_SWITCH, SignOutDialog
from x121_desktop.ui.signin import SignInDialog, sign_in

__all__ = ["qloop"]


@dataclass
class LanStudio:
    secure: SecureStudio
    pgdata: Path
    port: int

    def url(self, who: str) -> str:
        return f"postgresql://{self.secure.roles[who]}@127.0.0.1:{self.port}/{self.secure.dbname}"

    def password(self, who: str) -> str:
        return f"pw-{self.secure.roles[who]}"  # as build_secure_studio sets them

    def superuser(self) -> psycopg.Connection[Any]:
        """The database superuser over the data folder's socket (trust), for checks."""
        return psycopg.connect(host=str(self.pgdata), port=self.port, dbname=self.secure.dbname, user="postgres")


@pytest.fixture(scope="module")
def lan_studio() -> Iterator[LanStudio]:
    root = Path(tempfile.mkdtemp(prefix="x121-test-pg-"))
    root.chmod(0o755)  # the server's OS user must reach it when tests run as root
    pgdata = root / "pgdata"
    server = start_embedded(pgdata)
    try:

        def new_database() -> str:
            with psycopg.connect(**server.conninfo("postgres"), autocommit=True) as conn:
                conn.execute('CREATE DATABASE "x121_signout"')
            return server.url("x121_signout")

        secure = build_secure_studio(server, new_database)
    finally:
        server.release()
    try:
        with served_on_loopback(pgdata) as port:
            yield LanStudio(secure, pgdata, port)
    finally:
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class Signed:
    session: StudioSession
    first: Studio
    quits: list[str]

    @property
    def window(self) -> MainWindow:
        assert self.session.window is not None
        return self.session.window


@pytest.fixture
def signed_in(qloop: RunningLoop, tmp_path: Path) -> Iterator[Callable[[LaunchOptions, Callable[..., Any]], Signed]]:
    """Sign in as start-up does, build the real window and its session; everything closed at the end."""
    made: list[Signed] = []

    def make(options: LaunchOptions, ask: Callable[..., Any]) -> Signed:
        app = QApplication.instance()
        assert isinstance(app, QApplication)
        studio = sign_in(options, ask=ask)
        window = _build_window(app, studio)
        quits: list[str] = []
        session = StudioSession(app, options, studio, window, _build_window, quit_app=lambda: quits.append("quit"))
        window.show()
        run(qloop, window.start())
        signed = Signed(session, studio, quits)
        made.append(signed)
        return signed

    yield make
    for signed in made:
        if signed.session.window is not None:
            run(qloop, signed.session.window.shutdown())
            signed.session.window.close()
            signed.session.window.deleteLater()
        signed.session.close()
        signed.first.close()
    settle(qloop)  # the deleted windows go before the qloop fixture looks for windows left open


def _visible[D: QDialog](kind: type[D], seen: tuple[QDialog, ...] = ()) -> D | None:
    for widget in QApplication.topLevelWidgets():
        if isinstance(widget, kind) and widget.isVisible() and widget not in seen:
            return widget
    return None


def dialog_of[D: QDialog](qloop: RunningLoop, kind: type[D], *, seen: tuple[QDialog, ...] = ()) -> D:
    run(qloop, until(lambda: _visible(kind, seen) is not None, timeout=40, what=f"a {kind.__name__}"))
    found = _visible(kind, seen)
    assert found is not None
    return found


def present(lan: LanStudio, who: str) -> bool:
    with lan.superuser() as conn:
        row = conn.execute("SELECT count(*) FROM presence WHERE user_id = %s", (lan.secure.user_ids[who],)).fetchone()
    return bool(row and row[0])


def connections(lan: LanStudio, who: str) -> int:
    """Open database sessions of that login (pool, LISTEN threads, dispatcher) right now."""
    with lan.superuser() as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE usename = %s", (lan.secure.roles[who],)
        ).fetchone()
    assert row is not None
    return int(row[0])


def decoding(name: str) -> bool:
    return any(t.name == f"x121-review-{name}" and t.is_alive() for t in threading.enumerate())


def scene_ops(window: MainWindow) -> Any:
    wiring = window.findChild(SceneWindowWiring)
    assert isinstance(wiring, SceneWindowWiring)
    return wiring.ops


def test_creator_signs_out_and_the_reviewer_signs_in_with_a_reviewers_window(
    qloop: RunningLoop, lan_studio: LanStudio, signed_in: Callable[..., Signed], tmp_path: Path
) -> None:
    lan = lan_studio
    options = LaunchOptions(database_url=lan.url("creator"), home=str(tmp_path / "home"))
    signed = signed_in(options, lambda r: Credentials(r.user, lan.password("creator"), remember=True))
    first = signed.window
    a = first.qactions
    assert a["app.sign_out"].isEnabled()
    assert "Ctrl+Shift+L" in [k.toString() for k in a["app.sign_out"].shortcuts()]
    scene = SceneId(lan.secure.ids["scene"])
    first.open_scene(scene)
    run(qloop, until(a["scene.generate"].isEnabled, what="Generate enabled for the creator"))
    run(qloop, until(lambda: "Creator" in first.windowTitle(), what="the creator in the title"))
    run(qloop, until(lambda: present(lan, "creator"), what="the creator's presence row"))
    assert connections(lan, "creator") > 0

    review = first.panel("review", ReviewPanel)
    assert review is not None
    make_video(tmp_path / "clip.mp4", 12)
    review.load([tmp_path / "clip.mp4"])
    run(qloop, until(lambda: decoding("clip.mp4"), what="the Review player's decode thread"))

    assert a["app.sign_out"] in first.menus["Application"].actions()
    palette = first.command_palette  # Sign out from the command palette, as a person would
    palette.open_palette()
    palette.query.setText("sign out")
    palette.refresh()
    chosen = palette.current_item()
    assert chosen is not None
    assert (chosen.ref, chosen.enabled, chosen.shortcut) == ("app.sign_out", True, "Ctrl+Shift+L")
    QTest.keyClick(palette.query, Qt.Key.Key_Return)
    confirm = dialog_of(qloop, SignOutDialog)  # a password is kept: the box to forget it is offered
    assert confirm.forget.isVisibleTo(confirm)
    assert not confirm.stopping.isVisibleTo(confirm)  # nothing in flight
    confirm.accept()

    ask = dialog_of(qloop, SignInDialog)
    assert ask.user.text() == lan.secure.roles["creator"]  # prefilled with the one who left
    assert signed.first._closed  # the creator's studio is closed (engine, executors)
    assert not present(lan, "creator")  # gone from Studio Pulse at once, not after the presence timeout
    run(qloop, until(lambda: connections(lan, "creator") == 0, what="the creator's connections to end"))
    assert not decoding("clip.mp4")  # the old window's player was closed with it
    assert LoginMemory(tmp_path / "home").last(lan.url("creator")) is not None
    ask.user.setText(lan.secure.roles["reviewer"])
    ask.password.setText("not-the-password")
    ask.accept()

    again = dialog_of(qloop, SignInDialog, seen=(ask,))
    assert "rejected the password" in again.problem.text()
    assert again.user.text() == lan.secure.roles["reviewer"]
    again.password.setText(lan.password("reviewer"))
    again.accept()

    run(qloop, until(lambda: signed.session.window not in (None, first), what="the reviewer's window"))
    second = signed.window
    assert second.isVisible()
    assert signed.session.studio is not None
    assert session_user(signed.session.studio) == lan.secure.roles["reviewer"]
    run(qloop, until(lambda: scene_ops(second).is_creator is False, what="the reviewer's role learned"))
    second.open_scene(scene)
    b = second.qactions
    run(qloop, until(b["scene.export"].isEnabled, what="the scene open for the reviewer"))
    assert not b["scene.generate"].isEnabled()  # the reviewer's rights
    assert not b["take.approve"].isEnabled()
    run(qloop, until(lambda: "Reviewer" in second.windowTitle(), what="the reviewer in the title"))
    assert b["app.sign_out"].isEnabled()  # and may sign out again
    assert signed.quits == []


def test_forget_my_password_then_cancel_quits(
    qloop: RunningLoop, lan_studio: LanStudio, signed_in: Callable[..., Signed], tmp_path: Path
) -> None:
    lan = lan_studio
    url = lan.url("creator")
    options = LaunchOptions(database_url=url, home=str(tmp_path / "home"))
    signed = signed_in(options, lambda r: Credentials(r.user, lan.password("creator"), remember=True))
    role = lan.secure.roles["creator"]
    assert CredentialStore().get(url, role) == lan.password("creator")
    # work in flight: an unsaved workflow edit and a running operation are said before anything stops
    editor = signed.window.panel("node_editor", NodeEditorPanel)
    assert editor is not None
    path = tmp_path / "chain.json"
    path.write_text(json.dumps(chain_document()))
    assert editor.editor.open_path(path)
    editor.editor.scene.nodes["3"].setSelected(True)
    editor.editor.delete_selection()
    op = signed.window.progress.start("Import 3 seed images", None)

    signed.window.qactions["app.sign_out"].trigger()
    confirm = dialog_of(qloop, SignOutDialog)
    said = confirm.stopping.text()
    assert "Import 3 seed images (running in this window)" in said
    assert "unsaved changes to the workflow in the node editor" in said
    confirm.reject()  # stay: nothing closes
    run(qloop, until(lambda: not signed.session.switching, what="the sign-out to end"))
    assert signed.session.window is not None
    assert signed.window.isVisible()
    signed.window.progress.finish(op)
    editor.editor.session.mark_saved()

    signed.window.qactions["app.sign_out"].trigger()
    confirm = dialog_of(qloop, SignOutDialog, seen=(confirm,))
    confirm.forget.setChecked(True)
    confirm.accept()
    ask = dialog_of(qloop, SignInDialog)
    assert CredentialStore().get(url, role) is None  # forgotten
    ask.reject()
    run(qloop, until(lambda: signed.quits == ["quit"], what="the app to quit"))
    assert signed.session.window is None
    assert signed.session.studio is None
    assert signed.first._closed
    last = LoginMemory(tmp_path / "home").last(url)
    assert last is not None
    assert last.signed_out  # the next start asks instead of signing in silently


def test_embedded_sign_out_offers_the_studio_logins(
    qloop: RunningLoop, signed_in: Callable[..., Signed], pg_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("X121_HOME", str(pg_tmp / "home"))
    signed = signed_in(LaunchOptions(), lambda r: pytest.fail("the embedded database asked for a password"))
    first = signed.window
    first.qactions["app.sign_out"].trigger()
    run(qloop, until(lambda: not signed.session.switching, what="the sign-out to end"))
    assert NOTHING_TO_SWITCH in [n.text for n in first.notifier.items()]
    assert signed.session.window is first  # nobody else: nothing closed

    run(qloop, first.services.users.add_user("editor1", UserRole.CREATOR, "pw-editor-1234", "Editor One"))
    first.qactions["app.sign_out"].trigger()
    pick = dialog_of(qloop, SignOutDialog)
    assert pick.login.isVisibleTo(pick)
    assert not pick.forget.isVisibleTo(pick)  # no passwords here
    assert [pick.login.itemData(i) for i in range(pick.login.count())] == ["editor1"]
    pick.accept()
    run(qloop, until(lambda: signed.session.window not in (None, first), timeout=40, what="editor1's window"))
    assert signed.session.studio is not None
    assert session_user(signed.session.studio) == "editor1"
    assert signed.session.studio.database.embedded
    run(qloop, until(lambda: "Editor One" in signed.window.windowTitle(), what="editor1 in the title"))
