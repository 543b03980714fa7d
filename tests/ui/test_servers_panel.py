"""The Servers panel on a real database with real logins and the ComfyUI stand-in.

An admin adds the stand-in (URL + name): it is checked at once and shows online with its node types
and models; drain and resume change the database; removing a server with job history is refused with
the sentence; a creator sees the admin-only buttons disabled with the reason and can still refresh
capabilities; the measured speed and current jobs come from the database. The poll runs from the window's
start until its shutdown, and a window a test leaves open is shut down and deleted by the test loop harness.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import qasync
import shiboken6
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from tests.comfy.conftest import comfy_server
from tests.comfyui_server import ComfyTestServer
from tests.db.security_studio import SUPERUSER, SecureStudio
from tests.ui.qt_loop import settle, shut_down_windows
from tests.ui.studio_fixtures import qloop, run, secure_studio, services_as, until, window_for
from x121_desktop.core.enums import JobStatus, ServerStatus
from x121_desktop.services.bootstrap import LaunchOptions, Studio, open_studio
from x121_desktop.services.server_board import ServerBoardService
from x121_desktop.ui.docks import PanelRegistry, WindowServices, default_panels
from x121_desktop.ui.main_window import MainWindow
from x121_desktop.ui.panels.servers import ADMIN_ONLY, ServersPanel, servers_panel_spec

__all__ = ["comfy_server", "qloop", "secure_studio", "services_as", "window_for"]


@pytest.fixture
def servers_window(
    window_for: Callable[..., MainWindow],
    services_as: Callable[[str], WindowServices],
    secure_studio: SecureStudio,
    tmp_path: Path,
) -> Iterator[Callable[[str], ServersPanel]]:
    opened: list[tuple[Studio, ServersPanel]] = []

    def make(who: str) -> ServersPanel:
        studio = open_studio(LaunchOptions(database_url=secure_studio.url(who), home=str(tmp_path / who)))
        panels: PanelRegistry = default_panels()
        panels.register(servers_panel_spec(studio))
        window = window_for(services_as(who), panels=panels)
        panel = window.panel("servers", ServersPanel)
        assert panel is not None
        opened.append((studio, panel))
        window.started.emit()
        return panel

    yield make
    for studio, panel in opened:
        panel.stop()
        studio.close()


def _state(s: SecureStudio, name: str) -> tuple[ServerStatus, bool]:
    with s.connect(SUPERUSER) as conn:
        row = conn.execute("SELECT server_status_id, is_enabled FROM comfy_servers WHERE name = %s", (name,)).fetchone()
    assert row is not None
    return ServerStatus(row[0]), bool(row[1])


def _cells(panel: ServersPanel, name: str) -> dict[str, str]:
    headers = [panel.table.horizontalHeaderItem(c).text() for c in range(panel.table.columnCount())]  # type: ignore[union-attr]
    for r in range(panel.table.rowCount()):
        row = [panel.table.item(r, c).text() for c in range(panel.table.columnCount())]  # type: ignore[union-attr]
        if row[0] == name:
            return dict(zip(headers, row, strict=True))
    raise AssertionError(f"{name} is not in the table")


def test_an_admin_adds_drains_resumes_and_cannot_remove_a_server_with_history(
    qloop: qasync.QEventLoop,
    servers_window: Callable[[str], ServersPanel],
    comfy_server: ComfyTestServer,
    secure_studio: SecureStudio,
) -> None:
    panel = servers_window("admin")
    run(qloop, until(lambda: panel.admin and panel.rows, what="the servers and the admin's rights"))
    assert panel.add.isEnabled()
    panel.name.setText("stand-in")
    panel.url.setText(comfy_server.url)
    panel.add.click()
    run(qloop, until(lambda: panel.message.text().startswith("Added stand-in."), what="the server added"))
    cells = _cells(panel, "stand-in")
    assert cells["State"] == "Online"
    assert cells["Capacity"] == "1 running + 1 queued"
    nodes, models = cells["Capabilities"].split(", ")
    assert int(nodes.split()[0]) > 0
    assert models.endswith(" models")  # the stand-in lists no model files unless a test gives it some
    assert _state(secure_studio, "stand-in") == (ServerStatus.ONLINE, True)

    # a measured job on it: speed and current jobs come from the database
    with secure_studio.connect(SUPERUSER) as conn:
        server_id = conn.execute("SELECT id FROM comfy_servers WHERE name = 'stand-in'").fetchone()[0]  # type: ignore[index]
        job = secure_studio.ids["job"]
        conn.execute(
            "UPDATE jobs SET server_id = %s, job_status_id = %s WHERE id = %s", (server_id, JobStatus.RUNNING, job)
        )
        conn.execute(
            "INSERT INTO node_timings (job_id, node_id, class_type, server_id, seconds) VALUES "
            "(%s, '1', 'LoadImage', %s, 1.5), (%s, '2', 'ImageScale', %s, 2.5)",
            (job, server_id, job, server_id),
        )
    panel.select("stand-in")
    panel.drain.click()
    run(qloop, until(lambda: "is draining" in panel.message.text(), what="the drain"))
    assert _state(secure_studio, "stand-in") == (ServerStatus.DRAINING, False)
    cells = _cells(panel, "stand-in")
    assert cells["State"] == "Draining (disabled)"
    assert cells["Speed"] == "4.0 s/job"
    assert cells["Current jobs"] == f"#{job}"
    assert panel.resume.isEnabled()
    assert not panel.drain.isEnabled()
    panel.resume.click()
    run(qloop, until(lambda: panel.message.text().startswith("stand-in takes jobs again."), what="the resume"))
    assert _state(secure_studio, "stand-in") == (ServerStatus.ONLINE, True)
    panel.remove.click()
    run(qloop, until(lambda: "records keep it registered" in panel.message.text(), what="the refusal"))
    assert panel.message.text() == (
        "ComfyUI server 'stand-in' has run jobs, so its records keep it registered. "
        "Drain it instead: a drained server takes no new jobs"
    )
    assert _cells(panel, "stand-in")["Server"] == "stand-in"


def test_a_creator_may_refresh_capabilities_but_not_administer_servers(
    qloop: qasync.QEventLoop,
    servers_window: Callable[[str], ServersPanel],
    comfy_server: ComfyTestServer,
    secure_studio: SecureStudio,
) -> None:
    with secure_studio.connect(SUPERUSER) as conn:
        conn.execute(
            "INSERT INTO comfy_servers (name, base_url, server_status_id) VALUES ('stand-in-2', %s, %s)",
            (comfy_server.url, int(ServerStatus.OFFLINE)),
        )
    panel = servers_window("creator")
    run(qloop, until(lambda: any(r.server.name == "stand-in-2" for r in panel.rows), what="the servers"))
    panel.select("stand-in-2")
    assert panel.refresh.isEnabled()
    for button in (panel.add, panel.drain, panel.resume, panel.remove):
        assert not button.isEnabled()
        assert button.toolTip() == ADMIN_ONLY
    assert _cells(panel, "stand-in-2")["Capabilities"] == "not checked yet"
    panel.refresh.click()
    run(qloop, until(lambda: panel.message.text().startswith("ComfyUI "), what="the check"))
    assert _cells(panel, "stand-in-2")["State"] == "Online"
    assert "node types" in _cells(panel, "stand-in-2")["Capabilities"]
    assert _state(secure_studio, "stand-in-2") == (ServerStatus.ONLINE, True)


def test_the_poll_runs_from_the_start_until_the_windows_shutdown(
    qloop: qasync.QEventLoop, servers_window: Callable[[str], ServersPanel]
) -> None:
    panel = servers_window("creator")
    window = panel.window()
    assert isinstance(window, MainWindow)
    assert panel.polling()
    run(qloop, until(lambda: panel.rows, what="the first read"))
    run(qloop, window.shutdown())  # the panel's shutdown step
    assert not panel.polling()


def test_a_window_left_open_is_shut_down_and_deleted_by_the_harness_and_a_panels_poll_dies_with_it(
    qloop: qasync.QEventLoop,
    qapp: QApplication,
    services_as: Callable[[str], WindowServices],
    secure_studio: SecureStudio,
    tmp_path: Path,
) -> None:
    studio = open_studio(LaunchOptions(database_url=secure_studio.url("creator"), home=str(tmp_path / "creator")))
    try:
        panels: PanelRegistry = default_panels()
        panels.register(servers_panel_spec(studio))
        window = MainWindow(services_as("creator"), panels=panels, use_tray=False)  # not window_for: left open
        window.show()
        run(qloop, window.start())
        panel = window.panel("servers", ServersPanel)
        assert panel is not None
        assert panel.polling()
        # a panel on its own (no window, no shutdown step): its poll timer is its child and ends with it
        alone = ServersPanel(ServerBoardService(studio), window.tasks, window.notifier)
        alone.start()
        poll = alone.findChild(QTimer, "ServersPanel.poll")
        assert poll is not None
        assert poll.isActive()
        alone.deleteLater()
        settle(qloop)
        assert not shiboken6.isValid(poll)

        # what the qloop fixture does at teardown with a window the test left open
        assert shut_down_windows(qloop, qapp) == []
        assert not panel.polling()
        assert not window.isVisible()
        settle(qloop)
        assert not shiboken6.isValid(window)
    finally:
        studio.close()
