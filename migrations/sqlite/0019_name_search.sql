-- The contact list's name search (issue 13): every rep's own index of the
-- names of its customers, so that `tongxunlu?username=…` reads the postings
-- of one gram instead of the rep's whole book. A name is the customer's
-- WeChat name and the rep's memo name for them, both as LOWER() has them.
--
-- A search matches a substring of any length, and Chinese names are mostly
-- two or three characters, so a trigram index alone would not do. Each name
-- is indexed by the three characters starting at each of its positions
-- (fewer at its end): a query of three characters or more is found under
-- each of its trigrams, a shorter one under the grams it begins (a range of
-- the primary key; BINARY order is code point order). The LIKE of the full
-- query still decides (contacts.rs). A name longer than
-- contact_gram_position holds positions gets the gram '' instead, which
-- every search reads.
--
-- Triggers keep the index in the transaction of every write, whoever
-- writes the row; they cannot use CTEs, so positions come from a table.
-- Their inserts never conflict (the relation's rows are deleted first, the
-- grams are DISTINCT): when an upsert's DO UPDATE fires a trigger, SQLite
-- applies the upsert's conflict policy to the trigger's statements, and an
-- OR IGNORE there would abort instead.
CREATE TABLE contact_gram (
    user_id BIGINT NOT NULL,
    gram TEXT NOT NULL,
    relation_id BIGINT NOT NULL,
    PRIMARY KEY (user_id, gram, relation_id)
) WITHOUT ROWID;
CREATE INDEX contact_gram_relation ON contact_gram (relation_id);

CREATE TABLE contact_gram_position (n INTEGER PRIMARY KEY);
WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 128)
INSERT INTO contact_gram_position (n) SELECT n FROM s;

-- The names of each relation.
CREATE VIEW contact_name (relation_id, user_id, name) AS
SELECT r.id, r.user_id, LOWER(c.username)
FROM relation r JOIN customer c ON c.id = r.customer_id
UNION ALL
SELECT r.id, r.user_id, LOWER(i.note_name)
FROM relation r JOIN information i ON i.customer_id = r.customer_id AND i.user_id = r.user_id;

-- What contact_gram holds for each relation (with duplicates).
CREATE VIEW contact_gram_of (relation_id, user_id, gram) AS
SELECT n.relation_id, n.user_id, substr(n.name, p.n, 3)
FROM contact_name n
JOIN contact_gram_position p ON p.n <= length(n.name)
WHERE length(n.name) <= (SELECT MAX(n) FROM contact_gram_position)
UNION ALL
SELECT n.relation_id, n.user_id, ''
FROM contact_name n
WHERE length(n.name) > (SELECT MAX(n) FROM contact_gram_position);

INSERT OR IGNORE INTO contact_gram (user_id, gram, relation_id)
SELECT DISTINCT user_id, gram, relation_id FROM contact_gram_of;

CREATE TRIGGER contact_gram_relation_insert AFTER INSERT ON relation
BEGIN
    INSERT OR IGNORE INTO contact_gram (user_id, gram, relation_id)
    SELECT DISTINCT user_id, gram, relation_id FROM contact_gram_of WHERE relation_id = NEW.id;
END;

CREATE TRIGGER contact_gram_relation_update AFTER UPDATE OF user_id, customer_id ON relation
WHEN NEW.user_id IS NOT OLD.user_id OR NEW.customer_id IS NOT OLD.customer_id
BEGIN
    DELETE FROM contact_gram WHERE relation_id = NEW.id;
    INSERT OR IGNORE INTO contact_gram (user_id, gram, relation_id)
    SELECT DISTINCT user_id, gram, relation_id FROM contact_gram_of WHERE relation_id = NEW.id;
END;

CREATE TRIGGER contact_gram_relation_delete AFTER DELETE ON relation
BEGIN
    DELETE FROM contact_gram WHERE relation_id = OLD.id;
END;

CREATE TRIGGER contact_gram_customer_update AFTER UPDATE OF username ON customer
WHEN NEW.username IS NOT OLD.username
BEGIN
    DELETE FROM contact_gram
    WHERE relation_id IN (SELECT id FROM relation WHERE customer_id = NEW.id);
    INSERT OR IGNORE INTO contact_gram (user_id, gram, relation_id)
    SELECT DISTINCT user_id, gram, relation_id FROM contact_gram_of
    WHERE relation_id IN (SELECT id FROM relation WHERE customer_id = NEW.id);
END;

CREATE TRIGGER contact_gram_information_insert AFTER INSERT ON information
BEGIN
    DELETE FROM contact_gram
    WHERE relation_id IN (SELECT id FROM relation WHERE customer_id = NEW.customer_id AND user_id = NEW.user_id);
    INSERT OR IGNORE INTO contact_gram (user_id, gram, relation_id)
    SELECT DISTINCT user_id, gram, relation_id FROM contact_gram_of
    WHERE relation_id IN (SELECT id FROM relation WHERE customer_id = NEW.customer_id AND user_id = NEW.user_id);
END;

CREATE TRIGGER contact_gram_information_update AFTER UPDATE OF note_name, customer_id, user_id ON information
WHEN NEW.note_name IS NOT OLD.note_name OR NEW.customer_id IS NOT OLD.customer_id
     OR NEW.user_id IS NOT OLD.user_id
BEGIN
    DELETE FROM contact_gram
    WHERE relation_id IN (SELECT id FROM relation
                          WHERE (customer_id = NEW.customer_id AND user_id = NEW.user_id)
                             OR (customer_id = OLD.customer_id AND user_id = OLD.user_id));
    INSERT OR IGNORE INTO contact_gram (user_id, gram, relation_id)
    SELECT DISTINCT user_id, gram, relation_id FROM contact_gram_of
    WHERE relation_id IN (SELECT id FROM relation
                          WHERE (customer_id = NEW.customer_id AND user_id = NEW.user_id)
                             OR (customer_id = OLD.customer_id AND user_id = OLD.user_id));
END;

CREATE TRIGGER contact_gram_information_delete AFTER DELETE ON information
BEGIN
    DELETE FROM contact_gram
    WHERE relation_id IN (SELECT id FROM relation WHERE customer_id = OLD.customer_id AND user_id = OLD.user_id);
    INSERT OR IGNORE INTO contact_gram (user_id, gram, relation_id)
    SELECT DISTINCT user_id, gram, relation_id FROM contact_gram_of
    WHERE relation_id IN (SELECT id FROM relation WHERE customer_id = OLD.customer_id AND user_id = OLD.user_id);
END;
