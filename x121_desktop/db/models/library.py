"""Library aggregate: what artists add to characters, seeds, takes and videos to find them again.

`library_meta` holds one row per library item that has any metadata (title, notes, tags): exactly
one of its four item pointers is set. The row belongs to its item and goes with it (CASCADE), the
way a file's hashes go with the file. `library_pins` are each user's favourites (private rows,
row-level security by `user_id`), pointing at a meta row (created empty on first pin).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, PrimaryKeyConstraint, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from x121_desktop.db.base import Base, created_at, fk, pk, text_default, updated_at, user_fk

TITLE_MAX = 200
TAGS_MAX = 32


class LibraryMeta(Base):
    __tablename__ = "library_meta"
    __table_args__ = (
        CheckConstraint("num_nonnulls(character_id, seed_image_id, take_id, file_id) = 1", name="one_item"),
        CheckConstraint(f"char_length(title) <= {TITLE_MAX}", name="title_length"),
        CheckConstraint(f"cardinality(tags) <= {TAGS_MAX} AND array_position(tags, '') IS NULL", name="tags_valid"),
        # One meta row per item (NULLs are distinct, so the other kinds never clash).
        UniqueConstraint("character_id"),
        UniqueConstraint("seed_image_id"),
        UniqueConstraint("take_id"),
        UniqueConstraint("file_id"),
    )

    id: Mapped[int] = pk()
    character_id: Mapped[int | None] = fk("characters.id", ondelete="CASCADE", nullable=True)
    seed_image_id: Mapped[int | None] = fk("seed_images.id", ondelete="CASCADE", nullable=True)
    take_id: Mapped[int | None] = fk("takes.id", ondelete="CASCADE", nullable=True)
    file_id: Mapped[int | None] = fk("files.id", ondelete="CASCADE", nullable=True)
    title: Mapped[str] = text_default()
    notes: Mapped[str] = text_default()
    tags: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'::text[]"))
    updated_at: Mapped[datetime] = updated_at()


class LibraryPin(Base):
    """A user's favourite (pin); private to that user (FORCE row-level security)."""

    __tablename__ = "library_pins"
    __table_args__ = (PrimaryKeyConstraint("user_id", "meta_id"),)

    user_id: Mapped[int] = user_fk()
    meta_id: Mapped[int] = fk("library_meta.id", ondelete="CASCADE", index=True)
    created_at: Mapped[datetime] = created_at()
