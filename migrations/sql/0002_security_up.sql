-- X121 Studio, revision 0002: security in the database itself.
--
-- Every workstation connects straight to this database, so PostgreSQL enforces the RBAC
-- matrix (docs/SECURITY.md):
--   * a non-login owner role owns every table, sequence and function;
--   * studio users are login roles in x121_reviewer, x121_creator or x121_admin
--     (admin is a member of creator, creator of reviewer, so privileges accumulate);
--   * table and column GRANTs give each group what it may do;
--   * row-level security limits private and authored rows to their user;
--   * SECURITY DEFINER functions (fixed search_path, EXECUTE revoked from PUBLIC, caller
--     checked by session_user) perform the privileged transitions;
--   * triggers guard invariants: seed images are permanent, authorship cannot be forged.
--
-- Runs as a superuser (the embedded server's `postgres`, or the studio server's).
-- Roles are cluster-wide and shared by every database of the cluster, so they are
-- created idempotently and never dropped by the downgrade.

------------------------------------------------------------------------------- roles
DO $$
DECLARE
    grp text;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'x121_owner') THEN
        CREATE ROLE x121_owner NOLOGIN CREATEROLE;
    ELSE
        ALTER ROLE x121_owner NOLOGIN CREATEROLE;
    END IF;
    FOREACH grp IN ARRAY ARRAY['x121_reviewer', 'x121_creator', 'x121_admin'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = grp) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', grp);
        END IF;
    END LOOP;
    -- Privileges accumulate upwards: admin ⊃ creator ⊃ reviewer.
    IF NOT pg_catalog.pg_has_role('x121_creator', 'x121_reviewer', 'MEMBER') THEN
        GRANT x121_reviewer TO x121_creator WITH INHERIT TRUE;
    END IF;
    IF NOT pg_catalog.pg_has_role('x121_admin', 'x121_creator', 'MEMBER') THEN
        GRANT x121_creator TO x121_admin WITH INHERIT TRUE;
    END IF;
    -- The owner may grant the groups to the login roles it creates (x121_create_user),
    -- without gaining their privileges or being able to SET ROLE to them.
    GRANT x121_admin, x121_creator, x121_reviewer TO x121_owner WITH ADMIN TRUE, INHERIT FALSE, SET FALSE;
END
$$;

------------------------------------------------------------------ database and schema
DO $$
BEGIN
    EXECUTE format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database());
    EXECUTE format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO x121_reviewer', current_database());
END
$$;
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO x121_reviewer;
GRANT USAGE, CREATE ON SCHEMA public TO x121_owner;

------------------------------------------------------------------------ ownership
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT c.oid::regclass AS rel, c.relkind
        FROM pg_catalog.pg_class c
        JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
          AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                          WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
    LOOP
        EXECUTE format('ALTER %s %s OWNER TO x121_owner',
                       CASE r.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                                      WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END,
                       r.rel);
    END LOOP;
    -- Sequences that no table column owns (those move with their table).
    FOR r IN
        SELECT c.oid::regclass AS rel
        FROM pg_catalog.pg_class c
        JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind = 'S'
          AND c.relowner <> 'x121_owner'::regrole
          AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                          WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid
                            AND d.deptype IN ('a', 'i', 'e'))
    LOOP
        EXECUTE format('ALTER SEQUENCE %s OWNER TO x121_owner', r.rel);
    END LOOP;
    -- Functions of the schema (not of extensions such as pgvector).
    FOR r IN
        SELECT p.oid::regprocedure AS fn, p.prokind
        FROM pg_catalog.pg_proc p
        JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = 'public'
          AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                          WHERE d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
    LOOP
        EXECUTE format('ALTER %s %s OWNER TO x121_owner',
                       CASE r.prokind WHEN 'p' THEN 'PROCEDURE' WHEN 'a' THEN 'AGGREGATE' ELSE 'FUNCTION' END,
                       r.fn);
    END LOOP;
END
$$;

---------------------------------------------------------------- who is calling
-- The users row of the session's login role. A superuser session without a row of its
-- own (the embedded single-user default, maintenance) acts as the first active admin;
-- this migration creates that row for the superuser that runs it (see the end).
CREATE FUNCTION public.x121_current_user_id() RETURNS integer
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
    SELECT coalesce(
        (SELECT u.id FROM public.users u WHERE u.role_name = session_user AND u.is_active),
        (SELECT u.id FROM public.users u
          WHERE u.is_active AND u.user_role_id = (SELECT id FROM public.user_role WHERE code = 'admin')
            AND (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = session_user)
            AND NOT EXISTS (SELECT 1 FROM public.users x WHERE x.role_name = session_user)
          ORDER BY u.id LIMIT 1))
$$;

-- Group membership of the session's login role (superusers hold every role).
CREATE FUNCTION public.x121_is_admin() RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, public, pg_temp
AS $$ SELECT pg_catalog.pg_has_role(session_user, 'x121_admin', 'USAGE') $$;

CREATE FUNCTION public.x121_is_creator() RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, public, pg_temp
AS $$ SELECT pg_catalog.pg_has_role(session_user, 'x121_creator', 'USAGE') $$;

CREATE FUNCTION public.x121_session_is_superuser() RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, public, pg_temp
AS $$ SELECT coalesce((SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = session_user), false) $$;

------------------------------------------------------------------ final approval
CREATE FUNCTION public.x121_approve_final(p_take_id integer, p_note text DEFAULT '') RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    v_user integer := public.x121_current_user_id();
    v_id integer;
BEGIN
    IF v_user IS NULL OR NOT public.x121_is_creator() THEN
        RAISE EXCEPTION 'only creators and admins can give final approval'
            USING ERRCODE = 'insufficient_privilege', HINT = 'Ask a creator or an admin to approve this take.';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM public.takes t WHERE t.id = p_take_id) THEN
        RAISE EXCEPTION 'take % does not exist', p_take_id USING ERRCODE = 'no_data_found';
    END IF;
    INSERT INTO public.approvals (take_id, approved_by, note)
    VALUES (p_take_id, v_user, coalesce(p_note, ''))
    ON CONFLICT (take_id) DO UPDATE
        SET approved_by = EXCLUDED.approved_by, approved_at = now(), note = EXCLUDED.note
    RETURNING id INTO v_id;
    RETURN v_id;
END
$$;

CREATE FUNCTION public.x121_revoke_final(p_take_id integer) RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    IF public.x121_current_user_id() IS NULL OR NOT public.x121_is_creator() THEN
        RAISE EXCEPTION 'only creators and admins can withdraw a final approval'
            USING ERRCODE = 'insufficient_privilege', HINT = 'Ask a creator or an admin.';
    END IF;
    DELETE FROM public.approvals a WHERE a.take_id = p_take_id;
    RETURN FOUND;
END
$$;

-- Any signed-in user may mark a comment resolved or open again (authors alone edit the text).
CREATE FUNCTION public.x121_set_comment_resolved(p_comment_id integer, p_resolved boolean) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    IF public.x121_current_user_id() IS NULL THEN
        RAISE EXCEPTION 'only studio users can resolve comments' USING ERRCODE = 'insufficient_privilege';
    END IF;
    UPDATE public.comments c
       SET resolved_at = CASE WHEN p_resolved THEN coalesce(c.resolved_at, now()) END
     WHERE c.id = p_comment_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'comment % does not exist', p_comment_id USING ERRCODE = 'no_data_found';
    END IF;
END
$$;

------------------------------------------------------------------ user administration
CREATE FUNCTION public.x121_require_admin(p_what text) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    IF NOT public.x121_is_admin() THEN
        RAISE EXCEPTION 'only admins can %', p_what
            USING ERRCODE = 'insufficient_privilege', HINT = 'Ask a studio admin.';
    END IF;
END
$$;

CREATE FUNCTION public.x121_check_verifier(p_verifier text) RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    IF p_verifier IS NULL
       OR p_verifier !~ '^SCRAM-SHA-256\$[0-9]+:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$' THEN
        RAISE EXCEPTION 'the password must arrive as a SCRAM-SHA-256 verifier computed on the client'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
END
$$;

CREATE FUNCTION public.x121_user_role_id(p_role_code text) RETURNS smallint
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    v_id smallint;
BEGIN
    SELECT r.id INTO v_id FROM public.user_role r WHERE r.code = p_role_code;
    IF v_id IS NULL THEN
        RAISE EXCEPTION 'unknown studio role %', quote_literal(p_role_code)
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Use admin, creator or reviewer.';
    END IF;
    RETURN v_id;
END
$$;

-- The users row and pg role of a studio user an admin may manage (not a superuser).
CREATE FUNCTION public.x121_managed_user(p_role_name text) RETURNS public.users
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    v_user public.users;
BEGIN
    SELECT * INTO v_user FROM public.users u WHERE u.role_name = p_role_name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'there is no studio user %', quote_literal(p_role_name) USING ERRCODE = 'no_data_found';
    END IF;
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = p_role_name AND r.rolsuper) THEN
        RAISE EXCEPTION 'user % is a database superuser and is managed outside X121', quote_literal(p_role_name)
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN v_user;
END
$$;

-- Refuse a change that would leave no active admin who can sign in with a password.
CREATE FUNCTION public.x121_keep_an_admin(p_user_id integer) RETURNS void
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM public.users u JOIN pg_catalog.pg_roles r ON r.rolname = u.role_name
         WHERE u.id <> p_user_id AND u.is_active AND r.rolcanlogin
           AND u.user_role_id = public.x121_user_role_id('admin')) THEN
        RAISE EXCEPTION 'this would leave the studio without an active admin'
            USING ERRCODE = 'insufficient_privilege', HINT = 'Make another user an admin first.';
    END IF;
END
$$;

CREATE FUNCTION public.x121_create_user(
    p_role_name text, p_role_code text, p_verifier text, p_display_name text DEFAULT NULL
) RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    v_role_id smallint;
    v_id integer;
BEGIN
    PERFORM public.x121_require_admin('create users');
    IF p_role_name IS NULL OR p_role_name !~ '^[a-z_][a-z0-9_]{0,62}$' OR p_role_name ~ '^(pg_|x121_)'
       OR p_role_name IN ('postgres', 'public', 'none') THEN
        RAISE EXCEPTION '% cannot be a studio user name', quote_nullable(p_role_name)
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use lower-case letters, digits and underscores; pg_ and x121_ are reserved.';
    END IF;
    v_role_id := public.x121_user_role_id(p_role_code);
    PERFORM public.x121_check_verifier(p_verifier);
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = p_role_name) THEN
        RAISE EXCEPTION 'a database role named % already exists', quote_literal(p_role_name)
            USING ERRCODE = 'duplicate_object', HINT = 'Choose another user name.';
    END IF;
    EXECUTE format('CREATE ROLE %I LOGIN INHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS '
                   'PASSWORD %L', p_role_name, p_verifier);
    EXECUTE format('GRANT %I TO %I', 'x121_' || p_role_code, p_role_name);
    INSERT INTO public.users (role_name, display_name, user_role_id)
    VALUES (p_role_name, coalesce(nullif(btrim(p_display_name), ''), p_role_name), v_role_id)
    RETURNING id INTO v_id;
    RETURN v_id;
END
$$;

CREATE FUNCTION public.x121_set_user_role(p_role_name text, p_role_code text) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    v_user public.users;
    v_role_id smallint;
    grp text;
BEGIN
    PERFORM public.x121_require_admin('change user roles');
    v_user := public.x121_managed_user(p_role_name);
    v_role_id := public.x121_user_role_id(p_role_code);
    IF v_role_id = v_user.user_role_id THEN
        RETURN;
    END IF;
    IF v_user.user_role_id = public.x121_user_role_id('admin') THEN
        PERFORM public.x121_keep_an_admin(v_user.id);
    END IF;
    FOREACH grp IN ARRAY ARRAY['x121_admin', 'x121_creator', 'x121_reviewer'] LOOP
        IF EXISTS (SELECT 1 FROM pg_catalog.pg_auth_members m
                    WHERE m.roleid = grp::regrole AND m.member = p_role_name::regrole) THEN
            EXECUTE format('REVOKE %I FROM %I', grp, p_role_name);
        END IF;
    END LOOP;
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_auth_members m
                WHERE m.roleid IN ('x121_admin'::regrole, 'x121_creator'::regrole, 'x121_reviewer'::regrole)
                  AND m.member = p_role_name::regrole) THEN
        RAISE EXCEPTION 'role % holds a group membership granted outside X121', quote_literal(p_role_name)
            USING ERRCODE = 'insufficient_privilege', HINT = 'A database superuser must revoke it.';
    END IF;
    EXECUTE format('GRANT %I TO %I', 'x121_' || p_role_code, p_role_name);
    UPDATE public.users SET user_role_id = v_role_id WHERE id = v_user.id;
END
$$;

CREATE FUNCTION public.x121_set_user_active(p_role_name text, p_active boolean) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    v_user public.users;
BEGIN
    PERFORM public.x121_require_admin('enable or disable users');
    v_user := public.x121_managed_user(p_role_name);
    IF NOT p_active THEN
        IF p_role_name = session_user THEN
            RAISE EXCEPTION 'you cannot disable your own account'
                USING ERRCODE = 'insufficient_privilege', HINT = 'Ask another admin.';
        END IF;
        IF v_user.user_role_id = public.x121_user_role_id('admin') THEN
            PERFORM public.x121_keep_an_admin(v_user.id);
        END IF;
    END IF;
    EXECUTE format('ALTER ROLE %I %s', p_role_name, CASE WHEN p_active THEN 'LOGIN' ELSE 'NOLOGIN' END);
    UPDATE public.users SET is_active = p_active WHERE id = v_user.id;
END
$$;

CREATE FUNCTION public.x121_set_user_password(p_role_name text, p_verifier text) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    PERFORM public.x121_require_admin('set other users'' passwords');
    PERFORM public.x121_managed_user(p_role_name);
    PERFORM public.x121_check_verifier(p_verifier);
    EXECUTE format('ALTER ROLE %I PASSWORD %L', p_role_name, p_verifier);
END
$$;

------------------------------------------------------------------ invariants
-- Seed A and Seed B images are permanent: no role (superusers included: triggers fire for
-- them too) can delete one, truncate the table, or change what a seed is. Choosing the
-- hero and editing the note stay allowed.
CREATE FUNCTION public.x121_seed_images_permanent() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    v_permanent boolean;
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        RAISE EXCEPTION 'seed images are permanent: seed_images cannot be truncated'
            USING ERRCODE = 'restrict_violation';
    END IF;
    SELECT k.code IN ('a', 'b') INTO v_permanent FROM public.seed_kind k WHERE k.id = OLD.seed_kind_id;
    IF NOT coalesce(v_permanent, true) THEN
        RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
    END IF;
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'seed image % is a permanent Seed A/B image and cannot be deleted', OLD.id
            USING ERRCODE = 'restrict_violation', HINT = 'Add a new seed image and make it the hero instead.';
    END IF;
    IF (to_jsonb(NEW) - 'is_hero' - 'note') IS DISTINCT FROM (to_jsonb(OLD) - 'is_hero' - 'note') THEN
        RAISE EXCEPTION 'seed image % is a permanent Seed A/B image: only is_hero and note can change', OLD.id
            USING ERRCODE = 'restrict_violation', HINT = 'Add a new seed image instead of overwriting this one.';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER x121_seed_images_permanent
    BEFORE UPDATE OR DELETE ON public.seed_images
    FOR EACH ROW EXECUTE FUNCTION public.x121_seed_images_permanent();
CREATE TRIGGER x121_seed_images_no_truncate
    BEFORE TRUNCATE ON public.seed_images
    FOR EACH STATEMENT EXECUTE FUNCTION public.x121_seed_images_permanent();

-- Authorship: created_by, author_id, owner_id, reviewer_id, actor_id… default to the caller,
-- must BE the caller on insert and never change (superuser sessions may set them: imports).
CREATE FUNCTION public.x121_guard_actor() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    col text := TG_ARGV[0];
    v_new integer := (to_jsonb(NEW) ->> col)::integer;
BEGIN
    IF public.x121_session_is_superuser() THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'INSERT' THEN
        IF v_new IS DISTINCT FROM public.x121_current_user_id() THEN
            RAISE EXCEPTION '%.% must be the signed-in user', TG_TABLE_NAME, col
                USING ERRCODE = 'insufficient_privilege', HINT = 'Leave it out: it defaults to you.';
        END IF;
    ELSIF v_new IS DISTINCT FROM (to_jsonb(OLD) ->> col)::integer THEN
        RAISE EXCEPTION '%.% cannot be changed', TG_TABLE_NAME, col USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;

-- Every column that references users(id): DEFAULT the caller; the guard on all but the
-- columns naming someone else (recipients, mentions) or managed by row-level security.
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT cl.relname AS tbl, a.attname AS col
        FROM pg_catalog.pg_constraint c
        JOIN pg_catalog.pg_class cl ON cl.oid = c.conrelid
        JOIN pg_catalog.pg_namespace n ON n.oid = cl.relnamespace
        JOIN pg_catalog.pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
        WHERE c.contype = 'f' AND c.confrelid = 'public.users'::regclass AND n.nspname = 'public'
          AND cardinality(c.conkey) = 1
        ORDER BY 1, 2
    LOOP
        IF (r.tbl, r.col) IN (('notifications', 'user_id'), ('comment_mentions', 'user_id')) THEN
            CONTINUE;
        END IF;
        EXECUTE format('ALTER TABLE public.%I ALTER COLUMN %I SET DEFAULT public.x121_current_user_id()',
                       r.tbl, r.col);
        IF (r.tbl, r.col) IN (('user_secrets', 'user_id'), ('user_settings', 'user_id'), ('presence', 'user_id'),
                              ('segment_locks', 'holder_id'), ('workflow_locks', 'holder_id'),
                              ('approvals', 'approved_by')) THEN
            CONTINUE;
        END IF;
        EXECUTE format('CREATE TRIGGER %I BEFORE INSERT OR UPDATE OF %I ON public.%I '
                       'FOR EACH ROW EXECUTE FUNCTION public.x121_guard_actor(%L)',
                       'x121_guard_' || r.col, r.col, r.tbl, r.col);
    END LOOP;
END
$$;

------------------------------------------------------------------ function privileges
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT p.oid::regprocedure AS fn
        FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = 'public' AND p.proname LIKE 'x121\_%'
    LOOP
        EXECUTE format('ALTER FUNCTION %s OWNER TO x121_owner', r.fn);
        EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', r.fn);
    END LOOP;
END
$$;
GRANT EXECUTE ON FUNCTION
    public.x121_current_user_id(), public.x121_is_admin(), public.x121_is_creator(),
    public.x121_session_is_superuser(), public.x121_set_comment_resolved(integer, boolean)
    TO x121_reviewer;
GRANT EXECUTE ON FUNCTION
    public.x121_approve_final(integer, text), public.x121_revoke_final(integer)
    TO x121_creator;
GRANT EXECUTE ON FUNCTION
    public.x121_create_user(text, text, text, text), public.x121_set_user_role(text, text),
    public.x121_set_user_active(text, boolean), public.x121_set_user_password(text, text)
    TO x121_admin;

------------------------------------------------------------------ table privileges
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM PUBLIC;

-- Everyone signed in reads the studio's data; private tables are narrowed by RLS below.
GRANT SELECT ON ALL TABLES IN SCHEMA public TO x121_reviewer;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO x121_reviewer;

-- Reviewers: their own private rows, and the review tools (vote, annotate, comment).
GRANT INSERT, UPDATE, DELETE ON public.user_secrets, public.user_settings, public.presence TO x121_reviewer;
GRANT UPDATE (read_at), DELETE ON public.notifications TO x121_reviewer;
GRANT INSERT ON public.notifications TO x121_reviewer;
GRANT UPDATE (display_name, email) ON public.users TO x121_reviewer;
GRANT INSERT, UPDATE ON public.verdicts, public.annotations, public.comments TO x121_reviewer;
GRANT INSERT, DELETE ON public.comment_mentions TO x121_reviewer;
GRANT INSERT ON public.activity_events TO x121_reviewer;

-- Creators: production work. No TRUNCATE for anyone; final approval only via x121_approve_final.
GRANT INSERT, UPDATE, DELETE ON
    public.projects, public.characters, public.seed_images, public.scenes, public.segments, public.takes,
    public.seams, public.workflows, public.workflow_versions, public.jobs, public.job_attempts,
    public.job_events, public.job_outputs, public.node_timings, public.image_hashes, public.face_embeddings,
    public.server_capabilities, public.segment_locks, public.workflow_locks
    TO x121_creator;
GRANT INSERT ON public.files, public.cost_records TO x121_creator;
GRANT DELETE ON public.verdicts, public.annotations, public.comments TO x121_creator;
-- Workers report server health; adding, removing and configuring servers is for admins.
GRANT UPDATE (server_status_id, queued_slots, last_seen_at, system_stats, object_info_hash)
    ON public.comfy_servers TO x121_creator;

-- Admins: servers, retention, file clean-up, cost corrections, moderation, activity pruning.
GRANT INSERT, UPDATE, DELETE ON public.comfy_servers, public.retention_policies TO x121_admin;
GRANT UPDATE, DELETE ON public.files, public.cost_records TO x121_admin;
GRANT DELETE ON public.activity_events TO x121_admin;

------------------------------------------------------------------ row-level security
ALTER TABLE public.users ENABLE ROW LEVEL SECURITY;
CREATE POLICY users_read ON public.users FOR SELECT TO x121_reviewer USING (true);
CREATE POLICY users_edit_self ON public.users FOR UPDATE TO x121_reviewer
    USING (id = (SELECT public.x121_current_user_id()))
    WITH CHECK (id = (SELECT public.x121_current_user_id()));

-- Private rows: only their user, not even admins (FORCE: owner-run code is held to it too).
ALTER TABLE public.user_secrets ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.user_secrets FORCE ROW LEVEL SECURITY;
CREATE POLICY own_rows ON public.user_secrets FOR ALL TO x121_reviewer
    USING (user_id = (SELECT public.x121_current_user_id()))
    WITH CHECK (user_id = (SELECT public.x121_current_user_id()));

ALTER TABLE public.user_settings ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.user_settings FORCE ROW LEVEL SECURITY;
CREATE POLICY own_rows ON public.user_settings FOR ALL TO x121_reviewer
    USING (user_id = (SELECT public.x121_current_user_id()))
    WITH CHECK (user_id = (SELECT public.x121_current_user_id()));

-- Notifications: read, mark read and dismiss your own; create them only for events you caused.
ALTER TABLE public.notifications ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_rows ON public.notifications FOR SELECT TO x121_reviewer
    USING (user_id = (SELECT public.x121_current_user_id()));
CREATE POLICY mark_read ON public.notifications FOR UPDATE TO x121_reviewer
    USING (user_id = (SELECT public.x121_current_user_id()))
    WITH CHECK (user_id = (SELECT public.x121_current_user_id()));
CREATE POLICY dismiss ON public.notifications FOR DELETE TO x121_reviewer
    USING (user_id = (SELECT public.x121_current_user_id()));
CREATE POLICY notify_about_own_event ON public.notifications FOR INSERT TO x121_reviewer
    WITH CHECK (EXISTS (SELECT 1 FROM public.activity_events e
                         WHERE e.id = activity_event_id AND e.actor_id = (SELECT public.x121_current_user_id())));

-- Presence: everyone sees who is where; each user writes only their own heartbeat.
ALTER TABLE public.presence ENABLE ROW LEVEL SECURITY;
CREATE POLICY read_all ON public.presence FOR SELECT TO x121_reviewer USING (true);
CREATE POLICY own_insert ON public.presence FOR INSERT TO x121_reviewer
    WITH CHECK (user_id = (SELECT public.x121_current_user_id()));
CREATE POLICY own_update ON public.presence FOR UPDATE TO x121_reviewer
    USING (user_id = (SELECT public.x121_current_user_id()))
    WITH CHECK (user_id = (SELECT public.x121_current_user_id()));
CREATE POLICY own_delete ON public.presence FOR DELETE TO x121_reviewer
    USING (user_id = (SELECT public.x121_current_user_id()) OR (SELECT public.x121_is_admin()));

-- Authored review rows: anyone reads; only the author edits (others' edits fail loudly:
-- the author column cannot change, so the new row fails WITH CHECK); creators delete
-- their own, admins delete any (moderation).
DO $$
DECLARE
    t text;
    c text;
BEGIN
    FOR t, c IN VALUES ('verdicts', 'reviewer_id'), ('annotations', 'author_id'), ('comments', 'author_id') LOOP
        EXECUTE format('ALTER TABLE public.%I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY read_all ON public.%I FOR SELECT TO x121_reviewer USING (true)', t);
        EXECUTE format('CREATE POLICY author_insert ON public.%I FOR INSERT TO x121_reviewer '
                       'WITH CHECK (%I = (SELECT public.x121_current_user_id()))', t, c);
        EXECUTE format('CREATE POLICY author_update ON public.%I FOR UPDATE TO x121_reviewer USING (true) '
                       'WITH CHECK (%I = (SELECT public.x121_current_user_id()))', t, c);
        EXECUTE format('CREATE POLICY author_or_admin_delete ON public.%I FOR DELETE TO x121_creator '
                       'USING (%I = (SELECT public.x121_current_user_id()) OR (SELECT public.x121_is_admin()))',
                       t, c);
    END LOOP;
END
$$;

-- Mentions belong to their comment's author.
ALTER TABLE public.comment_mentions ENABLE ROW LEVEL SECURITY;
CREATE POLICY read_all ON public.comment_mentions FOR SELECT TO x121_reviewer USING (true);
CREATE POLICY comment_author_insert ON public.comment_mentions FOR INSERT TO x121_reviewer
    WITH CHECK (EXISTS (SELECT 1 FROM public.comments c
                         WHERE c.id = comment_id AND c.author_id = (SELECT public.x121_current_user_id())));
CREATE POLICY comment_author_delete ON public.comment_mentions FOR DELETE TO x121_reviewer
    USING (EXISTS (SELECT 1 FROM public.comments c
                    WHERE c.id = comment_id AND c.author_id = (SELECT public.x121_current_user_id())));

-- Locks: everyone sees them; a creator takes a free or expired lock and renews or releases
-- their own; admins break any lock.
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['segment_locks', 'workflow_locks'] LOOP
        EXECUTE format('ALTER TABLE public.%I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY read_all ON public.%I FOR SELECT TO x121_reviewer USING (true)', t);
        EXECUTE format('CREATE POLICY take_lock ON public.%I FOR INSERT TO x121_creator '
                       'WITH CHECK (holder_id = (SELECT public.x121_current_user_id()))', t);
        EXECUTE format('CREATE POLICY renew_or_take_expired ON public.%I FOR UPDATE TO x121_creator '
                       'USING (holder_id = (SELECT public.x121_current_user_id()) OR expires_at < now()) '
                       'WITH CHECK (holder_id = (SELECT public.x121_current_user_id()))', t);
        EXECUTE format('CREATE POLICY release_or_break ON public.%I FOR DELETE TO x121_creator '
                       'USING (holder_id = (SELECT public.x121_current_user_id()) OR expires_at < now() '
                       'OR (SELECT public.x121_is_admin()))', t);
    END LOOP;
END
$$;

------------------------------------------------------------------ bootstrap user
-- The superuser running this migration gets an admin users row, so the embedded
-- single-user default (which connects as that superuser) is a known studio user.
INSERT INTO public.users (role_name, display_name, user_role_id)
SELECT r.rolname, 'Database owner (' || r.rolname || ')', (SELECT id FROM public.user_role WHERE code = 'admin')
FROM pg_catalog.pg_roles r
WHERE r.rolname = session_user AND r.rolsuper AND r.rolname ~ '^[a-z_][a-z0-9_]{0,62}$'
ON CONFLICT (role_name) DO NOTHING;
