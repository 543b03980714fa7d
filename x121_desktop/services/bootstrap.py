"""The composition root: settings → database engine → executors. UI, CLI and tests receive what it builds.

Which database: `--database-url`, then `X121_DATABASE_URL`, then settings.toml, else the embedded
single-user server under the X121 home (started here, schema upgraded automatically because it is
this user's own). A shared database is never upgraded implicitly: a workstation at the wrong schema
revision refuses to start with a sentence saying what to run.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from x121_desktop.core.errors import DatabaseError
from x121_desktop.db.embedded import EmbeddedServer, start_embedded
from x121_desktop.db.engine import (
    DatabaseTarget,
    check_connection,
    describe_url,
    make_engine,
    parse_url,
    session_factory,
)
from x121_desktop.db.migrate import SchemaStatus, require_current_schema, upgrade
from x121_desktop.services.runtime import Runtime
from x121_desktop.settings.model import Settings, load_settings
from x121_desktop.settings.paths import StudioPaths, resolve_home

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)

DATABASE_URL_ENV = "X121_DATABASE_URL"
PASSWORD_ENV = "X121_DATABASE_PASSWORD"

# Asked for a password when the URL, the environment and the keyring have none: (url description) → password.
PasswordPrompt = Callable[[str], str | None]


@dataclass(frozen=True, slots=True)
class LaunchOptions:
    database_url: str | None = None
    home: str | None = None


@dataclass(frozen=True, slots=True)
class DatabaseInfo:
    """What the status bar and `x121 db status` show about the connection."""

    description: str
    embedded: bool
    server_version: str
    schema: SchemaStatus
    recovered_from_crash: bool = False
    notices: tuple[str, ...] = ()  # e.g. whether a typed password was kept in the keyring


@dataclass
class Studio:
    """Everything a front end needs; close() releases the database and the executors."""

    paths: StudioPaths
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    database: DatabaseInfo
    runtime: Runtime = field(default_factory=Runtime)
    embedded: EmbeddedServer | None = None
    _closed: bool = False

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.runtime.shutdown()
        self.engine.dispose()
        if self.embedded is not None:
            self.embedded.release()


def chosen_database_url(options: LaunchOptions, settings: Settings) -> str | None:
    return options.database_url or os.environ.get(DATABASE_URL_ENV) or settings.database_url


def open_studio(
    options: LaunchOptions,
    *,
    prompt_password: PasswordPrompt | None = None,
    stored_password: Callable[[str, str], str | None] | None = None,
    remember_password: Callable[[str, str, str], str] | None = None,
    require_schema: bool = True,
) -> Studio:
    """Build the studio services. Raises X121Error sentences; leaves nothing running on failure.

    stored_password(url, role) looks a password up (the keyring); remember_password(url, role, password)
    keeps one the person typed and returns a sentence saying whether it was kept; require_schema=False is for
    `x121 db upgrade`/`status`, which must work on a database at an older revision.
    """
    paths = resolve_home(options.home)
    settings = load_settings(paths)
    url = chosen_database_url(options, settings)
    if url is None:
        return _open_embedded(paths, settings)
    keyring = _Keyring(stored_password, remember_password)
    return _open_shared(paths, settings, url, prompt_password, keyring, require_schema)


def _open_embedded(paths: StudioPaths, settings: Settings) -> Studio:
    server = start_embedded(paths.pgdata)
    try:
        engine = make_engine(DatabaseTarget(server.url()))
        version = check_connection(engine)
        schema = upgrade(engine)  # the user's own database: keep it at this build's schema
        info = DatabaseInfo(
            description=f"embedded database in {paths.pgdata}",
            embedded=True,
            server_version=version,
            schema=schema,
            recovered_from_crash=bool(server.recovery.dead_handles_pruned or server.recovery.orphan_server_adopted),
        )
        return Studio(paths, settings, engine, session_factory(engine), info, embedded=server)
    except BaseException:
        server.release()
        raise


def _open_shared(
    paths: StudioPaths,
    settings: Settings,
    raw_url: str,
    prompt_password: PasswordPrompt | None,
    keyring: _Keyring,
    require_schema: bool,
) -> Studio:
    url = parse_url(raw_url)
    public_url = url.render_as_string(hide_password=True)
    password = url.password or os.environ.get(PASSWORD_ENV)
    if password is None and keyring.lookup is not None and url.username:
        password = keyring.lookup(public_url, url.username)
    engine = make_engine(DatabaseTarget(url.render_as_string(hide_password=False), password))
    notices: list[str] = []
    try:
        try:
            version = check_connection(engine)
        except DatabaseError as first:
            if password is not None or prompt_password is None or "password" not in first.problem:
                raise
            asked = prompt_password(describe_url(url))
            if not asked:
                raise
            engine.dispose()
            engine = make_engine(DatabaseTarget(url.render_as_string(hide_password=False), asked))
            version = check_connection(engine)
            if keyring.remember is not None and url.username:
                notices.append(keyring.remember(public_url, url.username, asked))
        schema = require_current_schema(engine) if require_schema else _status_only(engine)
        info = DatabaseInfo(
            description=describe_url(url),
            embedded=False,
            server_version=version,
            schema=schema,
            notices=tuple(notices),
        )
        return Studio(paths, settings, engine, session_factory(engine), info)
    except BaseException:
        engine.dispose()
        raise


@dataclass(frozen=True, slots=True)
class _Keyring:
    lookup: Callable[[str, str], str | None] | None
    remember: Callable[[str, str, str], str] | None


def _status_only(engine: Engine) -> SchemaStatus:
    from x121_desktop.db.migrate import schema_status

    return schema_status(engine)
