"""Revision 0018: a Seed A/B image's file row only ever gets stricter, for every login but the superuser.

Real login roles (tests/db/security_studio.py: `file_a` and `file_b` are its seed images' files, `file_free`
no seed's). Admins hold UPDATE and DELETE on `files`; on a seed's file they may still raise the retention
class, and nothing else (deleting it is refused by the seed's foreign key: tests/db/test_seed_permanence.py).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import create_engine

from tests.db.job_rights_studio import Rights, rights
from tests.db.security_studio import SUPERUSER, secure_studio
from x121_desktop.core.enums import RetentionClass

__all__ = ["rights", "secure_studio"]

RESTRICT = "23001"


def _retention_sql(retention: RetentionClass) -> str:
    return f"UPDATE files SET retention_class_id = {int(retention)} WHERE id = %s"


@pytest.mark.parametrize("start", [RetentionClass.WORKING, RetentionClass.PERMANENT])
def test_an_admin_may_only_raise_a_seed_files_retention(rights: Rights, start: RetentionClass) -> None:
    s = rights.studio
    seed_file, free = s.ids["file_a"], s.ids["file_free"]
    with s.connect(SUPERUSER) as conn:  # a superuser repairs: it may set any class
        conn.execute(_retention_sql(start), (seed_file,))
        conn.commit()
    stricter = [r for r in RetentionClass if r.value < start.value]
    weaker = [r for r in RetentionClass if r.value > start.value]
    for retention in stricter:
        assert rights.act("admin", _retention_sql(retention), seed_file) == "ok", retention
    for retention in weaker:
        assert rights.act("admin", _retention_sql(retention), seed_file) == RESTRICT, retention
    for sql in (
        "UPDATE files SET rel_path = 'elsewhere/seed.png' WHERE id = %s",
        "UPDATE files SET sha256 = repeat('0', 64) WHERE id = %s",
        "UPDATE files SET size_bytes = 1 WHERE id = %s",
    ):
        assert rights.act("admin", sql, seed_file) == RESTRICT, sql
    assert rights.act("admin", _retention_sql(RetentionClass.SCRATCH), free) == "ok"  # no seed's file: as before
    assert rights.act(SUPERUSER, _retention_sql(RetentionClass.SCRATCH), seed_file) == "ok"


def test_downgrade_removes_the_guard_and_upgrade_restores_it(new_database: Callable[[], str]) -> None:
    from alembic import command

    from x121_desktop.db.migrate import alembic_config, upgrade

    engine = create_engine(new_database())

    def guarded() -> bool:
        with engine.connect() as conn:
            found = conn.exec_driver_sql("SELECT count(*) FROM pg_trigger WHERE tgname = 'x121_guard_seed_files'")
            return bool(found.scalar_one())

    try:
        upgrade(engine)
        assert guarded()
        with engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0017")
        assert not guarded()
        assert upgrade(engine).up_to_date
        assert guarded()
    finally:
        engine.dispose()
