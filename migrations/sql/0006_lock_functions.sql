-- Lock functions for @KIND@ locks (generated per kind by migrations/versions/0006_collab.py).

CREATE FUNCTION public.x121_log_@KIND@_lock(p_id integer, p_kind smallint, p_extra jsonb) RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    v_project integer;
    v_data jsonb;
    v_event bigint;
BEGIN
    EXECUTE $q$@WHERE@$q$ INTO v_project, v_data USING p_id;
    INSERT INTO public.activity_events (project_id, activity_kind_id, data, segment_id)
    VALUES (v_project, p_kind, coalesce(v_data, '{}'::jsonb) || p_extra, @SEGMENT@)
    RETURNING id INTO v_event;
    RETURN v_event;
END
$$;

CREATE FUNCTION public.x121_acquire_@KIND@_lock(p_id integer, p_token uuid, p_machine text, p_ttl_s integer)
RETURNS TABLE (got boolean, holder integer, holder_role text, holder_machine text,
               lease_expires timestamptz, db_now timestamptz)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    uid integer := public.x121_current_user_id();
    cur public.@TABLE@%ROWTYPE;
    found_row boolean;
    previous text;
BEGIN
    IF uid IS NULL OR NOT public.x121_is_creator() THEN
        RAISE EXCEPTION 'only creators and admins can lock a @KIND@' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF p_ttl_s IS NULL OR p_ttl_s < 5 OR p_ttl_s > 3600 THEN
        RAISE EXCEPTION 'a lock lease must last 5 to 3600 seconds, not %', p_ttl_s
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_token IS NULL OR length(btrim(coalesce(p_machine, ''))) = 0 THEN
        RAISE EXCEPTION 'a lock needs a lease token and a machine name' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM public.@TARGET@ t WHERE t.id = p_id) THEN
        RAISE EXCEPTION 'there is no @KIND@ %', p_id USING ERRCODE = 'no_data_found';
    END IF;
    LOOP
        SELECT * INTO cur FROM public.@TABLE@ l WHERE l.@KEY@ = p_id FOR UPDATE;
        found_row := FOUND;
        IF NOT found_row THEN
            BEGIN
                INSERT INTO public.@TABLE@ (@KEY@, holder_id, machine, acquired_at, expires_at, lease_token)
                VALUES (p_id, uid, p_machine, now(), now() + make_interval(secs => p_ttl_s), p_token);
                EXIT;
            EXCEPTION WHEN unique_violation THEN
                -- another session inserted first: look again
            END;
        ELSIF cur.lease_token = p_token AND cur.holder_id = uid THEN
            UPDATE public.@TABLE@ l SET expires_at = now() + make_interval(secs => p_ttl_s), machine = p_machine
             WHERE l.@KEY@ = p_id;
            RETURN QUERY SELECT true, uid, session_user::text, p_machine,
                                now() + make_interval(secs => p_ttl_s), now();
            RETURN;
        ELSIF cur.expires_at <= now() THEN
            SELECT u.role_name INTO previous FROM public.users u WHERE u.id = cur.holder_id;
            UPDATE public.@TABLE@ l
               SET holder_id = uid, machine = p_machine, acquired_at = now(),
                   expires_at = now() + make_interval(secs => p_ttl_s), lease_token = p_token
             WHERE l.@KEY@ = p_id;
            EXIT;
        ELSE
            RETURN QUERY SELECT false, cur.holder_id, (SELECT u.role_name FROM public.users u WHERE u.id = cur.holder_id),
                                cur.machine, cur.expires_at, now();
            RETURN;
        END IF;
    END LOOP;
    PERFORM public.x121_log_@KIND@_lock(p_id, 19::smallint,
        jsonb_build_object('machine', p_machine, 'took_over_from', previous, 'ttl_s', p_ttl_s));
    RETURN QUERY SELECT true, uid, session_user::text, p_machine, now() + make_interval(secs => p_ttl_s), now();
END
$$;

CREATE FUNCTION public.x121_renew_@KIND@_lock(p_id integer, p_token uuid, p_ttl_s integer) RETURNS timestamptz
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    uid integer := public.x121_current_user_id();
    v timestamptz;
BEGIN
    IF uid IS NULL OR NOT public.x121_is_creator() THEN
        RAISE EXCEPTION 'only creators and admins hold @KIND@ locks' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF p_ttl_s IS NULL OR p_ttl_s < 5 OR p_ttl_s > 3600 THEN
        RAISE EXCEPTION 'a lock lease must last 5 to 3600 seconds, not %', p_ttl_s
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    UPDATE public.@TABLE@ l SET expires_at = now() + make_interval(secs => p_ttl_s)
     WHERE l.@KEY@ = p_id AND l.lease_token = p_token AND l.holder_id = uid AND l.expires_at > now()
    RETURNING l.expires_at INTO v;
    RETURN v;
END
$$;

CREATE FUNCTION public.x121_release_@KIND@_lock(p_id integer, p_token uuid) RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    uid integer := public.x121_current_user_id();
    v_machine text;
BEGIN
    IF uid IS NULL OR NOT public.x121_is_creator() THEN
        RAISE EXCEPTION 'only creators and admins hold @KIND@ locks' USING ERRCODE = 'insufficient_privilege';
    END IF;
    DELETE FROM public.@TABLE@ l WHERE l.@KEY@ = p_id AND l.lease_token = p_token AND l.holder_id = uid
    RETURNING l.machine INTO v_machine;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    PERFORM public.x121_log_@KIND@_lock(p_id, 20::smallint, jsonb_build_object('machine', v_machine));
    RETURN true;
END
$$;

CREATE FUNCTION public.x121_break_@KIND@_lock(p_id integer, p_reason text) RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    uid integer := public.x121_current_user_id();
    v_holder integer;
    v_machine text;
    v_role text;
    v_event bigint;
BEGIN
    IF uid IS NULL OR NOT public.x121_is_admin() THEN
        RAISE EXCEPTION 'only admins can break a @KIND@ lock' USING ERRCODE = 'insufficient_privilege',
            HINT = 'Ask the holder to release it, or an admin to break it.';
    END IF;
    DELETE FROM public.@TABLE@ l WHERE l.@KEY@ = p_id RETURNING l.holder_id, l.machine INTO v_holder, v_machine;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    SELECT u.role_name INTO v_role FROM public.users u WHERE u.id = v_holder;
    v_event := public.x121_log_@KIND@_lock(p_id, 21::smallint, jsonb_build_object(
        'previous_holder', v_role, 'previous_holder_id', v_holder, 'machine', v_machine,
        'reason', coalesce(nullif(btrim(p_reason), ''), 'no reason given')));
    IF v_holder <> uid THEN
        INSERT INTO public.notifications (user_id, notification_kind_id, activity_event_id)
        VALUES (v_holder, 7, v_event);
    END IF;
    RETURN true;
END
$$;
