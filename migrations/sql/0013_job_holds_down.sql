-- X121 Studio, revision 0013 down: jobs on hold go back to the queue (their events of being held
-- and released are removed with their kinds), paused queues are forgotten, and revision 0012's
-- x121_cancel_job and x121_job_transition_allowed come back (appended by the revision file from
-- migrations/sql/0012_job_rights_up.sql, so there is one definition of each).

DROP TRIGGER x121_guard_job_hold ON public.jobs;
DROP TRIGGER x121_hold_if_queue_paused ON public.jobs;
DROP TRIGGER x121_log_held_at_insert ON public.jobs;
UPDATE public.jobs SET job_status_id = 1, updated_at = now() WHERE job_status_id = 11;
DELETE FROM public.job_events WHERE job_event_kind_id IN (18, 19);
DROP FUNCTION public.x121_pause_queue(boolean);
DROP FUNCTION public.x121_resume_queue(boolean);
DROP FUNCTION public.x121_notify_queue(integer, boolean, integer);
DROP FUNCTION public.x121_hold_job(integer);
DROP FUNCTION public.x121_release_job(integer);
DROP FUNCTION public.x121_log_held_at_insert();
DROP FUNCTION public.x121_hold_if_queue_paused();
DROP FUNCTION public.x121_guard_job_hold();
DROP TABLE public.job_queue_pauses;
DELETE FROM public.job_event_kind WHERE id IN (18, 19);
DELETE FROM public.job_status WHERE id = 11;
