-- X121 Studio, revision 0012: the database enforces who may change a job (docs/SECURITY.md, "Jobs").
--
-- Every workstation is also a dispatcher that runs anyone's job, so creators keep the right to move
-- jobs through the state machine, but only as the rules of the queue allow:
--   * column privileges: creators insert jobs and update only the dispatcher's columns (state,
--     lease, server, attempts, error, times); owner, priority, inputs, workflow, estimate, cache
--     key, take, policy and the cancel flag never change after insert, except through
--     x121_cancel_job and x121_move_job_to_front (SECURITY DEFINER, owner or admin);
--   * jobs.lease_login records, by trigger, the login that claimed the job (or refused it, or took
--     it back after its lease lapsed); clients cannot write it;
--   * x121_guard_job_update: only legal state changes (core/orchestration/states.py), a held job
--     changes only by its lease login or an admin, anyone may take back a job whose lease lapsed
--     (only as reclaim_expired does), anyone may claim or refuse a queued job;
--   * x121_guard_job_insert: a new job is queued (or a succeeded cache hit), at priority <= 0
--     unless an admin submits it;
--   * x121_guard_job_record: attempts, events, outputs, node timings and cost records of a job are
--     written by its lease login (events and cache-hit outputs also by its owner, LOG events by admins);
--   * x121_job_write_refusal (revision 0009's rule for writing a locked segment's take on behalf of
--     the holder's job) now also requires the take's file to be one of the job's outputs and the job
--     to have succeeded before its take becomes usable or current.
-- Superuser sessions are not refused (the embedded single-user default, migrations, repairs), but
-- their claims are recorded the same way. Runs as a superuser; functions go to x121_owner.
--
-- Status ids (job_status): 1 queued, 2 claimed, 3 uploading, 4 submitted, 5 running,
-- 6 downloading, 7 succeeded, 8 failed, 9 cancelled, 10 lost. Held (a lease): 2-6 and 10.

-- The login (session_user) that claimed the job, refused it or took it back after its lease lapsed.
ALTER TABLE public.jobs ADD COLUMN lease_login text;

------------------------------------------------------------------ the state machine
-- Mirrors core.orchestration.states.TRANSITIONS (tests/db/test_job_rights.py compares them).
CREATE FUNCTION public.x121_job_transition_allowed(p_from smallint, p_to smallint) RETURNS boolean
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, public, pg_temp
AS $$
    SELECT p_to = ANY (CASE p_from
        WHEN 1 THEN '{2,8,9}'::smallint[]          -- queued: claimed, failed (refused), cancelled
        WHEN 2 THEN '{3,4,7,1,8,9,10}'::smallint[] -- claimed: uploading, submitted, succeeded (cache), released, ...
        WHEN 3 THEN '{4,1,8,9,10}'::smallint[]     -- uploading
        WHEN 4 THEN '{5,6,8,9,10}'::smallint[]     -- submitted
        WHEN 5 THEN '{6,8,9,10}'::smallint[]       -- running
        WHEN 6 THEN '{7,8,9,10}'::smallint[]       -- downloading
        WHEN 10 THEN '{1,8,9}'::smallint[]         -- lost: queued again, failed, cancelled
        ELSE '{}'::smallint[] END)
$$;

------------------------------------------------------------------ new jobs
CREATE FUNCTION public.x121_guard_job_insert() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    refusal text;
    hint text;
BEGIN
    IF NEW.job_status_id IN (2, 3, 4, 5, 6, 10) THEN
        NEW.lease_login := session_user;  -- only a superuser may insert a held job (refused below otherwise)
    END IF;
    IF NEW.job_status_id NOT IN (1, 7) THEN
        refusal := 'a new job must be queued (or, reusing an earlier job''s outputs, succeeded)';
        hint := 'Insert it queued; a dispatcher claims it.';
    ELSIF NEW.priority > 0 AND NOT public.x121_is_admin() THEN
        refusal := format('only admins can submit a job above priority 0 (this one asks for %s)', NEW.priority);
        hint := 'Submit it at priority 0 or lower; an admin can move it to the front of the queue.';
    END IF;
    IF refusal IS NOT NULL AND NOT public.x121_session_is_superuser() THEN
        RAISE EXCEPTION '%', refusal USING ERRCODE = 'insufficient_privilege', HINT = hint;
    END IF;
    RETURN NEW;
END
$$;

------------------------------------------------------------------ changes to a job
CREATE FUNCTION public.x121_guard_job_update() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    was smallint := OLD.job_status_id;
    goes smallint := NEW.job_status_id;
    held CONSTANT smallint[] := '{2,3,4,5,6,10}';
    reclaim smallint;
    refusal text;
    code text := 'insufficient_privilege';
    hint text;
BEGIN
    IF current_user = 'x121_owner' THEN
        RETURN NEW;  -- x121_cancel_job / x121_move_job_to_front, which checked the caller themselves
    END IF;
    IF was = goes THEN
        IF was <> ALL (held) THEN
            refusal := CASE WHEN was = 1
                THEN format('job %s is queued: it changes only when a dispatcher claims or refuses it', OLD.id)
                ELSE format('job %s has ended and cannot change', OLD.id) END;
            hint := CASE WHEN was = 1 THEN 'Cancel it with x121_cancel_job or reorder it with x121_move_job_to_front.' END;
        ELSIF OLD.lease_login IS DISTINCT FROM session_user AND OLD.lease_login IS NOT NULL
              AND NOT public.x121_is_admin() THEN
            refusal := format('job %s is held by the dispatcher signed in as %s; only that login or an admin can change it',
                              OLD.id, OLD.lease_login);
            hint := 'Wait until it ends or its lease lapses, or cancel it with x121_cancel_job.';
        ELSIF NEW.attempts <> OLD.attempts OR NEW.lease_holder IS DISTINCT FROM OLD.lease_holder THEN
            refusal := format('job %s keeps its attempt count and lease holder while it is held', OLD.id);
        END IF;
    ELSIF was = 1 THEN
        IF goes = 2 THEN  -- a claim, by any dispatcher
            NEW.lease_login := session_user;
            IF NEW.attempts <> OLD.attempts + 1 OR NEW.lease_holder IS NULL THEN
                refusal := format('claiming job %s takes a lease and counts one attempt', OLD.id);
            END IF;
        ELSIF goes = 8 THEN  -- refused before any GPU time, by any dispatcher
            NEW.lease_login := session_user;
            IF NEW.attempts <> OLD.attempts OR NEW.lease_holder IS NOT NULL THEN
                refusal := format('refusing job %s changes neither its attempts nor its lease', OLD.id);
            END IF;
        ELSIF goes = 9 THEN
            refusal := format('job %s can only be cancelled by its owner or an admin, through x121_cancel_job', OLD.id);
            hint := 'Ask its owner or a studio admin to cancel it.';
        END IF;
    ELSIF was = ANY (held) THEN
        reclaim := CASE WHEN OLD.cancel_requested THEN 9
                        WHEN OLD.redispatch_allowed AND OLD.attempts < OLD.max_attempts THEN 1 ELSE 8 END;
        IF OLD.lease_expires_at < now() AND goes = reclaim AND NEW.lease_holder IS NULL
           AND NEW.attempts = OLD.attempts THEN
            NEW.lease_login := session_user;  -- taken back after its lease lapsed (via LOST), by anyone
            RETURN NEW;
        ELSIF OLD.lease_login IS DISTINCT FROM session_user AND OLD.lease_login IS NOT NULL
              AND NOT public.x121_is_admin() THEN
            refusal := CASE WHEN OLD.lease_expires_at < now()
                THEN format('job %s''s lease has lapsed: another login may only take it back as %s', OLD.id,
                            (SELECT s.code FROM public.job_status s WHERE s.id = reclaim))
                ELSE format('job %s is held by the dispatcher signed in as %s; only that login or an admin can change it',
                            OLD.id, OLD.lease_login) END;
            hint := 'Wait until it ends or its lease lapses, or cancel it with x121_cancel_job.';
        ELSIF NEW.attempts <> OLD.attempts
              AND NOT (goes = 1 AND was IN (2, 3) AND NEW.attempts = OLD.attempts - 1) THEN
            refusal := format('job %s''s attempt count changes only when it is claimed or released', OLD.id);
        ELSIF was = 10 AND goes = 1 AND NOT NEW.redispatch_allowed THEN
            refusal := format('job %s may not be dispatched again after it was lost', OLD.id);
        ELSIF (goes = ANY (held)) <> (NEW.lease_holder IS NOT NULL)
              OR (goes = ANY (held) AND NEW.lease_holder IS DISTINCT FROM OLD.lease_holder) THEN
            refusal := format('job %s keeps its lease while held and gives it up when it leaves', OLD.id);
        END IF;
    END IF;
    -- (a claim and a refusal were checked above: the claim path skips the function call)
    IF refusal IS NULL AND was <> goes AND NOT (was = 1 AND goes IN (2, 8))
       AND NOT public.x121_job_transition_allowed(was, goes) THEN
        refusal := format('job %s cannot go from %s to %s', OLD.id,
                          (SELECT s.code FROM public.job_status s WHERE s.id = was),
                          (SELECT s.code FROM public.job_status s WHERE s.id = goes));
        code := 'check_violation';
        hint := 'Reload the job; another client or dispatcher may have moved it meanwhile.';
    END IF;
    IF refusal IS NOT NULL AND NOT public.x121_session_is_superuser() THEN
        RAISE EXCEPTION '%', refusal USING ERRCODE = code, HINT = coalesce(hint, 'Only the queue''s own steps may change a job.');
    END IF;
    IF goes = ANY (held) AND was <> ALL (held) AND NEW.lease_login IS NULL THEN
        NEW.lease_login := session_user;  -- a superuser moved it there directly
    END IF;
    RETURN NEW;
END
$$;

------------------------------------------------------------------ a job's records
-- job_attempts, job_events, job_outputs, node_timings, cost_records: the job's lease login writes
-- them (outputs, timings and cost only while the job is held); its owner adds events and, to a
-- succeeded cache hit it inserted, outputs; admins add LOG events (a retry links both jobs).
CREATE FUNCTION public.x121_guard_job_record() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    j record;
    me integer;
    cache_hit boolean;
BEGIN
    IF current_user = 'x121_owner' THEN
        RETURN NEW;
    END IF;
    SELECT jb.lease_login, jb.owner_id, jb.job_status_id, jb.attempts INTO j FROM public.jobs jb WHERE jb.id = NEW.job_id;
    IF NOT FOUND THEN
        RETURN NEW;  -- the foreign key reports it
    END IF;
    IF j.lease_login = session_user
       AND (TG_TABLE_NAME IN ('job_attempts', 'job_events') OR j.job_status_id IN (2, 3, 4, 5, 6, 10))
       OR j.lease_login IS NULL AND j.job_status_id IN (2, 3, 4, 5, 6, 10) THEN  -- NULL: claimed before revision 0012
        RETURN NEW;
    END IF;
    IF TG_TABLE_NAME = 'cost_records' AND public.x121_is_admin() THEN
        RETURN NEW;  -- cost corrections
    END IF;
    IF TG_TABLE_NAME IN ('job_events', 'job_outputs') THEN
        me := public.x121_current_user_id();
        cache_hit := j.job_status_id = 7 AND j.attempts = 0 AND j.lease_login IS NULL;
        IF TG_TABLE_NAME = 'job_outputs' THEN
            IF j.owner_id = me AND cache_hit THEN
                RETURN NEW;
            END IF;
        ELSIF (j.owner_id = me AND (NEW.job_event_kind_id IN (1, 17) OR (cache_hit AND NEW.job_event_kind_id = 10)))
              OR (NEW.job_event_kind_id = 17 AND public.x121_is_admin()) THEN
            RETURN NEW;  -- created, log line; a cache hit's succeeded
        END IF;
    END IF;
    IF public.x121_session_is_superuser() THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'only the dispatcher holding job % (signed in as %) can write its %', NEW.job_id,
        coalesce(j.lease_login, 'nobody yet'), replace(TG_TABLE_NAME, '_', ' ')
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'A job''s records are written by the dispatcher that runs it.';
END
$$;

------------------------------------------------------------------ owner and admin actions
-- One event + its NOTIFY on channel x121_jobs, the payload of db/repositories/job_events.NOTICE_SQL.
CREATE FUNCTION public.x121_log_job_event(
    p_job integer, p_kind text, p_status smallint, p_owner integer, p_attempt integer, p_data jsonb
) RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    v_id bigint;
BEGIN
    INSERT INTO public.job_events (job_id, job_event_kind_id, attempt_no, data)
    VALUES (p_job, (SELECT k.id FROM public.job_event_kind k WHERE k.code = p_kind), p_attempt, p_data)
    RETURNING id INTO v_id;
    PERFORM pg_notify('x121_jobs', json_build_object(
        'job_id', p_job, 'status', (SELECT s.code FROM public.job_status s WHERE s.id = p_status),
        'owner_id', p_owner, 'event', p_kind, 'event_id', v_id)::text);
    RETURN v_id;
END
$$;

-- The job, locked, when the caller may act on it as its owner or an admin.
CREATE FUNCTION public.x121_job_for_owner(p_job integer, p_doing text) RETURNS public.jobs
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    j public.jobs;
BEGIN
    SELECT * INTO j FROM public.jobs jb WHERE jb.id = p_job FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'there is no job %', p_job USING ERRCODE = 'no_data_found';
    END IF;
    IF j.owner_id IS DISTINCT FROM public.x121_current_user_id() AND NOT public.x121_is_admin() THEN
        RAISE EXCEPTION 'job % belongs to another user, so you cannot % it', p_job, p_doing
            USING ERRCODE = 'insufficient_privilege', HINT = format('Ask its owner or a studio admin to %s it.', p_doing);
    END IF;
    RETURN j;
END
$$;

-- Cancel one job: a queued job ends now; a held one is flagged for its lease holder to interrupt
-- and end (or for reclaim_expired, should its dispatcher be gone). 'cancelled', 'requested' or
-- 'already_ended'. The owner or an admin only.
CREATE FUNCTION public.x121_cancel_job(p_job integer) RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    j public.jobs := public.x121_job_for_owner(p_job, 'cancel');
    data jsonb := jsonb_build_object('by_user', public.x121_current_user_id());
BEGIN
    IF j.job_status_id IN (7, 8, 9) THEN
        RETURN 'already_ended';
    END IF;
    IF j.job_status_id <> 1 THEN
        IF NOT j.cancel_requested THEN
            UPDATE public.jobs SET cancel_requested = true, updated_at = now() WHERE id = p_job;
            PERFORM public.x121_log_job_event(p_job, 'cancel_requested', j.job_status_id, j.owner_id, j.attempts, data);
        END IF;
        RETURN 'requested';
    END IF;
    UPDATE public.jobs SET job_status_id = 9, cancel_requested = true, finished_at = now(), updated_at = now()
     WHERE id = p_job;
    PERFORM public.x121_log_job_event(p_job, 'cancelled', 9::smallint, j.owner_id, NULL, data);
    RETURN 'cancelled';
END
$$;

-- Put a queued job first: an admin's first in the whole queue (one band above every other queued
-- job); an owner's first among their own queued jobs without passing anyone else's. For an owner it
-- goes to their highest queued priority band, and their jobs of that band that the claim takes
-- before it (batch order: created_at, work_estimate DESC NULLS LAST, id; docs/QUEUE.md) step down
-- one band. When it comes up from a lower band, one job of the owner's top band takes its old place
-- instead (the last of those before it, or the band's last job when none is before it), so the
-- owner holds no more jobs in any band than before and no other user's job has more of the owner's
-- jobs ahead of it. Returns its new priority.
CREATE FUNCTION public.x121_move_job_to_front(p_job integer) RETURNS smallint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    j public.jobs := public.x121_job_for_owner(p_job, 'move');
    me integer := public.x121_current_user_id();
    admin boolean := public.x121_is_admin();
    top integer;
    target integer;
    down integer[] := '{}';
    swap integer;
    other integer;
BEGIN
    IF j.job_status_id <> 1 THEN
        RAISE EXCEPTION 'Job % is %; only a queued job can be moved to the front', p_job,
            (SELECT lower(s.label) FROM public.job_status s WHERE s.id = j.job_status_id)
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Pick a job that is still waiting in the queue.';
    END IF;
    IF admin THEN
        SELECT max(jb.priority) INTO top FROM public.jobs jb WHERE jb.job_status_id = 1 AND jb.id <> p_job;
        target := CASE WHEN top IS NULL OR top < j.priority THEN j.priority ELSE least(32767, top + 1) END;
    ELSE
        SELECT max(jb.priority) INTO top FROM public.jobs jb
         WHERE jb.job_status_id = 1 AND jb.owner_id = j.owner_id AND jb.id <> p_job;
        target := CASE WHEN top IS NULL OR top < j.priority THEN j.priority ELSE top END;
        PERFORM 1 FROM public.jobs jb
         WHERE jb.job_status_id = 1 AND jb.owner_id = j.owner_id AND jb.priority = target AND jb.id <> p_job
         ORDER BY jb.id FOR UPDATE;
        WITH band AS (
            SELECT jb.id, row_number() OVER (ORDER BY jb.created_at, jb.work_estimate DESC NULLS LAST, jb.id) AS k
              FROM public.jobs jb
             WHERE jb.job_status_id = 1 AND jb.owner_id = j.owner_id AND (jb.priority = target OR jb.id = p_job))
        SELECT coalesce(array_agg(b.id ORDER BY b.k), '{}') INTO down
          FROM band b WHERE b.k < (SELECT c.k FROM band c WHERE c.id = p_job);
        IF target > j.priority THEN  -- one of the top band takes its old place
            IF cardinality(down) > 0 THEN
                swap := down[cardinality(down)];
                down := down[1:cardinality(down) - 1];
            ELSE
                SELECT jb.id INTO swap FROM public.jobs jb
                 WHERE jb.job_status_id = 1 AND jb.owner_id = j.owner_id AND jb.priority = target AND jb.id <> p_job
                 ORDER BY jb.created_at DESC, jb.work_estimate ASC NULLS FIRST, jb.id DESC LIMIT 1;
            END IF;
        END IF;
        IF cardinality(down) > 0 AND target = -32768 THEN
            RAISE EXCEPTION 'Job % cannot pass the jobs before it: they are at the lowest priority already', p_job
                USING ERRCODE = 'invalid_parameter_value', HINT = 'Cancel the jobs before it instead.';
        END IF;
    END IF;
    IF target = j.priority AND cardinality(down) = 0 THEN  -- already first
        RETURN target;
    END IF;
    IF swap IS NOT NULL THEN
        down := down || swap;
    END IF;
    FOREACH other IN ARRAY down LOOP
        UPDATE public.jobs SET priority = CASE WHEN id = swap THEN j.priority ELSE target - 1 END, updated_at = now()
         WHERE id = other;
        PERFORM public.x121_log_job_event(other, 'log', 1::smallint, j.owner_id, NULL, jsonb_build_object(
            'priority', CASE WHEN other = swap THEN j.priority ELSE target - 1 END, 'by_user', me,
            'message', format('Stepped down behind job %s', p_job)));
    END LOOP;
    UPDATE public.jobs SET priority = target, updated_at = now() WHERE id = p_job;
    PERFORM public.x121_log_job_event(p_job, 'log', 1::smallint, j.owner_id, NULL, jsonb_build_object(
        'priority', target, 'by_user', me, 'message',
        'Moved to the front of ' || CASE WHEN admin THEN 'the whole queue' ELSE 'its owner''s queue' END));
    RETURN target;
END
$$;

------------------------------------------------------------------ triggers
CREATE TRIGGER x121_guard_job_insert BEFORE INSERT ON public.jobs
    FOR EACH ROW EXECUTE FUNCTION public.x121_guard_job_insert();
CREATE TRIGGER x121_guard_job_update BEFORE UPDATE ON public.jobs
    FOR EACH ROW EXECUTE FUNCTION public.x121_guard_job_update();
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['job_attempts', 'job_events', 'job_outputs', 'node_timings', 'cost_records'] LOOP
        EXECUTE format('CREATE TRIGGER x121_guard_job_record BEFORE INSERT%s ON public.%I '
                       'FOR EACH ROW EXECUTE FUNCTION public.x121_guard_job_record()',
                       CASE WHEN t = 'job_attempts' THEN ' OR UPDATE' ELSE '' END, t);
    END LOOP;
END
$$;

------------------------------------------------------------------ privileges
REVOKE INSERT, UPDATE, DELETE ON public.jobs FROM x121_creator;
GRANT INSERT (prompt_id, owner_id, project_id, workflow_version_id, job_kind_id, job_status_id, priority, inputs,
              cache_key, redispatch_allowed, take_id, max_attempts, work_estimate, started_at, finished_at)
    ON public.jobs TO x121_creator;
GRANT UPDATE (job_status_id, server_id, lease_holder, lease_expires_at, attempts, error, updated_at, started_at,
              finished_at)
    ON public.jobs TO x121_creator;
GRANT DELETE ON public.jobs TO x121_admin;
-- Records are appended (attempts are also updated as the job moves); nobody but the owner role deletes them
-- (deleting a job, which admins may, removes its records by cascade).
REVOKE UPDATE, DELETE ON public.job_events, public.job_outputs, public.node_timings FROM x121_creator;
REVOKE DELETE ON public.job_attempts FROM x121_creator;

DO $$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT p.oid::regprocedure AS fn
        FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = 'public' AND p.proname IN (
            'x121_job_transition_allowed', 'x121_guard_job_insert', 'x121_guard_job_update', 'x121_guard_job_record',
            'x121_log_job_event', 'x121_job_for_owner', 'x121_cancel_job', 'x121_move_job_to_front')
    LOOP
        EXECUTE format('ALTER FUNCTION %s OWNER TO x121_owner', r.fn);
        EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', r.fn);
    END LOOP;
END
$$;
GRANT EXECUTE ON FUNCTION public.x121_job_transition_allowed(smallint, smallint) TO x121_reviewer;
GRANT EXECUTE ON FUNCTION public.x121_cancel_job(integer), public.x121_move_job_to_front(integer) TO x121_creator;

------------------------------------------------------------------ revision 0009's rule, on trustworthy jobs
-- A job's status, take, owner and outputs can now only be what the queue made them, so the rule for
-- writing a locked segment's take on behalf of the holder's job also checks the outcome itself: the
-- take's file must be one of the job's outputs, and only a succeeded job's take may become usable
-- (ready) and current, superseding the previous one; a failed or cancelled job's take may only be
-- marked failed or cancelled.
CREATE OR REPLACE FUNCTION public.x121_job_write_refusal(
    p_job integer, p_segment integer, p_holder integer, p_table text, p_op text, p_old jsonb, p_new jsonb
) RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    j record;
    outcome text[] := ARRAY['take_status_id', 'file_id', 'job_id', 'frame_count', 'cut_frame', 'likeness_distance'];
    superseded integer := (SELECT s.id FROM public.take_status s WHERE s.code = 'superseded');
    ended integer[] := ARRAY(SELECT s.id FROM public.take_status s WHERE s.code IN ('failed', 'cancelled'));
    v_file integer := (p_new ->> 'file_id')::integer;
BEGIN
    SELECT jb.id, jb.owner_id, jb.take_id, t.segment_id, st.code AS status, u.display_name, u.role_name
      INTO j
      FROM public.jobs jb
      JOIN public.job_status st ON st.id = jb.job_status_id
      JOIN public.users u ON u.id = jb.owner_id
      LEFT JOIN public.takes t ON t.id = jb.take_id
     WHERE jb.id = p_job;
    IF NOT FOUND THEN
        RETURN format('there is no job %s to write for', p_job);
    END IF;
    IF j.owner_id IS DISTINCT FROM p_holder THEN
        RETURN format('job %s was submitted by %s (%s), not by the lock holder, so its take cannot be written',
                      p_job, j.display_name, j.role_name);
    END IF;
    IF j.segment_id IS DISTINCT FROM p_segment THEN
        RETURN format('job %s does not render into segment %s', p_job, p_segment);
    END IF;
    IF j.status NOT IN ('succeeded', 'failed', 'cancelled') THEN
        RETURN format('job %s has not finished (it is %s)', p_job, j.status);
    END IF;
    IF p_table = 'takes' AND p_op = 'UPDATE' THEN
        IF (p_old ->> 'id')::integer = j.take_id THEN
            IF (p_old - outcome) = (p_new - outcome) AND (p_new ->> 'job_id')::integer = p_job
               AND coalesce((p_old ->> 'job_id')::integer, p_job) = p_job THEN
                IF v_file IS NOT NULL AND (p_new -> 'file_id') IS DISTINCT FROM (p_old -> 'file_id')
                   AND NOT EXISTS (SELECT 1 FROM public.job_outputs o WHERE o.job_id = p_job AND o.file_id = v_file) THEN
                    RETURN format('file %s is not an output of job %s', v_file, p_job);
                END IF;
                IF j.status <> 'succeeded' AND (p_new -> 'take_status_id') IS DISTINCT FROM (p_old -> 'take_status_id')
                   AND (p_new ->> 'take_status_id')::integer <> ALL (ended) THEN
                    RETURN format('job %s %s, so its take can only be marked failed or cancelled', p_job,
                                  CASE j.status WHEN 'failed' THEN 'failed' ELSE 'was cancelled' END);
                END IF;
                RETURN NULL;
            END IF;
        ELSIF (p_old - 'take_status_id') = (p_new - 'take_status_id')
              AND (p_new ->> 'take_status_id')::integer = superseded THEN
            IF j.status <> 'succeeded' THEN
                RETURN format('job %s did not succeed, so it cannot supersede take %s', p_job, p_old ->> 'id');
            END IF;
            RETURN NULL;
        END IF;
    ELSIF p_table = 'segments' AND p_op = 'UPDATE' THEN
        IF (p_old - ARRAY['segment_status_id', 'current_take_id', 'updated_at'])
                = (p_new - ARRAY['segment_status_id', 'current_take_id', 'updated_at'])
           AND ((p_new -> 'current_take_id') = (p_old -> 'current_take_id')
                OR (p_new ->> 'current_take_id')::integer = j.take_id) THEN
            IF (p_new -> 'current_take_id') IS DISTINCT FROM (p_old -> 'current_take_id') AND j.status <> 'succeeded' THEN
                RETURN format('job %s did not succeed, so its take cannot become the current take', p_job);
            END IF;
            RETURN NULL;
        END IF;
    END IF;
    RETURN format('writing for job %s may only record its finished take (not %s %s)', p_job, p_op, p_table);
END
$$;
