"""Library: per-item metadata (title, notes, tags) and per-user pins.

Revision ID: 0004
Revises: 0003

`library_meta` has one row per character, seed image, take or video file that carries metadata
(exactly one pointer set, each unique; CASCADE from the item it describes). `library_pins` are
private favourites (FORCE row-level security by `user_id`, which defaults to the caller).

Security (docs/SECURITY.md): both tables belong to `x121_owner`. Reviewers read both, pin and
unpin for themselves, and may create an *empty* meta row (only the pointer columns) so they can
pin an item nobody has described yet; creators and admins write titles, notes and tags.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TSTZ = sa.DateTime(timezone=True)
ITEM_COLUMNS = (
    ("character_id", "characters"),
    ("seed_image_id", "seed_images"),
    ("take_id", "takes"),
    ("file_id", "files"),
)

SECURITY_UP = """
ALTER TABLE public.library_meta OWNER TO x121_owner;
ALTER TABLE public.library_pins OWNER TO x121_owner;
GRANT SELECT ON public.library_meta, public.library_pins TO x121_reviewer;
GRANT USAGE, SELECT ON SEQUENCE public.library_meta_id_seq TO x121_reviewer;
GRANT INSERT (character_id, seed_image_id, take_id, file_id) ON public.library_meta TO x121_reviewer;
GRANT INSERT, UPDATE, DELETE ON public.library_meta TO x121_creator;
GRANT INSERT, DELETE ON public.library_pins TO x121_reviewer;
ALTER TABLE public.library_pins ALTER COLUMN user_id SET DEFAULT public.x121_current_user_id();
ALTER TABLE public.library_pins ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.library_pins FORCE ROW LEVEL SECURITY;
CREATE POLICY own_rows ON public.library_pins FOR ALL TO x121_reviewer
    USING (user_id = (SELECT public.x121_current_user_id()))
    WITH CHECK (user_id = (SELECT public.x121_current_user_id()));
"""


def upgrade() -> None:
    op.create_table(
        "library_meta",
        sa.Column("id", sa.Integer(), primary_key=True),
        *(
            sa.Column(name, sa.Integer(), sa.ForeignKey(f"{table}.id", ondelete="CASCADE"), nullable=True)
            for name, table in ITEM_COLUMNS
        ),
        sa.Column("title", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("notes", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("tags", postgresql.ARRAY(sa.Text()), server_default=sa.text("'{}'::text[]"), nullable=False),
        sa.Column("updated_at", TSTZ, server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("num_nonnulls(character_id, seed_image_id, take_id, file_id) = 1", name="one_item"),
        sa.CheckConstraint("char_length(title) <= 200", name="title_length"),
        sa.CheckConstraint("cardinality(tags) <= 32 AND array_position(tags, '') IS NULL", name="tags_valid"),
        *(sa.UniqueConstraint(name) for name, _ in ITEM_COLUMNS),
    )
    op.create_table(
        "library_pins",
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="RESTRICT"), nullable=False),
        sa.Column(
            "meta_id", sa.Integer(), sa.ForeignKey("library_meta.id", ondelete="CASCADE"), nullable=False, index=True
        ),
        sa.Column("created_at", TSTZ, server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "meta_id"),
    )
    op.execute(SECURITY_UP)


def downgrade() -> None:
    op.execute("DROP TABLE library_pins, library_meta")
