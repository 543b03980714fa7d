-- X121 Studio, revision 0013: jobs on hold, a paused queue per user and a paused studio queue
-- (docs/SECURITY.md "Jobs on hold", docs/QUEUE.md "On hold and paused queues").
--
--   * job status 11 'held' (On hold): a queued job no dispatcher claims. It keeps its id, created_at,
--     work estimate and priority, so when it is released (back to queued) it has the place in its
--     batch and its owner's fair-share turn it had. Event kinds 18 'held' and 19 'released'.
--   * x121_hold_job(job) / x121_release_job(job): SECURITY DEFINER, the job's owner or an admin
--     (x121_job_for_owner, 42501 otherwise); hold only a queued job, release only a held one (22023).
--   * job_queue_pauses: a row per paused queue: a user's (user_id) or the studio's (user_id NULL).
--     x121_pause_queue(studio) / x121_resume_queue(studio): a user pauses their own queue (their
--     queued jobs are held, and so is every job they submit while it is paused, at insert, by
--     trigger); resuming releases the jobs the pause held (not those held one by one). Only an
--     admin pauses the studio queue: no job is claimed while it is paused (the claim statements
--     read it, and a trigger turns any other claim into a no-op). NOTIFY x121_job_queue on a change.
--   * x121_guard_job_hold: nobody moves a job into or out of 'held', or changes a held job, by a
--     plain UPDATE (only the functions above, and x121_cancel_job, which now cancels a held job at
--     once, like a queued one). Superuser sessions are not refused (as in revision 0012).
--   * An editor test run (job kind 10) is inserted and claimed at once for the server a person
--     chose (it never waits in the queue), so neither pause holds it.
-- Runs as a superuser; functions go to x121_owner.

INSERT INTO public.job_status (id, code, label) VALUES (11, 'held', 'On hold');
INSERT INTO public.job_event_kind (id, code, label) VALUES (18, 'held', 'Put on hold'), (19, 'released', 'Released from hold');

------------------------------------------------------------------ paused queues
CREATE TABLE public.job_queue_pauses (
    id serial NOT NULL,
    user_id integer,
    paused_by integer NOT NULL,
    paused_at timestamp with time zone NOT NULL DEFAULT now(),
    CONSTRAINT pk_job_queue_pauses PRIMARY KEY (id),
    CONSTRAINT uq_job_queue_pauses_user_id UNIQUE NULLS NOT DISTINCT (user_id),
    CONSTRAINT fk_job_queue_pauses_user_id_users FOREIGN KEY (user_id) REFERENCES public.users (id) ON DELETE CASCADE,
    CONSTRAINT fk_job_queue_pauses_paused_by_users FOREIGN KEY (paused_by) REFERENCES public.users (id) ON DELETE RESTRICT
);
ALTER TABLE public.job_queue_pauses OWNER TO x121_owner;
GRANT SELECT ON public.job_queue_pauses TO x121_reviewer;

------------------------------------------------------------------ the state machine
-- Mirrors core.orchestration.states.TRANSITIONS (tests/db/test_job_rights.py compares them).
CREATE OR REPLACE FUNCTION public.x121_job_transition_allowed(p_from smallint, p_to smallint) RETURNS boolean
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, public, pg_temp
AS $$
    SELECT p_to = ANY (CASE p_from
        WHEN 1 THEN '{2,8,9,11}'::smallint[]       -- queued: claimed, failed (refused), cancelled, held
        WHEN 2 THEN '{3,4,7,1,8,9,10}'::smallint[] -- claimed: uploading, submitted, succeeded (cache), released, ...
        WHEN 3 THEN '{4,1,8,9,10}'::smallint[]     -- uploading
        WHEN 4 THEN '{5,6,8,9,10}'::smallint[]     -- submitted
        WHEN 5 THEN '{6,8,9,10}'::smallint[]       -- running
        WHEN 6 THEN '{7,8,9,10}'::smallint[]       -- downloading
        WHEN 10 THEN '{1,8,9}'::smallint[]         -- lost: queued again, failed, cancelled
        WHEN 11 THEN '{1,9}'::smallint[]           -- held: released (queued), cancelled
        ELSE '{}'::smallint[] END)
$$;

------------------------------------------------------------------ guards
-- Into or out of 'held', or any change of a held job: only the functions (running as x121_owner).
-- A claim (queued -> claimed) while the studio queue is paused changes nothing (the row is skipped,
-- so the claim statement returns no job, as when another dispatcher took it); editor test runs excepted.
CREATE FUNCTION public.x121_guard_job_hold() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    IF current_user = 'x121_owner' THEN
        RETURN NEW;  -- x121_hold_job, x121_release_job, x121_pause_queue, x121_resume_queue, x121_cancel_job
    END IF;
    IF OLD.job_status_id = 1 AND NEW.job_status_id = 2 THEN
        IF OLD.job_kind_id <> 10 AND EXISTS (SELECT 1 FROM public.job_queue_pauses p WHERE p.user_id IS NULL) THEN
            RETURN NULL;
        END IF;
        RETURN NEW;
    END IF;
    IF public.x121_session_is_superuser() THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'job % can be put on hold, released or changed while on hold only by its owner or an admin, through x121_hold_job, x121_release_job or x121_cancel_job', OLD.id
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Hold or release it in the Jobs panel, or with x121 job hold / x121 job release.';
END
$$;

-- A job submitted while its owner's queue is paused is held at insert. The shared advisory lock
-- (122, owner) orders this against x121_pause_queue / x121_resume_queue (which take it exclusively),
-- so no submission slips past a pause or a resume that runs at the same time.
CREATE FUNCTION public.x121_hold_if_queue_paused() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    PERFORM pg_catalog.pg_advisory_xact_lock_shared(122, NEW.owner_id);
    IF EXISTS (SELECT 1 FROM public.job_queue_pauses p WHERE p.user_id = NEW.owner_id) THEN
        NEW.job_status_id := 11;
    END IF;
    RETURN NEW;
END
$$;

-- Its 'held' event (and NOTIFY), once the row is in. SECURITY DEFINER: the owner may not write that
-- event kind itself.
CREATE FUNCTION public.x121_log_held_at_insert() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    PERFORM public.x121_log_job_event(NEW.id, 'held', 11::smallint, NEW.owner_id, NULL,
        jsonb_build_object('queue_paused', true, 'at_submission', true));
    RETURN NULL;
END
$$;

------------------------------------------------------------------ hold and release one job
-- 'held' or 'already_held'. The job's owner or an admin; a queued job only (22023 otherwise).
CREATE FUNCTION public.x121_hold_job(p_job integer) RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    j public.jobs := public.x121_job_for_owner(p_job, 'hold');
BEGIN
    IF j.job_status_id = 11 THEN
        RETURN 'already_held';
    END IF;
    IF j.job_status_id <> 1 THEN
        RAISE EXCEPTION 'Job % is %; only a queued job can be put on hold', p_job,
            (SELECT lower(s.label) FROM public.job_status s WHERE s.id = j.job_status_id)
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = CASE WHEN j.job_status_id IN (7, 8, 9) THEN 'It has ended; retry it to run it again.'
                              ELSE 'A dispatcher has it already; cancel it if it must not run.' END;
    END IF;
    UPDATE public.jobs SET job_status_id = 11, updated_at = now() WHERE id = p_job;
    PERFORM public.x121_log_job_event(p_job, 'held', 11::smallint, j.owner_id, NULL,
        jsonb_build_object('by_user', public.x121_current_user_id()));
    RETURN 'held';
END
$$;

-- 'released' or 'not_held' (it was queued already). The job's owner or an admin; a job on hold only
-- (22023 otherwise). It goes back to queued with everything that orders the queue unchanged.
CREATE FUNCTION public.x121_release_job(p_job integer) RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    j public.jobs := public.x121_job_for_owner(p_job, 'release');
BEGIN
    IF j.job_status_id = 1 THEN
        RETURN 'not_held';
    END IF;
    IF j.job_status_id <> 11 THEN
        RAISE EXCEPTION 'Job % is %; only a job on hold can be released', p_job,
            (SELECT lower(s.label) FROM public.job_status s WHERE s.id = j.job_status_id)
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Pick a job that is on hold.';
    END IF;
    UPDATE public.jobs SET job_status_id = 1, updated_at = now() WHERE id = p_job;
    PERFORM public.x121_log_job_event(p_job, 'released', 1::smallint, j.owner_id, NULL,
        jsonb_build_object('by_user', public.x121_current_user_id()));
    RETURN 'released';
END
$$;

------------------------------------------------------------------ pause and resume a queue
-- One NOTIFY on x121_job_queue: {"scope": "user" | "studio", "user_id", "paused", "by_user", "jobs"}.
CREATE FUNCTION public.x121_notify_queue(p_user integer, p_paused boolean, p_jobs integer) RETURNS void
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, public, pg_temp
AS $$
    SELECT pg_notify('x121_job_queue', json_build_object(
        'scope', CASE WHEN p_user IS NULL THEN 'studio' ELSE 'user' END, 'user_id', p_user, 'paused', p_paused,
        'by_user', public.x121_current_user_id(), 'jobs', p_jobs)::text)
$$;

-- Pause the caller's queue (p_studio false): every queued job of theirs is held, and every job they
-- submit until they resume is held at insert. Or, admins only, the studio's (p_studio true): no job
-- is claimed until it is resumed (queued jobs stay queued; jobs already on servers run to the end).
-- Returns the number of jobs it held.
CREATE FUNCTION public.x121_pause_queue(p_studio boolean DEFAULT false) RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    me integer := public.x121_current_user_id();
    v_user integer := CASE WHEN p_studio THEN NULL ELSE me END;
    r record;
    n integer := 0;
    fresh boolean;
BEGIN
    IF me IS NULL THEN
        RAISE EXCEPTION 'this login is not a studio user, so it has no queue to pause'
            USING ERRCODE = 'insufficient_privilege', HINT = 'Ask an admin to add you (x121 user add).';
    END IF;
    IF p_studio AND NOT public.x121_is_admin() THEN
        RAISE EXCEPTION 'only a studio admin can pause the studio queue'
            USING ERRCODE = 'insufficient_privilege', HINT = 'Pause your own queue instead, or ask an admin.';
    END IF;
    IF NOT p_studio THEN
        PERFORM pg_catalog.pg_advisory_xact_lock(122, me);
    END IF;
    INSERT INTO public.job_queue_pauses (user_id, paused_by) VALUES (v_user, me)
        ON CONFLICT (user_id) DO NOTHING;
    fresh := FOUND;
    IF NOT p_studio THEN
        FOR r IN UPDATE public.jobs SET job_status_id = 11, updated_at = now()
                  WHERE owner_id = me AND job_status_id = 1 AND job_kind_id <> 10 RETURNING id
        LOOP
            PERFORM public.x121_log_job_event(r.id, 'held', 11::smallint, me, NULL,
                jsonb_build_object('by_user', me, 'queue_paused', true));
            n := n + 1;
        END LOOP;
    END IF;
    IF fresh OR n > 0 THEN
        PERFORM public.x121_notify_queue(v_user, true, n);
    END IF;
    RETURN n;
END
$$;

-- Resume the caller's queue (p_studio false): the jobs its pause held are released (jobs held one
-- by one stay on hold). Or, admins only, the studio's (p_studio true). Returns the number released.
CREATE FUNCTION public.x121_resume_queue(p_studio boolean DEFAULT false) RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    me integer := public.x121_current_user_id();
    v_user integer := CASE WHEN p_studio THEN NULL ELSE me END;
    r record;
    n integer := 0;
    gone boolean;
BEGIN
    IF me IS NULL THEN
        RAISE EXCEPTION 'this login is not a studio user, so it has no queue to resume'
            USING ERRCODE = 'insufficient_privilege', HINT = 'Ask an admin to add you (x121 user add).';
    END IF;
    IF p_studio AND NOT public.x121_is_admin() THEN
        RAISE EXCEPTION 'only a studio admin can resume the studio queue'
            USING ERRCODE = 'insufficient_privilege', HINT = 'Ask an admin to resume it.';
    END IF;
    IF NOT p_studio THEN
        PERFORM pg_catalog.pg_advisory_xact_lock(122, me);
    END IF;
    DELETE FROM public.job_queue_pauses p WHERE p.user_id IS NOT DISTINCT FROM v_user;
    gone := FOUND;
    IF NOT p_studio THEN
        FOR r IN UPDATE public.jobs j SET job_status_id = 1, updated_at = now()
                  WHERE j.owner_id = me AND j.job_status_id = 11
                    AND coalesce((SELECT (e.data ->> 'queue_paused')::boolean FROM public.job_events e
                                   WHERE e.job_id = j.id AND e.job_event_kind_id = 18
                                   ORDER BY e.id DESC LIMIT 1), false)
                  RETURNING j.id
        LOOP
            PERFORM public.x121_log_job_event(r.id, 'released', 1::smallint, me, NULL,
                jsonb_build_object('by_user', me, 'queue_resumed', true));
            n := n + 1;
        END LOOP;
    END IF;
    IF gone OR n > 0 THEN
        PERFORM public.x121_notify_queue(v_user, false, n);
    END IF;
    RETURN n;
END
$$;

------------------------------------------------------------------ cancel: a held job ends at once
CREATE OR REPLACE FUNCTION public.x121_cancel_job(p_job integer) RETURNS text
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
    IF j.job_status_id NOT IN (1, 11) THEN
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

------------------------------------------------------------------ triggers
-- Named to fire before x121_guard_job_update (BEFORE triggers run in name order).
CREATE TRIGGER x121_guard_job_hold BEFORE UPDATE ON public.jobs
    FOR EACH ROW WHEN (OLD.job_status_id = 11 OR NEW.job_status_id = 11
                       OR (OLD.job_status_id = 1 AND NEW.job_status_id = 2))
    EXECUTE FUNCTION public.x121_guard_job_hold();
-- After x121_guard_job_insert (name order), which checks the job is inserted queued.
CREATE TRIGGER x121_hold_if_queue_paused BEFORE INSERT ON public.jobs
    FOR EACH ROW WHEN (NEW.job_status_id = 1 AND NEW.job_kind_id <> 10)
    EXECUTE FUNCTION public.x121_hold_if_queue_paused();
CREATE TRIGGER x121_log_held_at_insert AFTER INSERT ON public.jobs
    FOR EACH ROW WHEN (NEW.job_status_id = 11)
    EXECUTE FUNCTION public.x121_log_held_at_insert();

------------------------------------------------------------------ privileges
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT p.oid::regprocedure AS fn
        FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = 'public' AND p.proname IN (
            'x121_guard_job_hold', 'x121_hold_if_queue_paused', 'x121_log_held_at_insert', 'x121_hold_job',
            'x121_release_job', 'x121_notify_queue', 'x121_pause_queue', 'x121_resume_queue')
    LOOP
        EXECUTE format('ALTER FUNCTION %s OWNER TO x121_owner', r.fn);
        EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', r.fn);
    END LOOP;
END
$$;
GRANT EXECUTE ON FUNCTION public.x121_hold_job(integer), public.x121_release_job(integer),
    public.x121_pause_queue(boolean), public.x121_resume_queue(boolean) TO x121_creator;
