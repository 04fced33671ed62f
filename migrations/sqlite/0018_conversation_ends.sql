-- A conversation's first and last message ids are kept on its relation, by
-- the trigger that already counts its messages, so that a history page or a
-- chat socket reads them from the row it joins anyway (see the PostgreSQL
-- migration for why MIN/MAX per read is not flat there).
--
-- last_msg_id was kept by the send path only; the trigger now keeps it for
-- every writer (a bulk load, SQL by hand).
ALTER TABLE relation ADD COLUMN first_msg_id BIGINT;

UPDATE relation SET first_msg_id = (
    SELECT MIN(m.id) FROM chat_message m
    WHERE m.user_id = relation.user_id AND m.customer_id = relation.customer_id)
WHERE msg_count > 0;

DROP TRIGGER chat_message_counters_insert;
DROP TRIGGER chat_message_counters_delete;

CREATE TRIGGER chat_message_counters_insert AFTER INSERT ON chat_message
BEGIN
    UPDATE relation SET
        msg_count = msg_count + 1,
        user_unread = user_unread + CASE WHEN NEW.send_type = 2 AND NEW.id > user_read_id THEN 1 ELSE 0 END,
        customer_unread = customer_unread + CASE WHEN NEW.send_type = 1 AND NEW.id > customer_read_id THEN 1 ELSE 0 END,
        first_msg_id = CASE WHEN first_msg_id IS NULL OR NEW.id < first_msg_id THEN NEW.id ELSE first_msg_id END,
        last_msg_id = CASE WHEN last_msg_id IS NULL OR NEW.id > last_msg_id THEN NEW.id ELSE last_msg_id END
    WHERE user_id = NEW.user_id AND customer_id = NEW.customer_id;
END;

CREATE TRIGGER chat_message_counters_delete AFTER DELETE ON chat_message
BEGIN
    UPDATE relation SET
        msg_count = msg_count - 1,
        user_unread = user_unread - CASE WHEN OLD.send_type = 2 AND OLD.id > user_read_id THEN 1 ELSE 0 END,
        customer_unread = customer_unread - CASE WHEN OLD.send_type = 1 AND OLD.id > customer_read_id THEN 1 ELSE 0 END,
        first_msg_id = CASE WHEN OLD.id = first_msg_id THEN
            (SELECT MIN(m.id) FROM chat_message m
             WHERE m.user_id = OLD.user_id AND m.customer_id = OLD.customer_id)
            ELSE first_msg_id END,
        last_msg_id = CASE WHEN OLD.id = last_msg_id THEN
            (SELECT MAX(m.id) FROM chat_message m
             WHERE m.user_id = OLD.user_id AND m.customer_id = OLD.customer_id)
            ELSE last_msg_id END
    WHERE user_id = OLD.user_id AND customer_id = OLD.customer_id;
END;
