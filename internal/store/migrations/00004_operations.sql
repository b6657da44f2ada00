-- +goose Up
-- Operations: dashboard operators and their sessions, the index of archived payloads, and the
-- indexes the dashboard's range queries need to stay fast with millions of stored messages.

-- People who use the dashboard. role: viewer | operator | admin. password_hash is bcrypt.
CREATE TABLE operators (
    name          TEXT PRIMARY KEY,
    role          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);

-- Signed-in sessions. id_hash is the SHA-256 of the cookie value, so a read of this table does
-- not hand out live sessions.
CREATE TABLE operator_sessions (
    id_hash    TEXT PRIMARY KEY,
    operator   TEXT NOT NULL,
    csrf       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX operator_sessions_expiry ON operator_sessions (expires_at);

-- Where an archived payload went before its bytes were purged from messages.payload.
CREATE TABLE message_archive (
    message_id  TEXT PRIMARY KEY,
    location    TEXT NOT NULL,               -- archive-relative key (folder path or object key)
    digest      TEXT NOT NULL,               -- SHA-256 of the payload, hex (checked on read-back)
    size        BIGINT NOT NULL,
    archived_at BIGINT NOT NULL,
    purged_at   BIGINT NOT NULL DEFAULT 0
);

-- Dashboard range queries: received per day, by direction; orders created in a range by partner
-- and state; events reaching a state in a range; backlog by state and partner.
CREATE INDEX messages_received_dir ON messages (received_at, direction, doc_type, state, partner);
CREATE INDEX messages_dir_state ON messages (direction, state, received_at);
CREATE INDEX orders_created ON orders (created_at, partner, state);
CREATE INDEX orders_state_partner ON orders (state, partner);
CREATE INDEX order_events_to ON order_events (to_state, at);
CREATE INDEX dead_letters_created ON dead_letters (created_at, job_kind);
CREATE INDEX edi_outbound_queued ON edi_outbound (queued_at, set_id, partner, ack_status);

-- Retention walks the payloads still online, oldest first.
CREATE INDEX messages_online ON messages (received_at) WHERE payload IS NOT NULL;

-- +goose Down
DROP INDEX messages_online;
DROP INDEX edi_outbound_queued;
DROP INDEX dead_letters_created;
DROP INDEX order_events_to;
DROP INDEX orders_state_partner;
DROP INDEX orders_created;
DROP INDEX messages_dir_state;
DROP INDEX messages_received_dir;
DROP TABLE message_archive;
DROP TABLE operator_sessions;
DROP TABLE operators;
