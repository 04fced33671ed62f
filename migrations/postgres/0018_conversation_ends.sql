-- A conversation's first and last message ids are kept on its relation, by
-- the trigger that already counts its messages, so that a history page or a
-- chat socket reads them from the row it joins anyway.
--
-- Why not MIN(id)/MAX(id) per read: PostgreSQL plans those as a walk of the
-- primary key from one end, filtered by the pair, whenever its statistics say
-- the pair is common. For the largest conversation of a busy database the
-- walk crosses every other conversation's older messages first (measured by
-- radar-bench's scaling scenario after its other scenarios: 11,419 rows
-- filtered for one MIN, history first page 4-5x slower at N = 10,000).
--
-- last_msg_id was kept by the send path only; the trigger now keeps it for
-- every writer (a bulk load, SQL by hand), and the send path no longer needs
-- its own statement for it.
ALTER TABLE relation ADD COLUMN first_msg_id BIGINT;

UPDATE relation SET first_msg_id = (
    SELECT MIN(m.id) FROM chat_message m
    WHERE m.user_id = relation.user_id AND m.customer_id = relation.customer_id)
WHERE msg_count > 0;

CREATE OR REPLACE FUNCTION chat_message_counters() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE relation SET
            msg_count = msg_count + 1,
            user_unread = user_unread + CASE WHEN NEW.send_type = 2 AND NEW.id > user_read_id THEN 1 ELSE 0 END,
            customer_unread = customer_unread + CASE WHEN NEW.send_type = 1 AND NEW.id > customer_read_id THEN 1 ELSE 0 END,
            first_msg_id = LEAST(first_msg_id, NEW.id),
            last_msg_id = GREATEST(last_msg_id, NEW.id)
        WHERE user_id = NEW.user_id AND customer_id = NEW.customer_id;
        RETURN NEW;
    END IF;
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
    RETURN OLD;
END
$$;
