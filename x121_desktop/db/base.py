"""Declarative base, naming convention and column helpers shared by every model.

Conventions (ARCHITECTURE §5):
- Constraint and index names follow `NAMING_CONVENTION`, so Alembic revisions can name them.
- Every status, role or kind is a `smallint` FK to a lookup table: use `lookup_fk()`.
- Foreign keys always state ON DELETE: `RESTRICT` is the norm; `CASCADE` only inside one
  aggregate; `SET NULL` only for optional pointers in logs and ephemeral rows.
- Timestamps are `timestamptz` with a server default of `now()`.
- Documents (workflow JSON, manifests, metrics) are `jsonb`.
- Models carry no relationships by default; any that are added must be `lazy="raise"` so
  rows never load behind a caller's back (ids cross layers, not rows).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Double,
    ForeignKey,
    Integer,
    MetaData,
    SmallInteger,
    Text,
    Uuid,
    false,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, MappedColumn, mapped_column

NAMING_CONVENTION: dict[str, str] = {
    "pk": "pk_%(table_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "ix": "ix_%(column_0_label)s",
}

OnDelete = Literal["RESTRICT", "CASCADE", "SET NULL", "NO ACTION"]

Document = dict[str, Any]
"""A jsonb document (workflow JSON, manifest, metrics, parameters)."""


class Base(DeclarativeBase):
    """The one declarative base; `Base.metadata` is complete once `db.models` is imported."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads this class attribute
        str: Text(),
        int: Integer(),
        float: Double(),
        bool: Boolean(),
        datetime: DateTime(timezone=True),
        uuid.UUID: Uuid(),
        Document: JSONB(),
    }


class LookupMixin:
    """A lookup table row: fixed smallint id, unique code, human label (seeded by migrations)."""

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    code: Mapped[str] = mapped_column(Text, unique=True)
    label: Mapped[str] = mapped_column(Text)


def pk() -> MappedColumn[Any]:
    """A serial integer primary key."""
    return mapped_column(Integer, primary_key=True)


def big_pk() -> MappedColumn[Any]:
    """A bigserial primary key for append-only, high-volume tables."""
    return mapped_column(BigInteger, primary_key=True)


def lookup_fk(
    table: str, *, nullable: bool = False, index: bool = False, primary_key: bool = False
) -> MappedColumn[Any]:
    """A `smallint` FK to lookup table `table` (ON DELETE RESTRICT: lookup rows never go)."""
    return mapped_column(
        SmallInteger,
        ForeignKey(f"{table}.id", ondelete="RESTRICT"),
        nullable=nullable,
        index=index,
        primary_key=primary_key,
    )


def fk(
    target: str,
    *,
    ondelete: OnDelete = "RESTRICT",
    nullable: bool = False,
    index: bool = False,
    use_alter: bool = False,
    primary_key: bool = False,
    type_: type[Integer] = Integer,
) -> MappedColumn[Any]:
    """An integer FK to `target` ("table.column") with an explicit ON DELETE rule."""
    return mapped_column(
        type_,
        ForeignKey(target, ondelete=ondelete, use_alter=use_alter),
        nullable=nullable,
        index=index,
        primary_key=primary_key,
    )


def user_fk(*, nullable: bool = False, index: bool = False) -> MappedColumn[Any]:
    """created_by / author / owner: a user id (RESTRICT: users are deactivated, never deleted).

    The security migration gives these columns a default of the calling user's id.
    """
    return fk("users.id", nullable=nullable, index=index)


def created_at() -> MappedColumn[Any]:
    """`timestamptz not null default now()`."""
    return mapped_column(DateTime(timezone=True), server_default=func.now())


def updated_at() -> MappedColumn[Any]:
    """`timestamptz not null default now()`, refreshed by the ORM on update."""
    return mapped_column(DateTime(timezone=True), server_default=func.now(), onupdate=func.now())


def flag(*, default: bool = False) -> MappedColumn[Any]:
    """`boolean not null` with a server default."""
    return mapped_column(Boolean, server_default=text("true") if default else false())


def document(*, nullable: bool = False, empty_default: bool = True) -> MappedColumn[Any]:
    """A `jsonb` document column; non-null ones default to `'{}'`."""
    if nullable or not empty_default:
        return mapped_column(JSONB, nullable=nullable)
    return mapped_column(JSONB, server_default=text("'{}'::jsonb"))


def text_default() -> MappedColumn[Any]:
    """`text not null default ''` (notes, descriptions, prompts)."""
    return mapped_column(Text, server_default=text("''"))
