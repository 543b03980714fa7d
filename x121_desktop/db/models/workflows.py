"""Workflows aggregate: a named ComfyUI workflow and its immutable, numbered versions.

Versions go with their workflow (CASCADE, same aggregate); scenes, jobs and seed provenance
refer to a version with RESTRICT, so a workflow that was ever used cannot be deleted.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CHAR, CheckConstraint, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from x121_desktop.db.base import Base, Document, created_at, document, fk, flag, pk, text_default, user_fk


class Workflow(Base):
    __tablename__ = "workflows"
    __table_args__ = (CheckConstraint("length(btrim(name)) > 0", name="name_not_blank"),)

    id: Mapped[int] = pk()
    name: Mapped[str] = mapped_column(Text, unique=True)
    description: Mapped[str] = text_default()
    is_archived: Mapped[bool] = flag()
    created_by: Mapped[int] = user_fk()
    created_at: Mapped[datetime] = created_at()


class WorkflowVersion(Base):
    """One saved version: UI JSON (optional), API JSON, and the parameter manifest."""

    __tablename__ = "workflow_versions"
    __table_args__ = (
        UniqueConstraint("workflow_id", "version_no"),
        UniqueConstraint("content_hash", "workflow_id"),
        CheckConstraint("version_no >= 1", name="version_no_positive"),
        CheckConstraint("content_hash ~ '^[0-9a-f]{64}$'", name="content_hash_hex"),
    )

    id: Mapped[int] = pk()
    workflow_id: Mapped[int] = fk("workflows.id", ondelete="CASCADE")
    version_no: Mapped[int]
    content_hash: Mapped[str] = mapped_column(CHAR(64))
    """sha256 of the canonical API JSON + manifest; equal content is never saved twice."""
    ui_json: Mapped[Document | None] = document(nullable=True)
    api_json: Mapped[Document] = document(empty_default=False)
    manifest: Mapped[Document] = document()
    """Parameter name → node input mapping (see workflows/ manifests)."""
    note: Mapped[str] = text_default()
    created_by: Mapped[int] = user_fk()
    created_at: Mapped[datetime] = created_at()
