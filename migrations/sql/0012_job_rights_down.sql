-- Revision 0012 downgrade: revision 0009's x121_job_write_refusal is put back by the migration (from
-- 0009_take_on_behalf_up.sql) before this runs; here the job guards, functions and column go and
-- creators get back the plain INSERT/UPDATE/DELETE of revision 0002.
DROP TRIGGER x121_guard_job_insert ON public.jobs;
DROP TRIGGER x121_guard_job_update ON public.jobs;
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['job_attempts', 'job_events', 'job_outputs', 'node_timings', 'cost_records'] LOOP
        EXECUTE format('DROP TRIGGER x121_guard_job_record ON public.%I', t);
    END LOOP;
END
$$;
DROP FUNCTION public.x121_move_job_to_front(integer);
DROP FUNCTION public.x121_cancel_job(integer);
DROP FUNCTION public.x121_job_for_owner(integer, text);
DROP FUNCTION public.x121_log_job_event(integer, text, smallint, integer, integer, jsonb);
DROP FUNCTION public.x121_guard_job_record();
DROP FUNCTION public.x121_guard_job_update();
DROP FUNCTION public.x121_guard_job_insert();
DROP FUNCTION public.x121_job_transition_allowed(smallint, smallint);

REVOKE INSERT, UPDATE ON public.jobs FROM x121_creator;  -- with the column privileges
GRANT INSERT, UPDATE, DELETE ON public.jobs TO x121_creator;
REVOKE DELETE ON public.jobs FROM x121_admin;
GRANT UPDATE, DELETE ON public.job_events, public.job_outputs, public.node_timings TO x121_creator;
GRANT DELETE ON public.job_attempts TO x121_creator;

ALTER TABLE public.jobs DROP COLUMN lease_login;
