-- Hot-path indexes (issue 7).
-- The contact list's "last article viewed" per conversation: one seek instead
-- of reading every access_log row of the pair.
CREATE INDEX access_log_pair_action ON access_log (user_id, customer_id, action, id);
-- A rep's message inherits the conversation's article attribution: one seek
-- instead of walking the conversation backwards until a customer message with
-- an article turns up (all of it, when there is none).
CREATE INDEX chat_message_article ON chat_message (user_id, customer_id, id)
    WHERE send_type = 2 AND article_id IS NOT NULL;
