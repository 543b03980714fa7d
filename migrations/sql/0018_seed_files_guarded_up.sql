-- X121 Studio, revision 0018: a permanent seed image's file row is guarded (docs/SECURITY.md "Seed permanence").
--
-- Revision 0017 raises a seed's file to PERMANENT, but admins keep revision 0002's UPDATE and DELETE on
-- `files`, so an admin could lower that class again (or rewrite the row's path or hash) and a retention
-- janitor going by class would then take a Seed A/B image's pixels away while the seed row stays.
-- x121_guard_seed_files (BEFORE UPDATE on files), for a file some Seed A/B image uses: an UPDATE may
-- only raise the retention class (toward PERMANENT, the lower lookup id); every other column stays
-- (23001 restrict_violation otherwise), as x121_seed_images_permanent keeps the seed row itself. A
-- DELETE is already refused by the seed's foreign key (ON DELETE RESTRICT).
-- Superuser sessions (repairs, migrations, tests) pass, as in revision 0012.

CREATE FUNCTION public.x121_guard_seed_files() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    IF public.x121_session_is_superuser() OR NOT EXISTS (
        SELECT 1 FROM public.seed_images s JOIN public.seed_kind k ON k.id = s.seed_kind_id
        WHERE s.file_id = OLD.id AND k.code IN ('a', 'b')
    ) THEN
        RETURN NEW;
    END IF;
    IF (to_jsonb(NEW) - 'retention_class_id') IS DISTINCT FROM (to_jsonb(OLD) - 'retention_class_id')
       OR NEW.retention_class_id > OLD.retention_class_id THEN
        RAISE EXCEPTION 'file % holds a permanent Seed A/B image: only its retention class may change, and only toward permanent', OLD.id
            USING ERRCODE = 'restrict_violation', HINT = 'Seed images and their files are kept for good.';
    END IF;
    RETURN NEW;
END
$$;
ALTER FUNCTION public.x121_guard_seed_files() OWNER TO x121_owner;
REVOKE ALL ON FUNCTION public.x121_guard_seed_files() FROM PUBLIC;  -- a trigger runs it; nobody calls it

CREATE TRIGGER x121_guard_seed_files BEFORE UPDATE ON public.files
    FOR EACH ROW EXECUTE FUNCTION public.x121_guard_seed_files();
