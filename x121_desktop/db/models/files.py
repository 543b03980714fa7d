"""Files aggregate: the content-addressed media store and what is derived from each file.

A file is fully written before its row commits. `image_hashes` and `face_embeddings` are
derived from one file and go with it (CASCADE); everything that *uses* a file (seed images,
takes, job outputs, annotations) refers to it with RESTRICT, so only orphans can be deleted.
"""

from __future__ import annotations

from datetime import datetime

from pgvector.sqlalchemy import BIT, VECTOR
from sqlalchemy import CHAR, BigInteger, CheckConstraint, Index, Integer, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from x121_desktop.db.base import Base, big_pk, created_at, fk, lookup_fk, pk, updated_at, user_fk

EMBEDDING_DIM = 128
PHASH_BITS = 64


class File(Base):
    __tablename__ = "files"
    __table_args__ = (
        CheckConstraint("sha256 ~ '^[0-9a-f]{64}$'", name="sha256_hex"),
        CheckConstraint("size_bytes >= 0", name="size_not_negative"),
        CheckConstraint("rel_path <> '' AND left(rel_path, 1) <> '/'", name="rel_path_relative"),
    )

    id: Mapped[int] = pk()
    sha256: Mapped[str] = mapped_column(CHAR(64), index=True)
    rel_path: Mapped[str] = mapped_column(Text, unique=True)
    """Path under the studio media root, with forward slashes."""
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    file_kind_id: Mapped[int] = lookup_fk("file_kind")
    retention_class_id: Mapped[int] = lookup_fk("retention_class", index=True)
    created_by: Mapped[int] = user_fk()
    created_at: Mapped[datetime] = created_at()


class ImageHash(Base):
    """64-bit perceptual hash of one frame of a file (Hamming search via `<~>`)."""

    __tablename__ = "image_hashes"
    __table_args__ = (
        CheckConstraint("frame_index >= 0", name="frame_index_not_negative"),
        Index(
            "ix_image_hashes_phash_hnsw",
            "phash",
            postgresql_using="hnsw",
            postgresql_ops={"phash": "bit_hamming_ops"},
        ),
    )

    file_id: Mapped[int] = fk("files.id", ondelete="CASCADE", primary_key=True)
    frame_index: Mapped[int] = mapped_column(Integer, primary_key=True, server_default=text("0"))
    phash: Mapped[str] = mapped_column(BIT(PHASH_BITS))


class FaceEmbedding(Base):
    """128-d identity embedding of one face box in one frame of a file (L2 search via `<->`)."""

    __tablename__ = "face_embeddings"
    __table_args__ = (
        CheckConstraint("frame_index >= 0", name="frame_index_not_negative"),
        CheckConstraint("box_w > 0 AND box_h > 0", name="box_not_empty"),
        Index("ix_face_embeddings_file_frame", "file_id", "frame_index"),
        Index(
            "ix_face_embeddings_embedding_hnsw",
            "embedding",
            postgresql_using="hnsw",
            postgresql_ops={"embedding": "vector_l2_ops"},
        ),
    )

    id: Mapped[int] = big_pk()
    file_id: Mapped[int] = fk("files.id", ondelete="CASCADE")
    frame_index: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    box_x: Mapped[int]
    box_y: Mapped[int]
    box_w: Mapped[int]
    box_h: Mapped[int]
    embedding: Mapped[list[float]] = mapped_column(VECTOR(EMBEDDING_DIM))
    created_at: Mapped[datetime] = created_at()


class RetentionPolicy(Base):
    """How long files of one retention class are kept once orphaned (NULL: forever)."""

    __tablename__ = "retention_policies"
    __table_args__ = (CheckConstraint("keep_days IS NULL OR keep_days >= 0", name="keep_days_not_negative"),)

    retention_class_id: Mapped[int] = lookup_fk("retention_class", primary_key=True)
    keep_days: Mapped[int | None]
    updated_at: Mapped[datetime] = updated_at()
