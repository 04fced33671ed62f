-- Flat costs (issue 13): the counts behind `data_count` and the unread badges
-- are kept on write instead of counted per read, and the contact list has one
-- index per allowed order, so a first page or a badge costs the same for a
-- rep with a thousand customers as for one with fifty thousand.
--
-- The counters are kept by triggers, in the transaction of the write that
-- changes them, whoever writes the row (the service, the CLI, the bench's bulk
-- loader). Every counter equals a recount from the base tables:
--   relation.msg_count        messages of the pair
--   relation.user_unread      the customer's messages above user_read_id
--   relation.customer_unread  the rep's messages above customer_read_id
--   sales_user.unread_msg_num SUM(user_unread) over the rep's relations
--   sales_user.chat_count     the rep's relations with a last message
--   rep_book.customers        the rep's relations per source
ALTER TABLE relation ADD COLUMN msg_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE relation ADD COLUMN user_unread BIGINT NOT NULL DEFAULT 0;
ALTER TABLE relation ADD COLUMN customer_unread BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sales_user ADD COLUMN unread_msg_num BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sales_user ADD COLUMN chat_count BIGINT NOT NULL DEFAULT 0;

CREATE TABLE rep_book (
    user_id BIGINT NOT NULL,
    source BIGINT NOT NULL,
    customers BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, source)
);

-- A watermark's recount reads only the index: one side's messages of a pair.
CREATE INDEX chat_message_pair_type ON chat_message (user_id, customer_id, send_type, id);

-- The contact list in each allowed order (contacts.rs: descending is NULLs
-- last, ascending NULLs first, ties newest relation first), walked forward;
-- the source rides along for the customer_type/customer__source filters.
CREATE INDEX relation_book_pr_desc ON relation (user_id, expedted_pr DESC, id DESC, source);
CREATE INDEX relation_book_pr_asc ON relation (user_id, expedted_pr ASC, id DESC, source);
CREATE INDEX relation_book_follow_desc ON relation (user_id, last_follow_time DESC, id DESC, source);
CREATE INDEX relation_book_follow_asc ON relation (user_id, last_follow_time ASC, id DESC, source);
CREATE INDEX relation_book_activity_desc ON relation (user_id, last_activity_time DESC, id DESC, source);
CREATE INDEX relation_book_activity_asc ON relation (user_id, last_activity_time ASC, id DESC, source);
CREATE INDEX relation_book_created_desc ON relation (user_id, create_date DESC, id DESC, source);
CREATE INDEX relation_book_created_asc ON relation (user_id, create_date ASC, id DESC, source);

-- Backfill, before the triggers exist (they would count it twice).
UPDATE relation SET
    msg_count = (SELECT COUNT(*) FROM chat_message m
                 WHERE m.user_id = relation.user_id AND m.customer_id = relation.customer_id),
    user_unread = (SELECT COUNT(*) FROM chat_message m
                   WHERE m.user_id = relation.user_id AND m.customer_id = relation.customer_id
                     AND m.send_type = 2 AND m.id > relation.user_read_id),
    customer_unread = (SELECT COUNT(*) FROM chat_message m
                       WHERE m.user_id = relation.user_id AND m.customer_id = relation.customer_id
                         AND m.send_type = 1 AND m.id > relation.customer_read_id);
UPDATE sales_user SET
    unread_msg_num = (SELECT COALESCE(SUM(r.user_unread), 0) FROM relation r WHERE r.user_id = sales_user.id),
    chat_count = (SELECT COUNT(*) FROM relation r WHERE r.user_id = sales_user.id AND r.last_msg_id IS NOT NULL);
INSERT INTO rep_book (user_id, source, customers)
SELECT user_id, source, COUNT(*) FROM relation GROUP BY user_id, source;

-- A message counts for its pair, and as unread for the side that did not
-- write it while above that side's watermark (a system tip, 3, for neither).
CREATE TRIGGER chat_message_counters_insert AFTER INSERT ON chat_message
BEGIN
    UPDATE relation SET
        msg_count = msg_count + 1,
        user_unread = user_unread + CASE WHEN NEW.send_type = 2 AND NEW.id > user_read_id THEN 1 ELSE 0 END,
        customer_unread = customer_unread + CASE WHEN NEW.send_type = 1 AND NEW.id > customer_read_id THEN 1 ELSE 0 END
    WHERE user_id = NEW.user_id AND customer_id = NEW.customer_id;
END;

CREATE TRIGGER chat_message_counters_delete AFTER DELETE ON chat_message
BEGIN
    UPDATE relation SET
        msg_count = msg_count - 1,
        user_unread = user_unread - CASE WHEN OLD.send_type = 2 AND OLD.id > user_read_id THEN 1 ELSE 0 END,
        customer_unread = customer_unread - CASE WHEN OLD.send_type = 1 AND OLD.id > customer_read_id THEN 1 ELSE 0 END
    WHERE user_id = OLD.user_id AND customer_id = OLD.customer_id;
END;

-- A moved watermark recounts what lies above it (through chat_message_pair_type).
CREATE TRIGGER relation_user_read AFTER UPDATE OF user_read_id ON relation
WHEN NEW.user_read_id IS NOT OLD.user_read_id
BEGIN
    UPDATE relation SET user_unread = (
        SELECT COUNT(*) FROM chat_message m
        WHERE m.user_id = NEW.user_id AND m.customer_id = NEW.customer_id
          AND m.send_type = 2 AND m.id > NEW.user_read_id)
    WHERE id = NEW.id;
END;

CREATE TRIGGER relation_customer_read AFTER UPDATE OF customer_read_id ON relation
WHEN NEW.customer_read_id IS NOT OLD.customer_read_id
BEGIN
    UPDATE relation SET customer_unread = (
        SELECT COUNT(*) FROM chat_message m
        WHERE m.user_id = NEW.user_id AND m.customer_id = NEW.customer_id
          AND m.send_type = 1 AND m.id > NEW.customer_read_id)
    WHERE id = NEW.id;
END;

-- The rep's totals follow their relations.
CREATE TRIGGER relation_user_unread AFTER UPDATE OF user_unread ON relation
WHEN NEW.user_unread <> OLD.user_unread
BEGIN
    UPDATE sales_user SET unread_msg_num = unread_msg_num + NEW.user_unread - OLD.user_unread
    WHERE id = NEW.user_id;
END;

CREATE TRIGGER relation_chat_count AFTER UPDATE OF last_msg_id ON relation
WHEN (OLD.last_msg_id IS NULL) <> (NEW.last_msg_id IS NULL)
BEGIN
    UPDATE sales_user SET chat_count = chat_count + CASE WHEN NEW.last_msg_id IS NULL THEN -1 ELSE 1 END
    WHERE id = NEW.user_id;
END;

CREATE TRIGGER relation_source AFTER UPDATE OF source ON relation
WHEN NEW.source <> OLD.source
BEGIN
    UPDATE rep_book SET customers = customers - 1 WHERE user_id = OLD.user_id AND source = OLD.source;
    INSERT INTO rep_book (user_id, source, customers) VALUES (NEW.user_id, NEW.source, 1)
    ON CONFLICT (user_id, source) DO UPDATE SET customers = customers + 1;
END;

CREATE TRIGGER relation_counters_insert AFTER INSERT ON relation
BEGIN
    INSERT INTO rep_book (user_id, source, customers) VALUES (NEW.user_id, NEW.source, 1)
    ON CONFLICT (user_id, source) DO UPDATE SET customers = customers + 1;
    UPDATE sales_user SET
        unread_msg_num = unread_msg_num + NEW.user_unread,
        chat_count = chat_count + CASE WHEN NEW.last_msg_id IS NULL THEN 0 ELSE 1 END
    WHERE id = NEW.user_id AND (NEW.user_unread <> 0 OR NEW.last_msg_id IS NOT NULL);
END;

CREATE TRIGGER relation_counters_delete AFTER DELETE ON relation
BEGIN
    UPDATE rep_book SET customers = customers - 1 WHERE user_id = OLD.user_id AND source = OLD.source;
    UPDATE sales_user SET
        unread_msg_num = unread_msg_num - OLD.user_unread,
        chat_count = chat_count - CASE WHEN OLD.last_msg_id IS NULL THEN 0 ELSE 1 END
    WHERE id = OLD.user_id;
END;
