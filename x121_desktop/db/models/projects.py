"""Projects, characters and their seed images.

A project is archived, never deleted, and a character is its own aggregate (RESTRICT from
project). Seed images are permanent: RESTRICT from the character and the file, and the
security migration adds a trigger that rejects deleting or overwriting them.

Seed lineage: `parent_seed_id` is the seed a variant was derived from, `merged_from_seed_id`
the second input of a merge. Exactly one hero per (character, kind) via a partial unique index.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Index, Integer, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from x121_desktop.db.base import (
    Base,
    Document,
    created_at,
    document,
    fk,
    flag,
    lookup_fk,
    pk,
    text_default,
    updated_at,
    user_fk,
)


class Project(Base):
    __tablename__ = "projects"
    __table_args__ = (
        CheckConstraint("length(btrim(name)) > 0", name="name_not_blank"),
        CheckConstraint("fps_num > 0 AND fps_den > 0", name="fps_positive"),
        CheckConstraint("width > 0 AND height > 0", name="size_positive"),
    )

    id: Mapped[int] = pk()
    name: Mapped[str] = mapped_column(Text, unique=True)
    description: Mapped[str] = text_default()
    project_status_id: Mapped[int] = lookup_fk("project_status")
    fps_num: Mapped[int] = mapped_column(Integer, server_default=text("24"))
    fps_den: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    width: Mapped[int] = mapped_column(Integer, server_default=text("1280"))
    height: Mapped[int] = mapped_column(Integer, server_default=text("720"))
    settings: Mapped[Document] = document()
    """What the whole project shares (revision 0016): `seed_workflow` {"a"|"b": workflow name}."""
    created_by: Mapped[int] = user_fk()
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class Character(Base):
    __tablename__ = "characters"
    __table_args__ = (
        UniqueConstraint("project_id", "name"),
        CheckConstraint("length(btrim(name)) > 0", name="name_not_blank"),
    )

    id: Mapped[int] = pk()
    project_id: Mapped[int] = fk("projects.id")
    name: Mapped[str]
    character_mode_id: Mapped[int] = lookup_fk("character_mode")
    notes: Mapped[str] = text_default()
    created_by: Mapped[int] = user_fk()
    created_at: Mapped[datetime] = created_at()


class SeedImage(Base):
    __tablename__ = "seed_images"
    __table_args__ = (
        UniqueConstraint("character_id", "seed_kind_id", "file_id"),
        CheckConstraint("parent_seed_id <> id", name="parent_not_self"),
        CheckConstraint("merged_from_seed_id <> id", name="merged_from_not_self"),
        Index(
            "uq_seed_images_one_hero",
            "character_id",
            "seed_kind_id",
            unique=True,
            postgresql_where=text("is_hero"),
        ),
    )

    id: Mapped[int] = pk()
    character_id: Mapped[int] = fk("characters.id")
    seed_kind_id: Mapped[int] = lookup_fk("seed_kind")
    file_id: Mapped[int] = fk("files.id", index=True)
    seed_origin_id: Mapped[int] = lookup_fk("seed_origin")
    parent_seed_id: Mapped[int | None] = fk("seed_images.id", nullable=True, index=True)
    merged_from_seed_id: Mapped[int | None] = fk("seed_images.id", nullable=True)
    is_hero: Mapped[bool] = flag()
    # Provenance of generated and merged seeds.
    workflow_version_id: Mapped[int | None] = fk("workflow_versions.id", nullable=True)
    job_id: Mapped[int | None] = fk("jobs.id", nullable=True)
    params: Mapped[Document | None] = document(nullable=True)
    seed: Mapped[int | None] = mapped_column(BigInteger)
    note: Mapped[str] = text_default()
    created_by: Mapped[int] = user_fk()
    created_at: Mapped[datetime] = created_at()
