-- Result caches (server/src/changes.rs): every instance must drop what it
-- cached after any commit that writes a table the contact list reads.
--
-- A radar process whose event bus runs publishes its own write transactions
-- after they commit (one NOTIFY per burst, without a WAL flush), and marks
-- them with `SET LOCAL radar.writer = 'bus'`. Every other transaction that
-- writes these tables (`radar demo`'s bulk statements, a bulk load, SQL by
-- hand) sends one notification on `radar_touch` from these triggers;
-- PostgreSQL delivers it at commit and folds a transaction's identical
-- notifications into one. The bus's own transactions skip it because a
-- NOTIFY in a transaction serializes its commit, WAL flush included, with
-- every other notifying commit (measured: push p99 across two instances
-- 24-42 ms without the triggers' NOTIFY in sends, 103-128 ms with it).
-- SQLite needs nothing: its commits are seen in the WAL index.
CREATE FUNCTION radar_touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('radar.writer', true) IS DISTINCT FROM 'bus' THEN
        PERFORM pg_notify('radar_touch', '');
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER relation_touch AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON relation
    FOR EACH STATEMENT EXECUTE FUNCTION radar_touch();
CREATE TRIGGER customer_touch AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON customer
    FOR EACH STATEMENT EXECUTE FUNCTION radar_touch();
CREATE TRIGGER information_touch AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON information
    FOR EACH STATEMENT EXECUTE FUNCTION radar_touch();
CREATE TRIGGER access_log_touch AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON access_log
    FOR EACH STATEMENT EXECUTE FUNCTION radar_touch();
CREATE TRIGGER chat_message_touch AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON chat_message
    FOR EACH STATEMENT EXECUTE FUNCTION radar_touch();
CREATE TRIGGER article_touch AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON article
    FOR EACH STATEMENT EXECUTE FUNCTION radar_touch();
CREATE TRIGGER rep_book_touch AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON rep_book
    FOR EACH STATEMENT EXECUTE FUNCTION radar_touch();
