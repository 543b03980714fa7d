"""The engine pings a pooled connection only after it sat idle (`db.engine.PING_AFTER_IDLE_S`), on a real PostgreSQL.

A connection whose server process went away while it was idle in the pool is replaced on check-out
without an error; one handed back a moment ago is used without a ping (a round trip saved per
transaction), so losing the server in that moment shows once as an error and the pool then recovers.
"""

from __future__ import annotations

from collections.abc import Callable

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from x121_desktop.db.embedded import EmbeddedServer
from x121_desktop.db.engine import DatabaseTarget, make_engine


def _backend_pid(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _kill(server: EmbeddedServer, pid: int) -> None:
    with psycopg.connect(**server.conninfo("postgres"), autocommit=True) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone() == (True,)
        for _ in range(100):  # wait until it is really gone
            if admin.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone() == (0,):
                return
            admin.execute("SELECT pg_sleep(0.02)")


def test_an_idle_connection_whose_server_process_died_is_replaced_on_check_out(
    new_database: Callable[[], str], pg_server: EmbeddedServer
) -> None:
    engine = make_engine(DatabaseTarget(new_database()), pool_size=1, ping_after_idle_s=0.0)
    try:
        first = _backend_pid(engine)
        _kill(pg_server, first)
        second = _backend_pid(engine)  # pinged (idle ≥ 0 s), found dead, replaced: no error
        assert second != first
    finally:
        engine.dispose()


def test_a_connection_in_steady_use_is_not_pinged(new_database: Callable[[], str], pg_server: EmbeddedServer) -> None:
    engine = make_engine(DatabaseTarget(new_database()), pool_size=1, ping_after_idle_s=3600.0)
    try:
        first = _backend_pid(engine)
        _kill(pg_server, first)
        with pytest.raises(DBAPIError):  # handed out without a ping: the first statement finds it dead
            _backend_pid(engine)
        assert _backend_pid(engine) != first  # the pool dropped it; the next check-out connects afresh
    finally:
        engine.dispose()
