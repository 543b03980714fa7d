-- X121 Studio, revision 0017: a seed image's file is PERMANENT (docs/SECURITY.md "Seed permanence").
--
-- Seed images are permanent for every role, but their `files` row carries its own retention class.
-- The media store is content-addressed: when a generated seed's bytes already have a row (the job's
-- output, stored by the dispatcher as WORKING), recording the seed reuses that row, and a retention
-- janitor going by class would treat the seed's file as working material. Creators may INSERT into
-- `files` but not UPDATE it (0002's grants), so they cannot fix the class themselves.
--
-- x121_keep_seed_file(file) raises that file's retention class to PERMANENT, in the caller's
-- transaction, and does nothing else. The rule is as tight as recording a seed needs:
--   * the caller is an active studio user who may write seed images (creators and admins;
--     x121_is_creator() is true for admins too), else 42501;
--   * the file is the file of at least one seed image (any character: creators may write every
--     character's seeds, and a seed's file is already kept by the seed's ON DELETE RESTRICT, so
--     calling it PERMANENT states what is already true and keeps nothing else from the janitor),
--     else 42501: it cannot be used to pin an arbitrary file;
--   * it only ever raises: the target is always PERMANENT, the strictest class, and the row is only
--     changed when its class is weaker. Strictness follows the retention_class lookup ids
--     (1 permanent, 2 deliverable, 3 working, 4 scratch, 5 cache; a lower id is stricter), so the
--     UPDATE's `retention_class_id > permanent` means "weaker than permanent". There is no argument
--     naming a class, so nobody can lower a retention class through it.
-- Returns true when it changed the class, false when the file was already PERMANENT.
--
-- The seed files already recorded with a weaker class are raised once, here.
-- Runs as a superuser; the function is handed to x121_owner and granted to x121_creator (admins inherit).

CREATE FUNCTION public.x121_keep_seed_file(p_file_id integer) RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    v_permanent smallint := (SELECT r.id FROM public.retention_class r WHERE r.code = 'permanent');
BEGIN
    IF public.x121_current_user_id() IS NULL OR NOT public.x121_is_creator() THEN
        RAISE EXCEPTION 'only creators and admins can keep a seed''s file permanent'
            USING ERRCODE = 'insufficient_privilege', HINT = 'Ask a creator or an admin to record the seed.';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM public.seed_images s WHERE s.file_id = p_file_id) THEN
        RAISE EXCEPTION 'file % is not the file of a seed image; only seed files are kept permanent this way',
            p_file_id
            USING ERRCODE = 'insufficient_privilege', HINT = 'Record the seed first, then keep its file.';
    END IF;
    UPDATE public.files f SET retention_class_id = v_permanent
    WHERE f.id = p_file_id AND f.retention_class_id > v_permanent;
    RETURN FOUND;
END
$$;

ALTER FUNCTION public.x121_keep_seed_file(integer) OWNER TO x121_owner;
REVOKE ALL ON FUNCTION public.x121_keep_seed_file(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.x121_keep_seed_file(integer) TO x121_creator;

UPDATE public.files f SET retention_class_id = (SELECT r.id FROM public.retention_class r WHERE r.code = 'permanent')
WHERE f.retention_class_id > (SELECT r.id FROM public.retention_class r WHERE r.code = 'permanent')
  AND EXISTS (SELECT 1 FROM public.seed_images s WHERE s.file_id = f.id);
