"""LibraryPanel (pytest-qt, offscreen) on the real LibraryService and a real database.

A qasync loop runs asyncio on Qt's event loop as in the app, running for the whole test
(tests/ui/qt_loop.py); each test drives the panel inside `run(loop, ...)`. Bulk edit is proven to be
one transaction twice over: every row it changes carries the same `updated_at` (PostgreSQL's now() is
the transaction's start), and a row the database refuses leaves every row as it was.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import qasync
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from tests.services.library_seed import seed_library
from tests.ui.studio_fixtures import qloop, run
from x121_desktop.db.embedded import EmbeddedServer
from x121_desktop.db.engine import session_factory
from x121_desktop.db.migrate import upgrade
from x121_desktop.services.library import EditField, ItemKind, LibraryService
from x121_desktop.services.runtime import Runtime
from x121_desktop.ui.panels import library as panel_module
from x121_desktop.ui.panels.library import LibraryPanel
from x121_desktop.ui.qmodels.library_model import COLUMNS
from x121_desktop.ui.widgets.bulk_edit import BulkEditDialog
from x121_desktop.ui.widgets.thumbnail_grid import STRIP_FRAMES

Scenario = Callable[[], Coroutine[Any, Any, None]]


__all__ = ["qloop"]


@pytest.fixture(scope="module")
def small_library(
    new_database: Callable[[], str], pg_server: EmbeddedServer, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, dict[str, Any], Path]:
    url = new_database()
    engine = create_engine(url, pool_size=1)
    upgrade(engine)
    engine.dispose()
    name = make_url(url).database
    assert name is not None
    conninfo = pg_server.conninfo(name)
    home = tmp_path_factory.mktemp("ui-library")
    with psycopg.connect(**conninfo) as conn:
        seed_library(conn, home / "media", characters=20, takes_per_character=4, videos=10, prefix="ui")
    return url, conninfo, home  # 20 characters + 40 seeds + 80 takes + 10 videos = 150 items


@pytest.fixture
def loop(qloop: qasync.QEventLoop) -> qasync.QEventLoop:
    """The window tests' running loop (tests/ui/qt_loop.py)."""
    return qloop


@pytest.fixture
def panel(
    small_library: tuple[str, dict[str, Any], Path], qtbot: QtBot, loop: asyncio.AbstractEventLoop
) -> Iterator[LibraryPanel]:
    url, _conninfo, home = small_library
    engine = create_engine(url, pool_size=2)
    runtime = Runtime()
    service = LibraryService(session_factory(engine), runtime, home / "media", home / "cache")
    widget = LibraryPanel(service)
    qtbot.addWidget(widget)
    widget.resize(900, 600)
    widget.show()
    yield widget
    run(loop, widget.shutdown())
    runtime.shutdown()
    engine.dispose()


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def db_rows(conninfo: dict[str, Any], sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(**conninfo) as conn:
        return conn.execute(sql, args).fetchall()


def test_grid_and_sheet_share_rows_and_selection_and_thumbnails_load_lazily(
    panel: LibraryPanel, loop: asyncio.AbstractEventLoop
) -> None:
    async def scenario() -> None:
        await panel.reload()
        assert panel.model.rowCount() == panel.model.total == 150
        view = panel.grid.viewport().rect()
        visible = [r for r in range(150) if panel.grid.visualRect(panel.model.index(r, 0)).intersects(view)]
        on_screen = {panel.model.item(r).file_id for r in visible}
        assert 0 < len(visible) < 150
        await until(lambda: all(panel.cache.get(f) is not None for f in on_screen if f is not None))
        # Only what the grid painted was asked for: nothing off screen was loaded.
        off_screen = {panel.model.item(r).file_id for r in range(150)} - on_screen
        assert off_screen
        assert not [f for f in off_screen if f is not None and panel.cache.has(f)]
        panel.show_view("sheet")
        assert panel.stack.currentWidget() is panel.sheet
        panel.select_rows([0, 2, 5])
        assert {i.row() for i in panel.grid.selectionModel().selectedRows()} == {0, 2, 5}
        assert len(panel.selected_items()) == 3
        assert panel.edit_button.isEnabled()

    run(loop, scenario())


def test_sorting_by_a_column_header_reloads_in_database_order(
    panel: LibraryPanel, loop: asyncio.AbstractEventLoop
) -> None:
    async def scenario() -> None:
        await panel.reload()
        panel.show_view("sheet")
        panel.kind.setCurrentIndex(1)  # characters
        await until(lambda: panel.model.total == 20)
        name_col = next(n for n, (key, _) in enumerate(COLUMNS) if key == "name")
        panel.sheet.sortByColumn(name_col, Qt.SortOrder.DescendingOrder)
        await until(lambda: panel.model.rowCount() > 0 and panel.model.item(0).name == "ui character 00019")
        assert [panel.model.item(r).name for r in range(3)] == [f"ui character {n:05d}" for n in (19, 18, 17)]

    run(loop, scenario())


def test_scrolling_to_the_end_fetches_the_next_page(
    panel: LibraryPanel, loop: asyncio.AbstractEventLoop, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(panel_module, "PAGE_SIZE", 40)

    async def scenario() -> None:
        await panel.reload()
        assert panel.model.rowCount() == 40
        for _ in range(6):
            panel.grid.scrollToBottom()
            await asyncio.sleep(0.1)
        await until(lambda: panel.model.rowCount() == 150)
        assert len({panel.model.item(r).key for r in range(150)}) == 150

    run(loop, scenario())


def test_bulk_edit_from_the_dialog_commits_one_transaction(
    panel: LibraryPanel, loop: asyncio.AbstractEventLoop, small_library: tuple[str, dict[str, Any], Path]
) -> None:
    conninfo = small_library[1]

    async def scenario() -> None:
        await panel.reload()
        panel.kind.setCurrentIndex(3)  # takes
        await until(lambda: panel.model.total == 80)
        panel.select_rows(range(10))
        dialog = panel.open_bulk_edit()
        assert isinstance(dialog, BulkEditDialog)
        dialog.field.setCurrentIndex(list(EditField).index(EditField.NOTES))
        dialog.replace_edit.setText("needs grade")
        assert dialog.table.rowCount() == 10
        assert "10 of 10" in dialog.summary.text()
        committed: list[int] = []
        panel.edit_committed.connect(committed.append)
        dialog.apply_button.click()
        await until(lambda: committed == [10])
        ids = [panel.model.item(r).key.id for r in range(10)]
        assert all(panel.model.item(r).notes == "needs grade" for r in range(10))
        rows = db_rows(conninfo, "SELECT notes, updated_at FROM library_meta WHERE take_id = ANY(%s)", ids)
        assert len(rows) == 10
        assert {r[0] for r in rows} == {"needs grade"}
        assert len({r[1] for r in rows}) == 1  # now() is the transaction's start: one transaction

    run(loop, scenario())


def test_a_refused_row_rolls_back_the_whole_bulk_edit(
    panel: LibraryPanel, loop: asyncio.AbstractEventLoop, small_library: tuple[str, dict[str, Any], Path]
) -> None:
    conninfo = small_library[1]

    async def scenario() -> None:
        await panel.reload()
        panel.kind.setCurrentIndex(2)  # seeds
        await until(lambda: panel.model.total == 40)
        panel.select_rows(range(8))
        keys = [i.key for i in panel.selected_items()]
        dialog = panel.open_bulk_edit()
        assert dialog is not None
        dialog.replace_edit.setText("ok")  # title := "ok" on all 8
        dialog.apply_button.click()
        await until(lambda: all(panel.model.item(r).title == "ok" for r in range(8)))
        panel.select_rows([7])
        long_one = panel.open_bulk_edit()
        assert long_one is not None
        long_one.replace_edit.setText("ok" * 60)  # 120 characters
        long_one.apply_button.click()
        await until(lambda: panel.model.item(7).title == "ok" * 60)
        errors: list[str] = []
        panel.error_reported.connect(errors.append)
        panel.select_rows(range(8))
        doubling = panel.open_bulk_edit()
        assert doubling is not None
        doubling.find_edit.setText("ok")
        doubling.replace_edit.setText("okay")  # row 8 would be 240 > 200 characters
        assert doubling.table.rowCount() == 8
        doubling.apply_button.click()
        await until(lambda: bool(errors))
        assert "nothing was changed" in errors[0]
        titles = db_rows(
            conninfo,
            "SELECT title FROM library_meta WHERE seed_image_id = ANY(%s) ORDER BY seed_image_id",
            [k.id for k in keys],
        )
        assert sorted(t for (t,) in titles) == sorted(["ok"] * 7 + ["ok" * 60])
        assert [panel.model.item(r).title for r in range(7)] == ["ok"] * 7

    run(loop, scenario())


def test_pins_and_the_pinned_filter(panel: LibraryPanel, loop: asyncio.AbstractEventLoop) -> None:
    async def scenario() -> None:
        await panel.reload()
        panel.select_rows([1, 4])
        chosen = {i.key for i in panel.selected_items()}
        await panel.pin_selected(True)
        assert all(panel.model.item(r).pinned for r in (1, 4))
        panel.pinned_only.setChecked(True)
        await until(lambda: panel.model.total == 2)
        assert {panel.model.item(r).key for r in range(2)} == chosen
        panel.select_rows([0, 1])
        await panel.pin_selected(False)
        panel.pinned_only.setChecked(False)
        panel.pinned_only.setChecked(True)
        await until(lambda: panel.model.total == 0)

    run(loop, scenario())


def test_hovering_a_video_scrubs_through_its_strip(panel: LibraryPanel, loop: asyncio.AbstractEventLoop) -> None:
    async def scenario() -> None:
        panel.kind.setCurrentIndex(4)  # videos (takes and exports)
        await until(lambda: panel.model.total == 90)
        row = 0
        assert panel.model.item(row).key.kind in (ItemKind.TAKE, ItemKind.VIDEO)
        file_id = panel.model.item(row).file_id
        assert file_id is not None
        panel.grid.scrub_to(row, 0.05)
        panel.grid.viewport().repaint()
        await until(lambda: panel.cache.get(file_id, STRIP_FRAMES) is not None)
        rect = panel.grid.visualRect(panel.model.index(row, 0))
        panel.grid.viewport().repaint()
        early = panel.grid.viewport().grab(rect).toImage()
        panel.grid.scrub_to(row, 0.95)
        panel.grid.viewport().repaint()
        late = panel.grid.viewport().grab(rect).toImage()
        assert early != late
        panel.grid.scrub_to(-1, 0.0)

    run(loop, scenario())
