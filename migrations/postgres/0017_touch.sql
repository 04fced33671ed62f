-- Result caches (server/src/changes.rs): every transaction that writes a
-- table the contact list reads sends one notification on `radar_touch`, so
-- that every instance drops what it cached, whoever wrote (another instance,
-- `radar admin …`, a bulk load). PostgreSQL delivers it at commit and folds
-- identical notifications of one transaction into one. SQLite needs nothing:
-- its commits are seen in the WAL index.
CREATE FUNCTION radar_touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('radar_touch', '');
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
