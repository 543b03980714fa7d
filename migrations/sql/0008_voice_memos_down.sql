-- Revision 0008 downgrade: remove the voice memo function (memos already saved stay).
DROP FUNCTION IF EXISTS public.x121_add_voice_memo(integer, integer, integer, jsonb, text, text, bigint);
