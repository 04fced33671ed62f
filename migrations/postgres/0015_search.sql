-- Message search (issue 15): the text of text messages (info_type 1) in its
-- own column with a pg_trgm GIN index, so that ILIKE '%…%' of three
-- characters or more, Chinese included, is answered through the index. The
-- column is set by a trigger on every insert, whoever writes the row, and
-- holds only the text: the JSON's keys and other values must not match.
-- pg_trgm is a trusted extension (PostgreSQL 13+): the database owner may
-- create it without being a superuser.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- NULL for anything but a text message, and for content that is not JSON
-- (which only a hand-written row could hold), rather than failing its insert.
CREATE FUNCTION radar_message_text(content TEXT) RETURNS TEXT
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    j JSONB;
BEGIN
    BEGIN
        j := content::jsonb;
    EXCEPTION WHEN others THEN
        RETURN NULL;
    END;
    IF jsonb_typeof(j) = 'object'
       AND btrim(j ->> 'info_type') = '1'
       AND jsonb_typeof(j -> 'msg') = 'string' THEN
        RETURN j ->> 'msg';
    END IF;
    RETURN NULL;
END
$$;

ALTER TABLE chat_message ADD COLUMN search_text TEXT;

-- The messages stored before this migration.
UPDATE chat_message SET search_text = radar_message_text(content);

CREATE FUNCTION chat_message_search_text() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
BEGIN
    NEW.search_text := radar_message_text(NEW.content);
    RETURN NEW;
END
$$;

CREATE TRIGGER chat_message_search_text BEFORE INSERT OR UPDATE OF content ON chat_message
FOR EACH ROW EXECUTE FUNCTION chat_message_search_text();

CREATE INDEX chat_message_search ON chat_message USING gin (search_text gin_trgm_ops);
