-- WeCom notifications to reps who are away (issue 16): an outbox, written in
-- the transaction of the customer's message and emptied by a background
-- worker (service::notify). One row per notification, kept after delivery:
-- the sent ones are the memory of the 5-minute rule.
CREATE TABLE rep_notice (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES sales_user(id),
    customer_id BIGINT NOT NULL REFERENCES customer(id),
    -- The customer's message that queued it (the card's preview).
    message_id BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    -- 0 pending, 1 sent, 2 given up after the last retry. A row found not
    -- needed at delivery (the rep came online or read the message) is deleted.
    state BIGINT NOT NULL DEFAULT 0,
    -- Pending rows: the next attempt is due at due_at; a worker that claimed
    -- the row owns it until lease_until.
    due_at BIGINT NOT NULL,
    lease_until BIGINT,
    attempts BIGINT NOT NULL DEFAULT 0,
    last_errcode BIGINT,
    done_at BIGINT
);
CREATE INDEX rep_notice_due ON rep_notice (due_at) WHERE state = 0;
CREATE INDEX rep_notice_pair ON rep_notice (user_id, customer_id, state, done_at);
-- Which reps have a socket open on which instance, so that any instance can
-- tell whether a rep is away. Only PostgreSQL has several instances (SQLite
-- serves from one process, which knows its sockets). Each instance rewrites
-- its rows when a rep's first socket opens or last one closes, and every
-- 10 s; rows not refreshed for 30 s (an instance killed) do not count.
-- Times are the database's, so instances' clocks need not agree.
CREATE TABLE rep_presence (
    instance_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    seen_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (instance_id, user_id)
);
CREATE INDEX rep_presence_user ON rep_presence (user_id);
