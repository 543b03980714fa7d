-- X121 Studio, revision 0017 down: remove x121_keep_seed_file. Seed files stay PERMANENT (a seed is
-- permanent anyway; no earlier class is remembered to go back to).
DROP FUNCTION IF EXISTS public.x121_keep_seed_file(integer);
