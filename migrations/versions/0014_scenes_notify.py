"""The project tree NOTIFYs `x121_scenes`: what the navigator shows changed.

Revision ID: 0014
Revises: 0013

A project, character or scene added, removed or renamed, a project's or scene's status changed, a
character or scene moved, a segment added, removed or its status changed (a generation started or
cancelled, a take approved) sends `{"table": <table>, "id": <id>, "op": "insert" | "update" |
"delete"}` on channel `x121_scenes`, delivered at commit; for a segment the id is its scene's. Other
column changes (prompts, settings, timestamps) stay quiet. PostgreSQL sends identical notifications
of one transaction once, so planning or cancelling a whole scene is one notice per scene.
Running navigators re-read their tree (services/navigator.py `NavigatorService.listen`).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WATCHED = {
    # table: (the column whose value the notice carries as "id", the columns whose change is announced)
    "projects": ("id", ("name", "project_status_id")),
    "characters": ("id", ("name", "project_id")),
    "scenes": ("id", ("name", "scene_status_id", "character_id")),
    "segments": ("scene_id", ("scene_id", "segment_status_id")),
}

FUNCTION = """
CREATE FUNCTION public.x121_notify_scenes() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    old_ jsonb := CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE to_jsonb(OLD) END;
    new_ jsonb := CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE to_jsonb(NEW) END;
    key_ text := TG_ARGV[0];
BEGIN
    IF TG_OP = 'UPDATE' AND NOT EXISTS (
        SELECT 1 FROM unnest(TG_ARGV[1:]) AS c(name) WHERE old_ -> c.name IS DISTINCT FROM new_ -> c.name
    ) THEN
        RETURN NULL;  -- nothing the navigator shows
    END IF;
    PERFORM pg_notify('x121_scenes', json_build_object(
        'table', TG_TABLE_NAME,
        'id', (coalesce(new_, old_) ->> key_)::integer,
        'op', lower(TG_OP))::text);
    RETURN NULL;
END
$$;
ALTER FUNCTION public.x121_notify_scenes() OWNER TO x121_owner;
REVOKE ALL ON FUNCTION public.x121_notify_scenes() FROM PUBLIC;
"""


def _trigger(table: str) -> str:
    key, columns = WATCHED[table]
    args = ", ".join(f"'{a}'" for a in (key, *columns))
    return (
        f"CREATE TRIGGER x121_notify_scenes AFTER INSERT OR UPDATE OR DELETE ON public.{table}\n"
        f"    FOR EACH ROW EXECUTE FUNCTION public.x121_notify_scenes({args});\n"
    )


def upgrade() -> None:
    op.execute(FUNCTION + "".join(_trigger(t) for t in WATCHED))


def downgrade() -> None:
    drops = "".join(f"DROP TRIGGER IF EXISTS x121_notify_scenes ON public.{t};\n" for t in WATCHED)
    op.execute(drops + "DROP FUNCTION IF EXISTS public.x121_notify_scenes();\n")
