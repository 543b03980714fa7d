"""ComfyUI servers: every change that matters to dispatch NOTIFYs `x121_servers`.

Revision ID: 0011
Revises: 0010

Dispatchers that are already running follow the servers without restarting
(services/orchestrator/fleet_watch.py): a row added or removed, or a change of `is_enabled`
(drain / resume), `base_url`, `name`, `slots`, `queued_slots` or `speed_factor` sends
`{"server_id": id, "op": "added" | "changed" | "removed"}` on channel `x121_servers`, delivered
at commit. Status and capability bookkeeping (`server_status_id`, `last_seen_at`,
`system_stats`, `object_info_hash`) is written by the dispatchers themselves and stays quiet.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UP = """
CREATE FUNCTION public.x121_notify_server() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    row_ jsonb := CASE WHEN TG_OP = 'DELETE' THEN to_jsonb(OLD) ELSE to_jsonb(NEW) END;
BEGIN
    IF TG_OP = 'UPDATE' AND (OLD.is_enabled, OLD.base_url, OLD.name, OLD.slots, OLD.queued_slots, OLD.speed_factor)
            IS NOT DISTINCT FROM (NEW.is_enabled, NEW.base_url, NEW.name, NEW.slots, NEW.queued_slots, NEW.speed_factor)
    THEN
        RETURN NULL;  -- status, last seen, stats, capability hash: the dispatchers' own bookkeeping
    END IF;
    PERFORM pg_notify('x121_servers', json_build_object(
        'server_id', (row_ ->> 'id')::integer,
        'op', CASE TG_OP WHEN 'INSERT' THEN 'added' WHEN 'DELETE' THEN 'removed' ELSE 'changed' END)::text);
    RETURN NULL;
END
$$;
ALTER FUNCTION public.x121_notify_server() OWNER TO x121_owner;
REVOKE ALL ON FUNCTION public.x121_notify_server() FROM PUBLIC;
CREATE TRIGGER x121_notify_server AFTER INSERT OR UPDATE OR DELETE ON public.comfy_servers
    FOR EACH ROW EXECUTE FUNCTION public.x121_notify_server();
"""

DOWN = """
DROP TRIGGER IF EXISTS x121_notify_server ON public.comfy_servers;
DROP FUNCTION IF EXISTS public.x121_notify_server();
"""


def upgrade() -> None:
    op.execute(UP)


def downgrade() -> None:
    op.execute(DOWN)
