"""ComfyUI servers aggregate: a server on the LAN and what it can run.

Capabilities are refreshed from `/object_info` and the model folders and go with their server
(CASCADE). Jobs, attempts, timings and costs refer to a server with RESTRICT: a server with
history is disabled (`is_enabled = false`), not deleted.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import CHAR, CheckConstraint, Index, Integer, Numeric, SmallInteger, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from x121_desktop.db.base import Base, Document, created_at, document, fk, flag, lookup_fk, pk


class ComfyServer(Base):
    __tablename__ = "comfy_servers"
    __table_args__ = (
        CheckConstraint("slots >= 1", name="slots_positive"),
        CheckConstraint("queued_slots >= 0", name="queued_slots_not_negative"),
        CheckConstraint("speed_factor > 0", name="speed_factor_positive"),
        CheckConstraint("rate_per_hour IS NULL OR rate_per_hour >= 0", name="rate_not_negative"),
        CheckConstraint("base_url ~ '^https?://'", name="base_url_http"),
    )

    id: Mapped[int] = pk()
    name: Mapped[str] = mapped_column(Text, unique=True)
    base_url: Mapped[str] = mapped_column(Text, unique=True)
    server_status_id: Mapped[int] = lookup_fk("server_status")
    is_enabled: Mapped[bool] = flag(default=True)
    slots: Mapped[int] = mapped_column(SmallInteger, server_default=text("1"))
    """Jobs this server runs at once."""
    queued_slots: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    """Jobs we may keep waiting in its own queue beyond the running ones."""
    speed_factor: Mapped[float] = mapped_column(server_default=text("1.0"))
    rate_per_hour: Mapped[Decimal | None] = mapped_column(Numeric(10, 4))
    """GPU cost per hour used for cost records (currency of the studio)."""
    last_seen_at: Mapped[datetime | None]
    system_stats: Mapped[Document | None] = document(nullable=True)
    object_info_hash: Mapped[str | None] = mapped_column(CHAR(64))
    created_at: Mapped[datetime] = created_at()


class ServerCapability(Base):
    """A node type or model file a server offers (`folder` is '' for node types)."""

    __tablename__ = "server_capabilities"
    __table_args__ = (
        UniqueConstraint("server_id", "capability_kind_id", "folder", "name"),
        Index("ix_server_capabilities_kind_name", "capability_kind_id", "name"),
    )

    id: Mapped[int] = pk()
    server_id: Mapped[int] = fk("comfy_servers.id", ondelete="CASCADE")
    capability_kind_id: Mapped[int] = lookup_fk("capability_kind")
    folder: Mapped[str] = mapped_column(Text, server_default=text("''"))
    name: Mapped[str]
