-- X121 Studio, revision 0002 downgrade: remove the database-enforced security.
-- Cluster roles (x121_owner, x121_admin, x121_creator, x121_reviewer and the studio
-- users' login roles) stay: other databases of the cluster may use them. Their
-- privileges in THIS database are removed and ownership returns to the caller.

DO $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT schemaname, tablename, policyname FROM pg_catalog.pg_policies WHERE schemaname = 'public' LOOP
        EXECUTE format('DROP POLICY %I ON %I.%I', r.policyname, r.schemaname, r.tablename);
    END LOOP;
    FOR r IN
        SELECT c.oid::regclass AS rel FROM pg_catalog.pg_class c
        JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND (c.relrowsecurity OR c.relforcerowsecurity)
    LOOP
        EXECUTE format('ALTER TABLE %s NO FORCE ROW LEVEL SECURITY', r.rel);
        EXECUTE format('ALTER TABLE %s DISABLE ROW LEVEL SECURITY', r.rel);
    END LOOP;
    FOR r IN
        SELECT t.tgname, t.tgrelid::regclass AS rel FROM pg_catalog.pg_trigger t
        JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
        JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND NOT t.tgisinternal AND t.tgname LIKE 'x121\_%'
    LOOP
        EXECUTE format('DROP TRIGGER %I ON %s', r.tgname, r.rel);
    END LOOP;
    FOR r IN
        SELECT c.relname AS tbl, a.attname AS col FROM pg_catalog.pg_attrdef d
        JOIN pg_catalog.pg_class c ON c.oid = d.adrelid
        JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_catalog.pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
        WHERE n.nspname = 'public' AND pg_catalog.pg_get_expr(d.adbin, d.adrelid) LIKE '%x121_current_user_id()%'
    LOOP
        EXECUTE format('ALTER TABLE public.%I ALTER COLUMN %I DROP DEFAULT', r.tbl, r.col);
    END LOOP;
    FOR r IN
        SELECT p.oid::regprocedure AS fn FROM pg_catalog.pg_proc p
        JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = 'public' AND p.proname LIKE 'x121\_%'
    LOOP
        EXECUTE format('DROP FUNCTION %s', r.fn);
    END LOOP;
END
$$;

-- Not DROP OWNED: it would also revoke the groups' privileges on the cluster's other databases.
REASSIGN OWNED BY x121_owner TO CURRENT_USER;
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM x121_admin, x121_creator, x121_reviewer;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM x121_admin, x121_creator, x121_reviewer;
REVOKE ALL ON SCHEMA public FROM x121_owner, x121_admin, x121_creator, x121_reviewer;
GRANT USAGE ON SCHEMA public TO PUBLIC;
DO $$
BEGIN
    EXECUTE format('REVOKE ALL ON DATABASE %I FROM x121_admin, x121_creator, x121_reviewer', current_database());
    EXECUTE format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO PUBLIC', current_database());
END
$$;
