-- +goose Up
-- Transports: the asynchronous AS2 MDNs the hub waits for, and the raw archive of what arrived
-- on the wire (an AS2 request with its headers, still encrypted) before anything was opened.

-- One row per AS2 message sent with an asynchronous MDN requested and not yet answered. The row
-- is written before the message is posted (so a fast MDN is not lost) and removed when the MDN
-- arrives or when the deadline passed and the delivery became an exception.
CREATE TABLE as2_pending_mdns (
    message_id  TEXT PRIMARY KEY,        -- the AS2 Message-ID we sent
    partner     TEXT NOT NULL,
    outbound_id TEXT NOT NULL,           -- the hub's outbound message id
    mic         TEXT NOT NULL,           -- "base64digest, alg" the MDN must return
    signed_mdn  INTEGER NOT NULL DEFAULT 0,
    sent_at     BIGINT NOT NULL,
    deadline    BIGINT NOT NULL
);
CREATE INDEX as2_pending_mdns_deadline ON as2_pending_mdns (deadline);

-- Raw transport archive: the request exactly as received, written first, before decryption.
CREATE TABLE transport_raw (
    id           TEXT PRIMARY KEY,
    channel      TEXT NOT NULL,
    transport_id TEXT NOT NULL,          -- AS2 Message-ID, file path
    digest       TEXT NOT NULL,          -- SHA-256 of raw, hex
    size         BIGINT NOT NULL,
    raw          {{.blob}},
    received_at  BIGINT NOT NULL
);
CREATE INDEX transport_raw_tid ON transport_raw (channel, transport_id);
CREATE INDEX transport_raw_received ON transport_raw (received_at);

-- +goose Down
DROP INDEX transport_raw_received;
DROP INDEX transport_raw_tid;
DROP TABLE transport_raw;
DROP INDEX as2_pending_mdns_deadline;
DROP TABLE as2_pending_mdns;
