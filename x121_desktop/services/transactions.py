"""One user operation = one transaction, committed here; the database's refusals become sentences.

Services run these on the runtime's database executors (`runtime.run(runtime.db_writer,
in_transaction, studio, work)`): `work` gets the transaction's connection (or ORM session) and
returns a frozen value; the transaction commits when it returns and rolls back if it raises.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlalchemy.exc import DBAPIError

from x121_desktop.core.errors import DatabaseError, InvalidInput, NotFound, PermissionDenied, X121Error
from x121_desktop.db.engine import translate_db_error

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine
    from sqlalchemy.orm import Session, sessionmaker

    from x121_desktop.services.bootstrap import Studio

LOCK_NOT_AVAILABLE = "55P03"
"""SQLSTATE of the segment-lock guard (revision 0006)."""


def explain_refusal(exc: DBAPIError, doing: str) -> X121Error:
    """The server's own sentence (and hint) as the matching X121 error."""
    orig = getattr(exc, "orig", None)
    code = getattr(orig, "sqlstate", None)
    diag = getattr(orig, "diag", None)
    message = (getattr(diag, "message_primary", None) or str(orig or exc)).strip().splitlines()[0]
    hint = (getattr(diag, "message_hint", None) or "").strip()
    if code == "42501":
        return PermissionDenied(f"The database refused to {doing}: {message}", hint or "Ask a studio admin")
    if code in ("P0002", "no_data_found"):
        return NotFound(f"Cannot {doing}: {message}", hint or "Check the name with `x121 user list`")
    if code in ("22023", "42710", "23505", "23514"):
        return InvalidInput(f"Cannot {doing}: {message}", hint)
    return DatabaseError(f"Could not {doing}: {message}", hint)


def in_transaction[T](studio: Studio, work: Callable[[Connection], T]) -> T:
    """`work` in one transaction on the studio's engine; a segment lock's refusal says who holds it."""
    try:
        with studio.engine.begin() as conn:
            return work(conn)
    except DBAPIError as exc:
        orig = getattr(exc, "orig", None)
        if getattr(orig, "sqlstate", None) == LOCK_NOT_AVAILABLE:
            message = str(orig).strip().splitlines()[0]
            raise PermissionDenied(
                message[:1].upper() + message[1:], "Wait for the lock to be released, or ask an admin to break it"
            ) from exc
        raise translate_db_error(exc) from exc


def engine_transaction[T](engine: Engine, doing: str, work: Callable[[Connection], T]) -> T:
    """`work` in one transaction; a refusal is said as "… to <doing>: <the server's sentence>"."""
    try:
        with engine.begin() as conn:
            return work(conn)
    except DBAPIError as exc:
        raise explain_refusal(exc, doing) from exc


def session_transaction[T](
    sessions: sessionmaker[Session],
    doing: str,
    work: Callable[[Session], T],
    explain: Callable[[DBAPIError, str], X121Error] = explain_refusal,
) -> T:
    """`work` in one ORM session's transaction; refusals as in `engine_transaction` (or as `explain` says)."""
    try:
        with sessions.begin() as session:
            return work(session)
    except DBAPIError as exc:
        raise explain(exc, doing) from exc
