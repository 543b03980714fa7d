"""Projects keep settings; seed images tell the navigator they changed.

Revision ID: 0016
Revises: 0015

`projects.settings` (jsonb, default `{}`) holds what a whole project shares and its columns do not,
as `scenes.settings` (revision 0005) does for one scene: first `seed_workflow` (`{"a": NAME, "b":
NAME}`: the imported workflow that generates a character's Seed A in Reverse mode and its Seed B in
Forward mode; a kind left out uses the bundled model-free default, services/seed_workflows.py).
It is shared by every artist of the project, unlike `user_settings`, which is private per user.

A seed image added, or a hero chosen (`seed_images.is_hero` changed), NOTIFYs `x121_scenes` through
revision 0014's function, as `{"table": "seed_images", "id": <character id>, "op": ...}`, so every
open navigator re-reads the character's seed counts, whichever workstation (or `x121 seed collect`)
recorded the seed. The trigger is named `x121_notify_seeds` (0014's own four keep their name).

Security (docs/SECURITY.md): a new column on an existing table; the table-level grants of 0002
(everyone reads, creators and admins write projects) cover it, so no grant changes. The trigger
function is 0014's SECURITY DEFINER one, owned by x121_owner.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEED_TRIGGER = (
    "CREATE TRIGGER x121_notify_seeds AFTER INSERT OR UPDATE OR DELETE ON public.seed_images\n"
    "    FOR EACH ROW EXECUTE FUNCTION public.x121_notify_scenes('character_id', 'is_hero');\n"
)


def upgrade() -> None:
    op.add_column(
        "projects",
        sa.Column(
            "settings",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
    )
    op.execute(SEED_TRIGGER)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS x121_notify_seeds ON public.seed_images;")
    op.drop_column("projects", "settings")
