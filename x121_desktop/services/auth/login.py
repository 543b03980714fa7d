"""Signing in as a chosen studio login, and what this computer remembers of the last sign-in.

A studio user is a PostgreSQL login role, so "who you are" is the user name in the database URL. Signing
in as someone else opens the studio with that user name in the URL (`login_url`) and their password: the
one typed, else the one the keyring keeps for them. The embedded single-user database has no passwords
(its socket trusts this computer's account): there a switch connects as the chosen login directly.

`LoginMemory` keeps, per shared database, the user name that signed in last and whether that person
signed out, in `<X121 home>/last-login.json` (no password ever goes there). The next start signs in as
that user, and asks (prefilled) instead of using the keyring silently when they had signed out.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from x121_desktop.core.errors import DatabaseError
from x121_desktop.db.embedded import SUPERUSER, start_embedded
from x121_desktop.db.engine import DatabaseTarget, check_connection, make_engine, parse_url, session_factory
from x121_desktop.db.migrate import require_current_schema
from x121_desktop.services.auth.credentials import CredentialStore, database_key
from x121_desktop.services.bootstrap import (
    PASSWORD_ENV,
    DatabaseInfo,
    LaunchOptions,
    Studio,
    chosen_database_url,
    open_studio,
)
from x121_desktop.settings.model import load_settings
from x121_desktop.settings.paths import resolve_home

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)

MEMORY_FILE = "last-login.json"
NOT_KEPT = "The password was not kept in the keyring (you chose not to); you will be asked next time."


@dataclass(frozen=True, slots=True)
class Credentials:
    """What a person gives to sign in."""

    user: str
    """The studio login (PostgreSQL role name)."""
    password: str = ""
    """Empty: use the password this computer's keyring keeps for `user` (the embedded database needs none)."""
    remember: bool = True
    """Keep a typed password in the keyring."""


@dataclass(frozen=True, slots=True)
class LastLogin:
    user: str
    signed_out: bool


def database_url(options: LaunchOptions) -> str | None:
    """The shared database these options open (flag, environment, settings.toml), or None: the embedded one."""
    return chosen_database_url(options, load_settings(resolve_home(options.home)))


def url_user(url: str) -> str | None:
    return parse_url(url).username


def login_url(url: str, user: str, password: str | None = None) -> str:
    """`url` signing in as `user` (with `password`, or none so the keyring or a prompt supplies it)."""
    return parse_url(url).set(username=user, password=password).render_as_string(hide_password=False)


def has_explicit_password(url: str) -> bool:
    """The URL or X121_DATABASE_PASSWORD carries a password: its user name is then meant, not the last login."""
    return parse_url(url).password is not None or os.environ.get(PASSWORD_ENV) is not None


def open_as(options: LaunchOptions, credentials: Credentials) -> Studio:
    """Open the studio as `credentials.user`; raises DatabaseError sentences (a wrong password names it).

    On the shared database a typed password is kept in the keyring when the person chose so (the studio's
    notices say what happened), and the login is remembered as the last one on this computer.
    """
    url = database_url(options)
    if url is None:
        return open_embedded_as(options, credentials.user)
    store = CredentialStore()
    password = credentials.password or store.get(url, credentials.user)
    if not password:
        raise DatabaseError(
            f"No password for {credentials.user!r} is kept on this computer",
            "Type the password (an admin can reset it with `x121 user passwd`)",
        )
    studio = open_studio(replace(options, database_url=login_url(url, credentials.user, password)))
    if credentials.password:
        kept = store.put(url, credentials.user, password).message if credentials.remember else NOT_KEPT
        studio.database = replace(studio.database, notices=(*studio.database.notices, kept))
    LoginMemory(studio.paths.home).signed_in(url, credentials.user)
    return studio


def open_embedded_as(options: LaunchOptions, role: str) -> Studio:
    """The embedded single-user database as `role`: its socket trusts this computer's account, so no password."""
    if role == SUPERUSER:
        return open_studio(replace(options, database_url=None))
    paths = resolve_home(options.home)
    settings = load_settings(paths)
    server = start_embedded(paths.pgdata)
    engine: Engine | None = None
    try:
        engine = make_engine(DatabaseTarget(server.url(user=role)))
        version = check_connection(engine)
        schema = require_current_schema(engine)  # the owner keeps it current when it signs in
        info = DatabaseInfo(f"embedded database in {paths.pgdata} as {role}", True, version, schema)
        return Studio(paths, settings, engine, session_factory(engine), info, embedded=server)
    except BaseException:
        if engine is not None:
            engine.dispose()
        server.release()
        raise


def forget_password(options: LaunchOptions, user: str) -> bool:
    """Remove `user`'s password for this database from the keyring; False when none was kept."""
    url = database_url(options)
    return url is not None and CredentialStore().forget(url, user)


def password_is_kept(options: LaunchOptions, user: str) -> bool:
    url = database_url(options)
    return url is not None and CredentialStore().get(url, user) is not None


class LoginMemory:
    """The last login per shared database on this computer, in `<home>/last-login.json`."""

    def __init__(self, home: Path) -> None:
        self.file = home / MEMORY_FILE

    def last(self, url: str) -> LastLogin | None:
        entry = self._read().get(database_key(url))
        if not isinstance(entry, dict) or not isinstance(entry.get("user"), str) or not entry["user"]:
            return None
        return LastLogin(entry["user"], entry.get("signed_out") is True)

    def signed_in(self, url: str, user: str) -> None:
        self._write(url, LastLogin(user, signed_out=False))

    def signed_out(self, url: str, user: str) -> None:
        self._write(url, LastLogin(user, signed_out=True))

    def _read(self) -> dict[str, object]:
        try:
            data = json.loads(self.file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _write(self, url: str, entry: LastLogin) -> None:
        data = self._read()
        data[database_key(url)] = {"user": entry.user, "signed_out": entry.signed_out}
        tmp = self.file.with_suffix(".tmp")
        try:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")
            os.replace(tmp, self.file)
        except OSError as exc:  # only a convenience: the next start then uses the URL's user name
            log.warning("could not remember the last login in %s: %s", self.file, exc)
            with contextlib.suppress(OSError):
                tmp.unlink()
