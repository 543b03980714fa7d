"""Per-user settings in the database (`user_settings`: user, key → jsonb), roaming across workstations.

Each change is one transaction. Rows always belong to the signed-in studio user
(`x121_current_user_id()`, the column default); queries also filter on it explicitly, because the
embedded single-user mode connects as a superuser, which row-level security does not restrict.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from x121_desktop.core.errors import InvalidInput, PermissionDenied
from x121_desktop.services.runtime import Runtime
from x121_desktop.services.transactions import session_transaction

KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")
MAX_KEY_LENGTH = 120
MAX_VALUE_BYTES = 1_000_000

#: Well-known keys (others may add theirs; keys are dotted, lower case).
THEME_KEY = "ui.theme"
KEYMAP_KEY = "ui.keymap"
KEYMAP_OVERRIDES_KEY = "ui.keymap_overrides"
LAYOUT_KEY = "ui.layout.main_window"
FOCUS_MODE_KEY = "ui.focus_mode"

_ME = "(SELECT x121_current_user_id())"


def check_key(key: str) -> str:
    if len(key) > MAX_KEY_LENGTH or not KEY_PATTERN.match(key):
        raise InvalidInput(f"{key!r} is not a usable settings key", "Use dotted lower-case words, e.g. ui.theme")
    return key


def _encode(key: str, value: Any) -> str:
    try:
        document = json.dumps(value, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(
            f"The value for setting {key!r} cannot be stored as JSON ({exc})", "Store plain data"
        ) from None
    if len(document) > MAX_VALUE_BYTES:
        raise InvalidInput(f"The value for setting {key!r} is larger than 1 MB", "Store something smaller")
    return document


class PreferencesService:
    """Get and set the signed-in user's settings; blocking work runs in the studio's executors."""

    def __init__(self, sessions: sessionmaker[Session], runtime: Runtime) -> None:
        self._sessions = sessions
        self._runtime = runtime

    async def get(self, key: str, default: Any = None) -> Any:
        check_key(key)

        def work(session: Session) -> Any:
            row = session.execute(
                text(f"SELECT value FROM user_settings WHERE user_id = {_ME} AND key = :key"), {"key": key}
            ).one_or_none()
            return default if row is None else row[0]

        return await self._read(f"read your setting {key!r}", work)

    async def get_many(self, prefix: str = "") -> dict[str, Any]:
        """Every setting whose key starts with `prefix` (all of them for "")."""

        def work(session: Session) -> dict[str, Any]:
            rows = session.execute(
                text(
                    f"SELECT key, value FROM user_settings WHERE user_id = {_ME} "
                    "AND starts_with(key, :prefix) ORDER BY key"
                ),
                {"prefix": prefix},
            ).all()
            return {str(k): v for k, v in rows}

        return await self._read("read your settings", work)

    async def set(self, key: str, value: Any) -> None:
        """Store one setting (insert or replace) in its own transaction."""
        check_key(key)
        document = _encode(key, value)

        def work(session: Session) -> None:
            me = session.execute(text(f"SELECT {_ME}")).scalar_one_or_none()
            if me is None:
                raise PermissionDenied(
                    "This database session is not a studio user, so settings cannot be saved for it",
                    "Sign in with your own studio login (ask an admin for one with `x121 user add`)",
                )
            session.execute(
                text(
                    "INSERT INTO user_settings (user_id, key, value) VALUES (:me, :key, CAST(:value AS jsonb)) "
                    "ON CONFLICT (user_id, key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()"
                ),
                {"me": me, "key": key, "value": document},
            )

        await self._write(f"save your setting {key!r}", work)

    async def set_many(self, values: Mapping[str, Any]) -> None:
        """Store several settings together (one transaction: all or none)."""
        for key in values:
            check_key(key)
        documents = {key: _encode(key, value) for key, value in values.items()}

        def work(session: Session) -> None:
            for key, document in documents.items():
                session.execute(
                    text(
                        "INSERT INTO user_settings (user_id, key, value) "
                        f"VALUES ({_ME}, :key, CAST(:value AS jsonb)) "
                        "ON CONFLICT (user_id, key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()"
                    ),
                    {"key": key, "value": document},
                )

        await self._write("save your settings", work)

    async def delete(self, key: str) -> bool:
        """Forget one setting; True if there was one."""
        check_key(key)

        def work(session: Session) -> bool:
            gone = session.execute(
                text(f"DELETE FROM user_settings WHERE user_id = {_ME} AND key = :key RETURNING key"), {"key": key}
            ).all()
            return bool(gone)

        return await self._write(f"forget your setting {key!r}", work)

    async def _write[T](self, doing: str, work: Callable[[Session], T]) -> T:
        return await self._runtime.run(self._runtime.db_writer, session_transaction, self._sessions, doing, work)

    async def _read[T](self, doing: str, work: Callable[[Session], T]) -> T:
        return await self._runtime.run(self._runtime.db_read, session_transaction, self._sessions, doing, work)
