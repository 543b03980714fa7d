-- Revision 0009 downgrade: the guard of revision 0006 is put back by the migration (from
-- 0006_collab_up.sql) before this runs; here the job rule's helper and the 'refined' origin go.
DROP FUNCTION IF EXISTS public.x121_job_write_refusal(integer, integer, integer, text, text, jsonb, jsonb);
DELETE FROM public.seed_origin WHERE id = 4 AND code = 'refined';
