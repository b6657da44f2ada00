-- +goose Up
-- The customer portal API: API keys, idempotent order submissions, webhook subscriptions and
-- their delivery outbox, return authorisations and change requests. Times are microseconds since
-- the Unix epoch (UTC), as in 00001.

-- API keys of portal clients. Only a SHA-256 of the secret is kept; id is the public part of the
-- key and the lookup key. accounts and scopes are space-separated lists.
CREATE TABLE portal_keys (
    id           TEXT PRIMARY KEY,
    hash         TEXT NOT NULL,
    name         TEXT NOT NULL DEFAULT '',
    client       TEXT NOT NULL,                 -- the hub partner orders are received from
    accounts     TEXT NOT NULL,                 -- customer accounts the key may act for
    scopes       TEXT NOT NULL,
    rate_limit   INTEGER NOT NULL DEFAULT 0,    -- requests per second; 0 = server default
    burst        INTEGER NOT NULL DEFAULT 0,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL DEFAULT 0,
    revoked_at   BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX portal_keys_client ON portal_keys (client, created_at);

-- Idempotency-Key records of POST /v1/orders, scoped to the API key; kept 24 hours.
CREATE TABLE portal_idempotency (
    key_id         TEXT NOT NULL,
    idem_key       TEXT NOT NULL,
    body_hash      TEXT NOT NULL,
    account        TEXT NOT NULL,
    message_id     TEXT NOT NULL DEFAULT '',
    correlation_id TEXT NOT NULL DEFAULT '',
    status         INTEGER NOT NULL DEFAULT 0,   -- final HTTP status, 0 while pending
    response       TEXT NOT NULL DEFAULT '',     -- final response body
    created_at     BIGINT NOT NULL,
    PRIMARY KEY (key_id, idem_key)
);
CREATE INDEX portal_idempotency_created ON portal_idempotency (created_at);

-- Webhook subscriptions, one account each.
CREATE TABLE portal_webhooks (
    id          TEXT PRIMARY KEY,
    client      TEXT NOT NULL,
    account     TEXT NOT NULL,
    url         TEXT NOT NULL,
    secret      TEXT NOT NULL,
    events      TEXT NOT NULL,                  -- space-separated event types
    active      INTEGER NOT NULL DEFAULT 1,
    created_at  BIGINT NOT NULL
);
CREATE INDEX portal_webhooks_account ON portal_webhooks (account, active);

-- The webhook outbox and delivery log: a row is written in the transaction of the event and
-- delivered by the dispatcher, retried with backoff, dead after the last attempt, replayable.
CREATE TABLE portal_deliveries (
    id           TEXT PRIMARY KEY,
    webhook_id   TEXT NOT NULL,
    account      TEXT NOT NULL,
    event        TEXT NOT NULL,
    payload      TEXT NOT NULL,
    state        TEXT NOT NULL,                 -- pending | delivered | dead
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_at      BIGINT NOT NULL,
    last_status  INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX portal_deliveries_due ON portal_deliveries (state, next_at);
CREATE INDEX portal_deliveries_webhook ON portal_deliveries (webhook_id, created_at);

-- Return authorisations (RMA) requested through the portal.
CREATE TABLE portal_returns (
    id          TEXT PRIMARY KEY,
    account     TEXT NOT NULL,
    order_id    TEXT NOT NULL,
    state       TEXT NOT NULL,
    doc         TEXT NOT NULL,                  -- JSON of waybill.ReturnAuthorization
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX portal_returns_account ON portal_returns (account, created_at);
CREATE INDEX portal_returns_order ON portal_returns (order_id);

-- Change requests for orders already accepted (the ERP accepts or refuses them).
CREATE TABLE portal_change_requests (
    id          TEXT PRIMARY KEY,
    account     TEXT NOT NULL,
    order_id    TEXT NOT NULL,
    kind        TEXT NOT NULL,                  -- cancel | change
    detail      TEXT NOT NULL,
    state       TEXT NOT NULL,                  -- requested | accepted | refused
    created_at  BIGINT NOT NULL
);
CREATE INDEX portal_change_requests_order ON portal_change_requests (order_id);

-- +goose Down
DROP TABLE portal_change_requests;
DROP TABLE portal_returns;
DROP TABLE portal_deliveries;
DROP TABLE portal_webhooks;
DROP TABLE portal_idempotency;
DROP TABLE portal_keys;
