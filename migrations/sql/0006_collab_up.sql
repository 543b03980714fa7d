-- X121 Studio, revision 0006: collaboration (lease tokens, lock guard, NOTIFY feeds).
-- Runs as a superuser; every object is handed to x121_owner (docs/SECURITY.md).

ALTER TABLE public.segment_locks ADD COLUMN lease_token uuid NOT NULL DEFAULT gen_random_uuid();
ALTER TABLE public.workflow_locks ADD COLUMN lease_token uuid NOT NULL DEFAULT gen_random_uuid();
ALTER TABLE public.segment_locks ADD CONSTRAINT uq_segment_locks_lease_token UNIQUE (lease_token);
ALTER TABLE public.workflow_locks ADD CONSTRAINT uq_workflow_locks_lease_token UNIQUE (lease_token);

INSERT INTO public.activity_kind (id, code, label) VALUES
    (19, 'lock_taken', 'Lock taken'),
    (20, 'lock_released', 'Lock released'),
    (21, 'lock_broken', 'Lock broken');

------------------------------------------------------------------ the lock guard
-- A change to a segment, one of its takes, or a seam touching it, is refused (55P03) while
-- another user holds a live lock on that segment. With `x121.lease_token` set for the
-- transaction, the change is refused unless that lease is live and the caller's own.
CREATE FUNCTION public.x121_guard_segment_lock() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    o jsonb := CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END;
    n jsonb := CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END;
    ids integer[];
    token_text text := nullif(current_setting('x121.lease_token', true), '');
    token uuid;
    uid integer;
    r record;
BEGIN
    IF TG_TABLE_NAME = 'segments' THEN
        ids := ARRAY[(o ->> 'id')::integer, (n ->> 'id')::integer];
    ELSIF TG_TABLE_NAME = 'takes' THEN
        ids := ARRAY[(o ->> 'segment_id')::integer, (n ->> 'segment_id')::integer];
    ELSE
        SELECT array_agg(t.segment_id) INTO ids FROM public.takes t
        WHERE t.id IN ((o ->> 'left_take_id')::integer, (o ->> 'right_take_id')::integer,
                       (n ->> 'left_take_id')::integer, (n ->> 'right_take_id')::integer);
    END IF;
    IF token_text IS NOT NULL THEN
        IF token_text !~ '^[0-9a-fA-F-]{36}$' THEN
            RAISE EXCEPTION 'x121.lease_token is not a lease token' USING ERRCODE = 'invalid_parameter_value';
        END IF;
        token := token_text::uuid;
        uid := public.x121_current_user_id();
        PERFORM 1 FROM public.segment_locks l
         WHERE l.lease_token = token AND l.holder_id = uid AND l.expires_at > now()
         FOR SHARE;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'the lock this change was made under has expired or was taken by someone else'
                USING ERRCODE = 'lock_not_available',
                      HINT = 'Take the lock again, re-read the segment and redo the change.';
        END IF;
    END IF;
    FOR r IN
        SELECT l.segment_id, l.holder_id, l.machine, l.expires_at, l.lease_token, u.role_name, u.display_name
        FROM public.segment_locks l JOIN public.users u ON u.id = l.holder_id
        WHERE l.segment_id = ANY (ids) AND l.expires_at > now()
        ORDER BY l.segment_id
        FOR SHARE OF l
    LOOP
        IF uid IS NULL THEN
            uid := public.x121_current_user_id();
        END IF;
        IF r.holder_id IS DISTINCT FROM uid THEN
            RAISE EXCEPTION 'segment % is locked by % (%) on % until %', r.segment_id, r.display_name,
                r.role_name, r.machine, to_char(r.expires_at, 'YYYY-MM-DD HH24:MI:SS TZ')
                USING ERRCODE = 'lock_not_available',
                      HINT = 'Wait for the lock to be released, or ask an admin to break it.';
        END IF;
        IF token IS NOT NULL AND r.lease_token <> token THEN
            RAISE EXCEPTION 'segment % is locked by another session of yours (on %)', r.segment_id, r.machine
                USING ERRCODE = 'lock_not_available', HINT = 'Release it there first.';
        END IF;
    END LOOP;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER x121_segment_lock_guard BEFORE UPDATE OR DELETE ON public.segments
    FOR EACH ROW EXECUTE FUNCTION public.x121_guard_segment_lock();
CREATE TRIGGER x121_segment_lock_guard BEFORE INSERT OR UPDATE OR DELETE ON public.takes
    FOR EACH ROW EXECUTE FUNCTION public.x121_guard_segment_lock();
CREATE TRIGGER x121_segment_lock_guard BEFORE INSERT OR UPDATE OR DELETE ON public.seams
    FOR EACH ROW EXECUTE FUNCTION public.x121_guard_segment_lock();

------------------------------------------------------------------ NOTIFY feeds
CREATE FUNCTION public.x121_notify_lock() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    row_ jsonb := CASE WHEN TG_OP = 'DELETE' THEN to_jsonb(OLD) ELSE to_jsonb(NEW) END;
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.lease_token = NEW.lease_token THEN
        RETURN NULL;  -- a renewal: nobody needs to hear about it
    END IF;
    PERFORM pg_notify('x121_locks', json_build_object(
        'kind', TG_ARGV[0], 'id', (row_ ->> TG_ARGV[1])::integer,
        'holder_id', (row_ ->> 'holder_id')::integer,
        'op', CASE WHEN TG_OP = 'DELETE' THEN 'released' ELSE 'taken' END)::text);
    RETURN NULL;
END
$$;
CREATE TRIGGER x121_notify_lock AFTER INSERT OR UPDATE OR DELETE ON public.segment_locks
    FOR EACH ROW EXECUTE FUNCTION public.x121_notify_lock('segment', 'segment_id');
CREATE TRIGGER x121_notify_lock AFTER INSERT OR UPDATE OR DELETE ON public.workflow_locks
    FOR EACH ROW EXECUTE FUNCTION public.x121_notify_lock('workflow', 'workflow_id');

CREATE FUNCTION public.x121_notify_presence() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    row_ jsonb := CASE WHEN TG_OP = 'DELETE' THEN to_jsonb(OLD) ELSE to_jsonb(NEW) END;
BEGIN
    IF TG_OP = 'UPDATE' AND (OLD.project_id, OLD.scene_id, OLD.segment_id, OLD.take_id, OLD.frame)
            IS NOT DISTINCT FROM (NEW.project_id, NEW.scene_id, NEW.segment_id, NEW.take_id, NEW.frame) THEN
        RETURN NULL;  -- a heartbeat only
    END IF;
    PERFORM pg_notify('x121_presence', json_build_object(
        'user_id', (row_ ->> 'user_id')::integer, 'machine', row_ ->> 'machine',
        'op', CASE TG_OP WHEN 'INSERT' THEN 'arrived' WHEN 'DELETE' THEN 'left' ELSE 'moved' END)::text);
    RETURN NULL;
END
$$;
CREATE TRIGGER x121_notify_presence AFTER INSERT OR UPDATE OR DELETE ON public.presence
    FOR EACH ROW EXECUTE FUNCTION public.x121_notify_presence();

CREATE FUNCTION public.x121_notify_activity() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    PERFORM pg_notify('x121_activity', json_build_object(
        'id', NEW.id, 'kind', NEW.activity_kind_id, 'project_id', NEW.project_id, 'actor_id', NEW.actor_id)::text);
    RETURN NULL;
END
$$;
CREATE TRIGGER x121_notify_activity AFTER INSERT ON public.activity_events
    FOR EACH ROW EXECUTE FUNCTION public.x121_notify_activity();

CREATE FUNCTION public.x121_notify_notification() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    PERFORM pg_notify('x121_notifications', json_build_object(
        'id', NEW.id, 'user_id', NEW.user_id, 'event_id', NEW.activity_event_id,
        'kind', NEW.notification_kind_id)::text);
    RETURN NULL;
END
$$;
CREATE TRIGGER x121_notify_notification AFTER INSERT ON public.notifications
    FOR EACH ROW EXECUTE FUNCTION public.x121_notify_notification();

------------------------------------------------------------------ presence clean-up
CREATE FUNCTION public.x121_purge_stale_presence(p_stale_s integer) RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    gone integer;
BEGIN
    IF public.x121_current_user_id() IS NULL THEN
        RAISE EXCEPTION 'only signed-in studio users can clear presence' USING ERRCODE = 'insufficient_privilege';
    END IF;
    DELETE FROM public.presence p
     WHERE p.heartbeat_at < now() - make_interval(secs => greatest(coalesce(p_stale_s, 30), 3));
    GET DIAGNOSTICS gone = ROW_COUNT;
    RETURN gone;
END
$$;
