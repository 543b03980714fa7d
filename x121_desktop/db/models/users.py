"""Users aggregate: the studio user (one PostgreSQL login role each), private secrets, settings.

`user_secrets` and `user_settings` belong to their user (CASCADE); users themselves are
deactivated (`is_active = false`), never deleted, so every authored row keeps its author.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Text
from sqlalchemy.orm import Mapped, mapped_column

from x121_desktop.db.base import Base, Document, created_at, document, fk, flag, lookup_fk, pk, updated_at


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        # A valid unquoted PostgreSQL role name, so role DDL never needs quoting tricks.
        CheckConstraint(r"role_name ~ '^[a-z_][a-z0-9_]{0,62}$'", name="role_name_format"),
        CheckConstraint("length(btrim(display_name)) > 0", name="display_name_not_blank"),
    )

    id: Mapped[int] = pk()
    role_name: Mapped[str] = mapped_column(Text, unique=True)
    """The PostgreSQL login role this user signs in as (`session_user`)."""
    display_name: Mapped[str]
    email: Mapped[str | None]
    user_role_id: Mapped[int] = lookup_fk("user_role")
    is_active: Mapped[bool] = flag(default=True)
    created_at: Mapped[datetime] = created_at()


class UserSecret(Base):
    """Private per-user data (API tokens and the like); RLS limits rows to their owner."""

    __tablename__ = "user_secrets"

    user_id: Mapped[int] = fk("users.id", ondelete="CASCADE", primary_key=True)
    data: Mapped[Document] = document()
    updated_at: Mapped[datetime] = updated_at()


class UserSetting(Base):
    """One per-user preference (`key` → jsonb value), roaming across workstations."""

    __tablename__ = "user_settings"

    user_id: Mapped[int] = fk("users.id", ondelete="CASCADE", primary_key=True)
    key: Mapped[str] = mapped_column(Text, primary_key=True)
    value: Mapped[Document] = document(empty_default=False)
    updated_at: Mapped[datetime] = updated_at()
