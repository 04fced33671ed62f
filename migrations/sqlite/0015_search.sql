-- Message search (issue 15): a trigram index of the text of text messages
-- (info_type 1), so that any substring of three characters or more, Chinese
-- included, is found through the index; shorter queries scan the rep's own
-- messages with LIKE. Contentless: the text stays in chat_message.content
-- (JSON, whose keys and other values must not match), and triggers keep the
-- index in step with every insert, whoever writes the row.
CREATE VIRTUAL TABLE chat_message_fts USING fts5(body, content = '', tokenize = 'trigram');

-- The indexed text of a row; the CASE keeps json_extract away from text that
-- is not JSON, which it would refuse with an error.
CREATE TRIGGER chat_message_fts_insert AFTER INSERT ON chat_message
WHEN CASE WHEN json_valid(new.content)
          THEN CAST(json_extract(new.content, '$.info_type') AS INTEGER) = 1
               AND json_type(new.content, '$.msg') = 'text' END
BEGIN
    INSERT INTO chat_message_fts (rowid, body) VALUES (new.id, json_extract(new.content, '$.msg'));
END;

-- Messages are neither edited nor deleted today; should one be, a contentless
-- index must be told the old text to forget it.
CREATE TRIGGER chat_message_fts_delete AFTER DELETE ON chat_message
WHEN CASE WHEN json_valid(old.content)
          THEN CAST(json_extract(old.content, '$.info_type') AS INTEGER) = 1
               AND json_type(old.content, '$.msg') = 'text' END
BEGIN
    INSERT INTO chat_message_fts (chat_message_fts, rowid, body)
    VALUES ('delete', old.id, json_extract(old.content, '$.msg'));
END;

CREATE TRIGGER chat_message_fts_update_old AFTER UPDATE OF content ON chat_message
WHEN CASE WHEN json_valid(old.content)
          THEN CAST(json_extract(old.content, '$.info_type') AS INTEGER) = 1
               AND json_type(old.content, '$.msg') = 'text' END
BEGIN
    INSERT INTO chat_message_fts (chat_message_fts, rowid, body)
    VALUES ('delete', old.id, json_extract(old.content, '$.msg'));
END;

CREATE TRIGGER chat_message_fts_update_new AFTER UPDATE OF content ON chat_message
WHEN CASE WHEN json_valid(new.content)
          THEN CAST(json_extract(new.content, '$.info_type') AS INTEGER) = 1
               AND json_type(new.content, '$.msg') = 'text' END
BEGIN
    INSERT INTO chat_message_fts (rowid, body) VALUES (new.id, json_extract(new.content, '$.msg'));
END;

-- The messages stored before this migration.
INSERT INTO chat_message_fts (rowid, body)
SELECT id, json_extract(content, '$.msg') FROM chat_message
WHERE CASE WHEN json_valid(content)
           THEN CAST(json_extract(content, '$.info_type') AS INTEGER) = 1
                AND json_type(content, '$.msg') = 'text' END;
