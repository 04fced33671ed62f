-- The contact list's name search (issue 13): every rep's own index of the
-- names of its customers, so that `tongxunlu?username=…` reads the postings
-- of one gram instead of the rep's whole book. A name is the customer's
-- WeChat name and the rep's memo name for them, both as LOWER() has them.
--
-- A search matches a substring of any length, and Chinese names are mostly
-- two or three characters, which pg_trgm cannot answer. Each name is indexed
-- by the three characters starting at each of its positions (fewer at its
-- end): a query of three characters or more is found under each of its
-- trigrams, a shorter one under the grams it begins (a range of the primary
-- key, in code point order whatever the database's collation: COLLATE "C").
-- The LIKE of the full query still decides (contacts.rs). A name longer than
-- 128 characters gets the gram '' instead, which every search reads (as on
-- SQLite, whose triggers need a table of positions).
--
-- Triggers keep the index in the transaction of every write, whoever writes
-- the row.
CREATE TABLE contact_gram (
    user_id BIGINT NOT NULL,
    gram TEXT COLLATE "C" NOT NULL,
    relation_id BIGINT NOT NULL,
    PRIMARY KEY (user_id, gram, relation_id)
);
CREATE INDEX contact_gram_relation ON contact_gram (relation_id);

-- The names of each relation.
CREATE VIEW contact_name (relation_id, user_id, name) AS
SELECT r.id, r.user_id, LOWER(c.username)
FROM relation r JOIN customer c ON c.id = r.customer_id
UNION ALL
SELECT r.id, r.user_id, LOWER(i.note_name)
FROM relation r JOIN information i ON i.customer_id = r.customer_id AND i.user_id = r.user_id;

-- What contact_gram holds for each relation (with duplicates).
CREATE VIEW contact_gram_of (relation_id, user_id, gram) AS
SELECT n.relation_id, n.user_id, substr(n.name, p, 3)
FROM contact_name n
CROSS JOIN LATERAL generate_series(1, length(n.name)) p
WHERE length(n.name) <= 128
UNION ALL
SELECT n.relation_id, n.user_id, ''
FROM contact_name n
WHERE length(n.name) > 128;

INSERT INTO contact_gram (user_id, gram, relation_id)
SELECT DISTINCT user_id, gram, relation_id FROM contact_gram_of;

-- Planning a statement over the views takes 1.3-1.7 ms, ten times its
-- execution for a few relations, and PostgreSQL would replan per call (a
-- plan for the given ids is estimated cheaper than one for any): the plan
-- kept for any ids is the same index lookups.
CREATE FUNCTION contact_gram_refresh(ids BIGINT[]) RETURNS VOID
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
BEGIN
    DELETE FROM contact_gram WHERE relation_id = ANY (ids);
    INSERT INTO contact_gram (user_id, gram, relation_id)
    SELECT DISTINCT user_id, gram, relation_id FROM contact_gram_of WHERE relation_id = ANY (ids)
    ON CONFLICT DO NOTHING;
END
$$;

-- New relations, once per statement: a bulk load indexes its rows in one
-- statement. A rename of one of their customers committing meanwhile would
-- not see them, nor would this statement see the rename: the customers' rows
-- are held until commit, so the rename waits, or this waits and reads it.
-- The ids go through arrays: a condition on the view of the form `IN
-- (SELECT … FROM new_relation)` is not pushed into it, and PostgreSQL would
-- compute the grams of every relation there is to keep the new ones.
CREATE FUNCTION contact_gram_relation_insert() RETURNS TRIGGER
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    ids BIGINT[];
    customers BIGINT[];
BEGIN
    SELECT array_agg(id), array_agg(customer_id) INTO ids, customers FROM new_relation;
    IF ids IS NULL THEN
        RETURN NULL;
    END IF;
    PERFORM 1 FROM customer WHERE id = ANY (customers) FOR SHARE;
    INSERT INTO contact_gram (user_id, gram, relation_id)
    SELECT DISTINCT user_id, gram, relation_id FROM contact_gram_of WHERE relation_id = ANY (ids)
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;

CREATE TRIGGER contact_gram_relation_insert AFTER INSERT ON relation
REFERENCING NEW TABLE AS new_relation
FOR EACH STATEMENT EXECUTE FUNCTION contact_gram_relation_insert();

CREATE FUNCTION contact_gram_relation() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        DELETE FROM contact_gram WHERE relation_id = OLD.id;
        RETURN OLD;
    END IF;
    IF NEW.user_id <> OLD.user_id OR NEW.customer_id <> OLD.customer_id THEN
        PERFORM 1 FROM customer WHERE id = NEW.customer_id FOR SHARE;
        PERFORM contact_gram_refresh(ARRAY[NEW.id]);
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER contact_gram_relation AFTER DELETE OR UPDATE OF user_id, customer_id
ON relation FOR EACH ROW EXECUTE FUNCTION contact_gram_relation();

CREATE FUNCTION contact_gram_customer() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.username IS DISTINCT FROM OLD.username THEN
        PERFORM contact_gram_refresh(ARRAY(SELECT id FROM relation WHERE customer_id = NEW.id));
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER contact_gram_customer AFTER UPDATE OF username ON customer
FOR EACH ROW EXECUTE FUNCTION contact_gram_customer();

CREATE FUNCTION contact_gram_information() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM contact_gram_refresh(ARRAY(
            SELECT id FROM relation WHERE customer_id = NEW.customer_id AND user_id = NEW.user_id));
        RETURN NEW;
    END IF;
    IF TG_OP = 'DELETE' THEN
        PERFORM contact_gram_refresh(ARRAY(
            SELECT id FROM relation WHERE customer_id = OLD.customer_id AND user_id = OLD.user_id));
        RETURN OLD;
    END IF;
    IF NEW.note_name IS DISTINCT FROM OLD.note_name OR NEW.customer_id <> OLD.customer_id
       OR NEW.user_id <> OLD.user_id THEN
        PERFORM contact_gram_refresh(ARRAY(
            SELECT id FROM relation
            WHERE (customer_id = NEW.customer_id AND user_id = NEW.user_id)
               OR (customer_id = OLD.customer_id AND user_id = OLD.user_id)));
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER contact_gram_information
AFTER INSERT OR DELETE OR UPDATE OF note_name, customer_id, user_id ON information
FOR EACH ROW EXECUTE FUNCTION contact_gram_information();

-- Row triggers do not see a TRUNCATE of the relations.
CREATE FUNCTION contact_gram_truncate() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE contact_gram;
    RETURN NULL;
END
$$;

CREATE TRIGGER contact_gram_truncate AFTER TRUNCATE ON relation
FOR EACH STATEMENT EXECUTE FUNCTION contact_gram_truncate();
