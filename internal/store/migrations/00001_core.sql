-- +goose Up
-- The hub's schema, written once for SQLite and PostgreSQL. {{.blob}} and {{.serial}} are filled in
-- per dialect by the store's migration loader; everything else is portable SQL. Times are
-- microseconds since the Unix epoch (UTC), so ordering and arithmetic are the same everywhere.

-- Every message in or out, stored raw before anything else happens to it.
CREATE TABLE messages (
    id             TEXT PRIMARY KEY,
    correlation_id TEXT NOT NULL,
    direction      TEXT NOT NULL,               -- in | out
    channel        TEXT NOT NULL,
    partner        TEXT NOT NULL,
    doc_type       TEXT NOT NULL DEFAULT '',
    transport_id   TEXT NOT NULL DEFAULT '',
    filename       TEXT NOT NULL DEFAULT '',
    content_type   TEXT NOT NULL DEFAULT '',
    meta           TEXT NOT NULL DEFAULT '{}',
    digest         TEXT NOT NULL,
    size           BIGINT NOT NULL,
    payload        {{.blob}},                    -- NULL once archived
    state          TEXT NOT NULL,
    duplicate_of   TEXT NOT NULL DEFAULT '',
    received_at    BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);
CREATE INDEX messages_digest ON messages (partner, digest);
CREATE INDEX messages_transport ON messages (partner, transport_id);
CREATE INDEX messages_correlation ON messages (correlation_id);
CREATE INDEX messages_received ON messages (received_at);
CREATE INDEX messages_state ON messages (state, received_at);

-- Business keys (customer + PO number, interchange control numbers) seen once each.
CREATE TABLE business_keys (
    key            TEXT PRIMARY KEY,
    kind           TEXT NOT NULL,
    message_id     TEXT NOT NULL,
    order_id       TEXT NOT NULL DEFAULT '',
    correlation_id TEXT NOT NULL,
    created_at     BIGINT NOT NULL
);

-- Canonical orders and their lifecycle.
CREATE TABLE orders (
    id             TEXT PRIMARY KEY,
    correlation_id TEXT NOT NULL,
    message_id     TEXT NOT NULL,
    partner        TEXT NOT NULL,
    account        TEXT NOT NULL DEFAULT '',
    channel        TEXT NOT NULL,
    po_number      TEXT NOT NULL,
    state          TEXT NOT NULL,
    doc            TEXT NOT NULL,               -- JSON of waybill.Order
    erp_model      TEXT NOT NULL DEFAULT '',
    erp_id         BIGINT NOT NULL DEFAULT 0,
    erp_name       TEXT NOT NULL DEFAULT '',
    version        INTEGER NOT NULL DEFAULT 1,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);
CREATE INDEX orders_po ON orders (partner, po_number);
CREATE INDEX orders_account_po ON orders (account, po_number);
CREATE INDEX orders_erp ON orders (erp_name);
CREATE INDEX orders_state ON orders (state, updated_at);
CREATE INDEX orders_correlation ON orders (correlation_id);

CREATE TABLE order_events (
    seq            {{.serial}},
    order_id       TEXT NOT NULL,
    from_state     TEXT NOT NULL,
    to_state       TEXT NOT NULL,
    source         TEXT NOT NULL,
    actor          TEXT NOT NULL,
    reason         TEXT NOT NULL DEFAULT '',
    at             BIGINT NOT NULL,
    correlation_id TEXT NOT NULL
);
CREATE INDEX order_events_order ON order_events (order_id, seq);

-- Failed work waiting for a person: what failed, why, and how to run it again.
CREATE TABLE dead_letters (
    id             TEXT PRIMARY KEY,
    job_kind       TEXT NOT NULL,
    job_args       TEXT NOT NULL,
    message_id     TEXT NOT NULL DEFAULT '',
    order_id       TEXT NOT NULL DEFAULT '',
    correlation_id TEXT NOT NULL,
    partner        TEXT NOT NULL DEFAULT '',
    code           TEXT NOT NULL,
    reason         TEXT NOT NULL,
    message        TEXT NOT NULL,
    location       TEXT NOT NULL DEFAULT '',
    attempts       INTEGER NOT NULL DEFAULT 0,
    state          TEXT NOT NULL,               -- open | replayed | discarded
    created_at     BIGINT NOT NULL,
    resolved_at    BIGINT NOT NULL DEFAULT 0,
    resolved_by    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX dead_letters_state ON dead_letters (state, created_at);
CREATE INDEX dead_letters_reason ON dead_letters (reason, state);
CREATE INDEX dead_letters_correlation ON dead_letters (correlation_id);

-- The append-only audit trail. Rows are inserted with hash = '' and sealed into a hash chain in
-- seq order by the sealer, so concurrent writers never wait on one another.
CREATE TABLE audit_log (
    seq            {{.serial}},
    at             BIGINT NOT NULL,
    kind           TEXT NOT NULL,
    correlation_id TEXT NOT NULL,
    partner        TEXT NOT NULL DEFAULT '',
    subject        TEXT NOT NULL DEFAULT '',    -- hub id the record is about (message, order, ...)
    actor          TEXT NOT NULL DEFAULT '',
    summary        TEXT NOT NULL,
    detail         TEXT NOT NULL DEFAULT '{}',
    refs           TEXT NOT NULL DEFAULT '',    -- external ids, one per line
    hash           TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_correlation ON audit_log (correlation_id, seq);
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY,
    seq  BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '');

-- External and ERP identifiers → the correlation ids they belong to (for trace).
CREATE TABLE trace_keys (
    key            TEXT NOT NULL,
    correlation_id TEXT NOT NULL,
    PRIMARY KEY (key, correlation_id)
);

-- Interchange, group and set control numbers per sender/receiver, never reused.
CREATE TABLE control_numbers (
    sender   TEXT NOT NULL,
    receiver TEXT NOT NULL,
    level    TEXT NOT NULL,
    value    BIGINT NOT NULL,
    PRIMARY KEY (sender, receiver, level)
);

-- Named cursors (change capture) and small settings.
CREATE TABLE cursors (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE cursors;
DROP TABLE control_numbers;
DROP TABLE trace_keys;
DROP TABLE audit_head;
DROP TABLE audit_log;
DROP TABLE dead_letters;
DROP TABLE order_events;
DROP TABLE orders;
DROP TABLE business_keys;
DROP TABLE messages;
