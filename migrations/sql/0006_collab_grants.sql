-- Revision 0006: hand the new functions to x121_owner, keep them from PUBLIC, grant by group.
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT p.oid::regprocedure AS fn
        FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = 'public' AND p.proname LIKE 'x121\_%'
          AND pg_catalog.pg_get_userbyid(p.proowner) <> 'x121_owner'
    LOOP
        EXECUTE format('ALTER FUNCTION %s OWNER TO x121_owner', r.fn);
    END LOOP;
    FOR r IN
        SELECT p.oid::regprocedure AS fn
        FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = 'public' AND p.proname LIKE 'x121\_%'
    LOOP
        EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', r.fn);
    END LOOP;
END
$$;
GRANT EXECUTE ON FUNCTION public.x121_purge_stale_presence(integer) TO x121_reviewer;
GRANT EXECUTE ON FUNCTION
    public.x121_acquire_segment_lock(integer, uuid, text, integer),
    public.x121_renew_segment_lock(integer, uuid, integer),
    public.x121_release_segment_lock(integer, uuid),
    public.x121_acquire_workflow_lock(integer, uuid, text, integer),
    public.x121_renew_workflow_lock(integer, uuid, integer),
    public.x121_release_workflow_lock(integer, uuid)
    TO x121_creator;
GRANT EXECUTE ON FUNCTION
    public.x121_break_segment_lock(integer, text), public.x121_break_workflow_lock(integer, text)
    TO x121_admin;
