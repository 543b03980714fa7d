-- X121 Studio, revision 0018 down: the guard on seed files goes (their classes stay as they are).
DROP TRIGGER IF EXISTS x121_guard_seed_files ON public.files;
DROP FUNCTION IF EXISTS public.x121_guard_seed_files();
