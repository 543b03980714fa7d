"""Schema revisions: upgrade, inspect, and refuse to run on a database at the wrong revision."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import psycopg
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.exc import DBAPIError

from x121_desktop.core.bundled import DataTree, data_path
from x121_desktop.core.errors import DatabaseError
from x121_desktop.db.engine import describe_url, explain_connect_error

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config(str(data_path(DataTree.ALEMBIC_INI)))
    cfg.set_main_option("script_location", str(data_path(DataTree.MIGRATIONS)))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise DatabaseError(
            "This X121 build has no schema migrations", "Reinstall X121 from a complete wheel or checkout"
        )
    return head


def known_revisions() -> set[str]:
    return {s.revision for s in ScriptDirectory.from_config(alembic_config()).walk_revisions()}


@dataclass(frozen=True, slots=True)
class SchemaStatus:
    current: str | None
    head: str

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head


def schema_status(engine: Engine) -> SchemaStatus:
    try:
        with engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
    except DBAPIError as exc:
        raise explain_connect_error(exc, engine.url) from exc
    return SchemaStatus(current=current, head=head_revision())


def require_current_schema(engine: Engine) -> SchemaStatus:
    """Refuse to work on a database whose schema this build does not match."""
    status = schema_status(engine)
    where = describe_url(engine.url)
    if status.current is None:
        raise DatabaseError(
            f"The database at {where} has no X121 schema yet",
            "Run `x121 db upgrade` as the database superuser (it creates the studio roles) to create it",
        )
    if status.current not in known_revisions():
        raise DatabaseError(
            f"The database at {where} is at schema revision {status.current}, newer than this X121 knows",
            "Update X121 on this workstation to the studio's version",
        )
    if not status.up_to_date:
        raise DatabaseError(
            f"The database at {where} is at schema revision {status.current} but this X121 needs {status.head}",
            "Back it up, then run `x121 db upgrade` as the database superuser",
        )
    return status


def upgrade(engine: Engine, revision: str = "head") -> SchemaStatus:
    """Apply migrations in one transaction: a failure leaves the database as it was."""
    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), revision)
    except (DBAPIError, psycopg.Error) as exc:  # revisions that run raw SQL raise the driver's own errors
        raise DatabaseError(
            f"Upgrading the schema of {describe_url(engine.url)} failed: "
            f"{str(getattr(exc, 'orig', exc)).strip().splitlines()[0]}",
            "Nothing was changed; connect as the database superuser and try again",
        ) from exc
    return schema_status(engine)
