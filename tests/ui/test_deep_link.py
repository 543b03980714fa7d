"""x121:// links: the running window takes links from other processes and opens the right take at the right frame.

The review player may not exist yet: the link opens the scene in the navigator and overview, and the
opener records the take and frame (`LinkOpener.current`) and emits `take_requested(take, frame)`, the
hook the review player connects to.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import qasync

from tests.db.security_studio import SecureStudio
from tests.ui.studio_fixtures import qloop, run, secure_studio, services_as, until, window_for
from x121_desktop.cli.main import main as cli_main
from x121_desktop.db.engine import DatabaseTarget, make_engine
from x121_desktop.services.collab import CollabServices
from x121_desktop.services.handoff import forward
from x121_desktop.services.runtime import Runtime
from x121_desktop.ui.docks import PanelRegistry, WindowServices, default_panels
from x121_desktop.ui.main_window import MainWindow
from x121_desktop.ui.panels.notifications import NotificationsPanel
from x121_desktop.ui.panels.pulse import CollabWiring, install_collab, register_collab_panels

__all__ = ["qloop", "secure_studio", "services_as", "window_for"]


@pytest.fixture
def socket_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="x121s"))  # short: Unix socket paths are limited to ~107 bytes
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def linked_window(
    qloop: qasync.QEventLoop,
    secure_studio: SecureStudio,
    services_as: Callable[[str], WindowServices],
    window_for: Callable[..., MainWindow],
    socket_dir: Path,
) -> Iterator[tuple[MainWindow, CollabWiring]]:
    runtime = Runtime()
    engine = make_engine(DatabaseTarget(secure_studio.url("creator")), pool_size=2)
    collab = CollabServices.build(engine, runtime, "ws-test")
    panels: PanelRegistry = default_panels()
    register_collab_panels(panels, collab)
    window = window_for(services_as("creator"), panels=panels)
    wiring = install_collab(window, collab, socket_path=socket_dir / "studio.sock")
    window.show()
    run(qloop, window.start())
    nav = window.navigator
    assert nav is not None
    run(qloop, until(lambda: nav.data is not None and wiring.listener is not None, what="the window to start"))
    yield window, wiring
    run(qloop, wiring.stop())
    runtime.shutdown()
    engine.dispose()


def _link(s: SecureStudio, take: str = "spare_take", frame: int = 7, segment: int = 1) -> str:
    return f"x121://project/{s.ids['project']}/scene/{s.ids['scene']}/segment/{segment}/take/{s.ids[take]}@{frame}"


def _warnings(window: MainWindow) -> list[str]:
    panel = window.panel("notifications", NotificationsPanel)
    assert panel is not None
    return panel.texts()


def test_a_link_opens_the_scene_take_and_frame(
    qloop: qasync.QEventLoop, secure_studio: SecureStudio, linked_window: tuple[MainWindow, CollabWiring]
) -> None:
    window, wiring = linked_window
    asked: list[tuple[int, int]] = []
    wiring.opener.take_requested.connect(lambda take, frame: asked.append((take, frame)))
    wiring.opener.open(_link(secure_studio, frame=7))
    run(qloop, until(lambda: wiring.opener.current is not None, what="the link to open"))
    current = wiring.opener.current
    assert current is not None
    assert (current.take_id, current.frame, current.segment_number) == (secure_studio.ids["spare_take"], 7, 1)
    assert asked == [(secure_studio.ids["spare_take"], 7)]
    assert window.overview.title.text() == "Walk"
    assert f"take #{secure_studio.ids['spare_take']}, frame 7" in window.overview.selection.text()
    nav = window.navigator
    assert nav is not None
    item = nav.tree.currentItem()
    assert item is not None
    assert item.text(0) == "Walk"


def test_bad_links_give_a_sentence_and_no_crash(
    qloop: qasync.QEventLoop, secure_studio: SecureStudio, linked_window: tuple[MainWindow, CollabWiring]
) -> None:
    window, wiring = linked_window
    wiring.opener.open("x121://project/1/scene/two")
    assert any("is malformed" in t for t in _warnings(window))
    wiring.opener.open(_link(secure_studio, take="take", segment=2))
    run(qloop, until(lambda: any("has no segment 2" in t for t in _warnings(window)), what="the warning"))
    assert wiring.opener.current is None
    assert window.isVisible()


def test_a_second_process_hands_its_link_to_the_running_window(
    qloop: qasync.QEventLoop, secure_studio: SecureStudio, linked_window: tuple[MainWindow, CollabWiring]
) -> None:
    _window, wiring = linked_window
    server = wiring.server
    assert server is not None
    replies: dict[str, Any] = {}

    def client(url: str) -> None:
        try:
            replies[url] = forward(server.path, url)
        except OSError as exc:
            replies[url] = exc

    good, bad = _link(secure_studio, frame=3), "x121://project/1/scene/2@9"
    shown: list[bool] = []
    server.show_requested.connect(lambda: shown.append(True))
    for url in ("", good, bad):
        thread = threading.Thread(target=client, args=(url,))
        thread.start()
        run(qloop, until(lambda u=url: u in replies, what="the reply"))
        thread.join(5)
    assert replies[""] is None  # a second launch: the running window only comes to the front
    assert shown == [True]
    assert replies[good] is None
    assert isinstance(replies[bad], str)
    assert "frame without a take" in replies[bad]
    run(qloop, until(lambda: wiring.opener.current is not None, what="the handed-over link to open"))
    current = wiring.opener.current
    assert current is not None
    assert current.frame == 3


def test_x121_open_refuses_malformed_links_and_desktop_install_registers_the_scheme(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli_main(["open", "--no-start", "x121://project/x"]) == 2
    assert "is malformed" in capsys.readouterr().err
    assert cli_main(["open", "--no-start", "x121://project/1/scene/2"]) != 0
    assert "No X121 Studio window is running" in capsys.readouterr().err
    assert cli_main(["open", "--no-start", "x121://jobs/7"]) != 0  # a job link is a link: it looks for the window
    assert "No X121 Studio window is running" in capsys.readouterr().err
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    monkeypatch.setenv("PATH", "")  # no xdg-mime here: the file alone, and a sentence saying so
    assert cli_main(["desktop", "install", "--exec", "/opt/x121/bin/x121 open"]) == 0
    written = (tmp_path / "share" / "applications" / "x121-studio.desktop").read_text(encoding="utf-8")
    assert "Exec=/opt/x121/bin/x121 open %u" in written
    assert "MimeType=x-scheme-handler/x121;" in written
    assert "xdg-mime is not installed" in capsys.readouterr().out
