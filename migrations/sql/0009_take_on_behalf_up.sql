-- X121 Studio, revision 0009: a locked segment's take may be written on behalf of the lock holder's job.
--
-- Revision 0006's guard lets only the lock holder change a locked segment, its takes and seams.
-- A job runs wherever a dispatcher claims it, and whichever director sees it finish records its
-- take, so the holder's own job, finished, could not be recorded by anyone but the holder.
-- Now a transaction may declare `SET LOCAL x121.for_job = '<job id>'`, and the guard lets a user
-- who is not the holder record that job's outcome when, and only when:
--   * the job was submitted by the lock's holder (jobs.owner_id = holder),
--   * the job renders into a take of this segment (jobs.take_id) and has finished
--     (succeeded, failed or cancelled),
--   * the change only records that outcome: the job's own take (status, file, job, frame count,
--     cut frame, likeness; its job_id must be the job), the previous current take marked
--     superseded, and the segment's status and current take (only to the job's take).
-- Everything else on a locked segment stays the holder's alone (new takes, deletions, seams,
-- prompts, other columns). A job submitted by anyone else is refused with a sentence naming
-- both people. Also: seed origin 'refined' (a Seed A variant made by a pipeline script).
-- Runs as a superuser; the functions are handed to x121_owner and kept from PUBLIC.

INSERT INTO public.seed_origin (id, code, label) VALUES (4, 'refined', 'Refined');

-- NULL when the write recorded on behalf of job `p_job` is allowed, else what is wrong (a clause).
CREATE FUNCTION public.x121_job_write_refusal(
    p_job integer, p_segment integer, p_holder integer, p_table text, p_op text, p_old jsonb, p_new jsonb
) RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    j record;
    outcome text[] := ARRAY['take_status_id', 'file_id', 'job_id', 'frame_count', 'cut_frame', 'likeness_distance'];
    superseded integer := (SELECT s.id FROM public.take_status s WHERE s.code = 'superseded');
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
                RETURN NULL;
            END IF;
        ELSIF (p_old - 'take_status_id') = (p_new - 'take_status_id')
              AND (p_new ->> 'take_status_id')::integer = superseded THEN
            RETURN NULL;
        END IF;
    ELSIF p_table = 'segments' AND p_op = 'UPDATE' THEN
        IF (p_old - ARRAY['segment_status_id', 'current_take_id', 'updated_at'])
                = (p_new - ARRAY['segment_status_id', 'current_take_id', 'updated_at'])
           AND ((p_new -> 'current_take_id') = (p_old -> 'current_take_id')
                OR (p_new ->> 'current_take_id')::integer = j.take_id) THEN
            RETURN NULL;
        END IF;
    END IF;
    RETURN format('writing for job %s may only record its finished take (not %s %s)', p_job, p_op, p_table);
END
$$;

------------------------------------------------------------------ the lock guard, with the job rule
CREATE OR REPLACE FUNCTION public.x121_guard_segment_lock() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    o jsonb := CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END;
    n jsonb := CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END;
    ids integer[];
    token_text text := nullif(current_setting('x121.lease_token', true), '');
    job_text text := nullif(current_setting('x121.for_job', true), '');
    token uuid;
    uid integer;
    r record;
    refusal text;
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
    IF job_text IS NOT NULL AND job_text !~ '^[0-9]{1,9}$' THEN
        RAISE EXCEPTION 'x121.for_job is not a job id' USING ERRCODE = 'invalid_parameter_value';
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
            IF job_text IS NULL THEN
                RAISE EXCEPTION 'segment % is locked by % (%) on % until %', r.segment_id, r.display_name,
                    r.role_name, r.machine, to_char(r.expires_at, 'YYYY-MM-DD HH24:MI:SS TZ')
                    USING ERRCODE = 'lock_not_available',
                          HINT = 'Wait for the lock to be released, or ask an admin to break it.';
            END IF;
            refusal := public.x121_job_write_refusal(job_text::integer, r.segment_id, r.holder_id,
                                                     TG_TABLE_NAME::text, TG_OP::text, o, n);
            IF refusal IS NOT NULL THEN
                RAISE EXCEPTION 'segment % is locked by % (%) on % until %, and %', r.segment_id,
                    r.display_name, r.role_name, r.machine, to_char(r.expires_at, 'YYYY-MM-DD HH24:MI:SS TZ'),
                    refusal
                    USING ERRCODE = 'lock_not_available',
                          HINT = 'Wait for the lock to be released, or ask an admin to break it.';
            END IF;
            CONTINUE;
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

ALTER FUNCTION public.x121_job_write_refusal(integer, integer, integer, text, text, jsonb, jsonb) OWNER TO x121_owner;
REVOKE ALL ON FUNCTION public.x121_job_write_refusal(integer, integer, integer, text, text, jsonb, jsonb) FROM PUBLIC;
ALTER FUNCTION public.x121_guard_segment_lock() OWNER TO x121_owner;
REVOKE ALL ON FUNCTION public.x121_guard_segment_lock() FROM PUBLIC;
