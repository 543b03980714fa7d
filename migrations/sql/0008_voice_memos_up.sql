-- X121 Studio, revision 0008: reviewers save voice memos through one guarded function.
--
-- A memo is a `files` row (the audio, content-addressed in the media store) plus a VOICE
-- annotation pointing at it. Reviewers may not INSERT into `files` (docs/SECURITY.md), and
-- granting them that would let anyone record arbitrary files. Instead this SECURITY DEFINER
-- function stores exactly a memo: it checks that the caller is an active studio user of a
-- group, that the take exists and has rendered video, that the frames lie inside the take,
-- and that the file is an audio file named by its own sha256 (the media store's layout);
-- then it records the file row (or reuses the row of equal audio bytes) and the annotation,
-- both authored by the caller, in the caller's transaction.
-- Runs as a superuser; the function is handed to x121_owner and granted to x121_reviewer.

CREATE FUNCTION public.x121_add_voice_memo(
    p_take_id integer,
    p_frame_start integer,
    p_frame_count integer,
    p_data jsonb,
    p_sha256 text,
    p_rel_path text,
    p_size_bytes bigint
) RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    v_user integer := public.x121_current_user_id();
    v_audio smallint := (SELECT k.id FROM public.file_kind k WHERE k.code = 'audio');
    v_voice smallint := (SELECT k.id FROM public.annotation_kind k WHERE k.code = 'voice');
    v_take public.takes;
    v_file integer;
    v_kind smallint;
    v_id integer;
BEGIN
    IF v_user IS NULL OR NOT pg_catalog.pg_has_role(session_user, 'x121_reviewer', 'USAGE') THEN
        RAISE EXCEPTION 'only signed-in studio users can record voice memos'
            USING ERRCODE = 'insufficient_privilege', HINT = 'Sign in with your studio login.';
    END IF;
    SELECT * INTO v_take FROM public.takes t WHERE t.id = p_take_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'take % does not exist', p_take_id USING ERRCODE = 'no_data_found';
    END IF;
    IF v_take.file_id IS NULL THEN
        RAISE EXCEPTION 'take % has no rendered video to attach a voice memo to', p_take_id
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Record the memo once the take is rendered.';
    END IF;
    IF p_frame_start IS NULL OR p_frame_count IS NULL OR p_frame_start < 0 OR p_frame_count < 1
       OR (v_take.frame_count IS NOT NULL AND p_frame_start + p_frame_count > v_take.frame_count) THEN
        RAISE EXCEPTION 'frames %+% are not inside take %', p_frame_start, p_frame_count, p_take_id
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Record the memo over frames of the take.';
    END IF;
    IF p_sha256 IS NULL OR p_sha256 !~ '^[0-9a-f]{64}$'
       OR p_rel_path IS NULL
       OR p_rel_path !~ ('^' || left(p_sha256, 2) || '/' || substr(p_sha256, 3)
                         || '[.](wav|ogg|oga|opus|flac|mp3|m4a|aac|webm)$') THEN
        RAISE EXCEPTION 'a voice memo must be an audio file stored in the media store under its sha256'
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Save memos through X121 Studio.';
    END IF;
    IF p_size_bytes IS NULL OR p_size_bytes < 1 OR p_size_bytes > 268435456 THEN
        RAISE EXCEPTION 'a voice memo must hold between 1 byte and 256 MiB of audio'
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Record a shorter memo.';
    END IF;
    -- The media store's lock on these bytes (services/storage.py), so equal memos share one row.
    PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended('file:' || p_sha256, 121));
    SELECT f.id, f.file_kind_id INTO v_file, v_kind FROM public.files f WHERE f.sha256 = p_sha256 ORDER BY f.id LIMIT 1;
    IF v_file IS NULL THEN
        INSERT INTO public.files (sha256, rel_path, size_bytes, file_kind_id, retention_class_id, created_by)
        VALUES (p_sha256, p_rel_path, p_size_bytes, v_audio,
                (SELECT r.id FROM public.retention_class r WHERE r.code = 'working'), v_user)
        RETURNING id INTO v_file;
    ELSIF v_kind IS DISTINCT FROM v_audio THEN
        RAISE EXCEPTION 'these bytes are already stored as a file that is not audio'
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Record the memo again.';
    END IF;
    INSERT INTO public.annotations (take_id, author_id, annotation_kind_id, frame_start, frame_count, data,
                                    voice_file_id)
    VALUES (p_take_id, v_user, v_voice, p_frame_start, p_frame_count, coalesce(p_data, '{}'::jsonb), v_file)
    RETURNING id INTO v_id;
    RETURN v_id;
END
$$;

ALTER FUNCTION public.x121_add_voice_memo(integer, integer, integer, jsonb, text, text, bigint) OWNER TO x121_owner;
REVOKE ALL ON FUNCTION public.x121_add_voice_memo(integer, integer, integer, jsonb, text, text, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.x121_add_voice_memo(integer, integer, integer, jsonb, text, text, bigint)
    TO x121_reviewer;
