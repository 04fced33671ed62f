-- Standard Webhooks (issue 12, contract §7): endpoints a company registered
-- with `radar admin webhook create`, and an outbox of deliveries written in
-- the transaction of what caused each event and emptied by a background
-- worker (service::webhook).
CREATE TABLE webhook_endpoint (
    id BIGSERIAL PRIMARY KEY,
    company_id BIGINT NOT NULL REFERENCES company(id),
    url TEXT NOT NULL,
    -- "whsec_" + base64 of the key: kept as given, the worker signs with it.
    secret TEXT NOT NULL,
    -- The subscribed event types as a bit set (1 message.created,
    -- 2 signup.created, 4 article.viewed, 8 review.created), so that the
    -- insert into the outbox filters with one AND on both databases.
    events BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    -- 1 after an event was given up, 0 again after the next success.
    failing BIGINT NOT NULL DEFAULT 0,
    -- The last attempt: HTTP status (NULL when none came back), time, and a
    -- short error text (never the body or the secret).
    last_status BIGINT,
    last_attempt_at BIGINT,
    last_error TEXT
);
CREATE INDEX webhook_endpoint_company ON webhook_endpoint (company_id);

-- One row per event and subscribed endpoint. The body is rendered once, when
-- the event happens, so every retry sends the same bytes; `webhook-id` is
-- "msg_" + id. Deliveries of one endpoint go out in id order: a row is not
-- attempted while an older row of its endpoint is pending. Done rows are
-- deleted after a retention period; deleting an endpoint deletes its rows.
-- endpoint_id has no foreign key on purpose: an event committed while its
-- endpoint is being deleted must not fail the chat message (or view, …)
-- that caused it; the worker drops a row whose endpoint is gone.
CREATE TABLE webhook_delivery (
    id BIGSERIAL PRIMARY KEY,
    endpoint_id BIGINT NOT NULL,
    event_type TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    -- 0 pending, 1 delivered (a 2xx), 2 given up 24 h after created_at.
    state BIGINT NOT NULL DEFAULT 0,
    -- Pending rows: the next attempt is due at due_at; a worker that claimed
    -- the row owns it until lease_until (another takes over after that).
    due_at BIGINT NOT NULL,
    lease_until BIGINT,
    attempts BIGINT NOT NULL DEFAULT 0,
    last_status BIGINT,
    done_at BIGINT
);
CREATE INDEX webhook_delivery_pending ON webhook_delivery (endpoint_id, id) WHERE state = 0;
CREATE INDEX webhook_delivery_due ON webhook_delivery (due_at) WHERE state = 0;
CREATE INDEX webhook_delivery_done ON webhook_delivery (done_at) WHERE state <> 0;
