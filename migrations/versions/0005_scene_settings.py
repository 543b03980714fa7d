"""Scenes: the generation settings a scene keeps beside its columns.

Revision ID: 0005
Revises: 0004

`scenes.settings` (jsonb, default `{}`) holds what generation needs and the columns do not:
`params` (fixed workflow parameters such as width, height, variation) and `limits` (the model
frame limits the segments were planned with: min/max frames, frame rule step/offset, overlap),
so a scene can be re-planned or regenerated exactly as it was set up.

Security (docs/SECURITY.md): a new column on an existing table; the table-level grants of 0002
(reviewers read, creators and admins write scenes) cover it, so no grant changes.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "scenes",
        sa.Column(
            "settings",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
    )


def downgrade() -> None:
    op.drop_column("scenes", "settings")
