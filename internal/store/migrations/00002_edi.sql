-- +goose Up
-- The EDI flow: what the hub remembers about each order that came in an X12 set (to answer it with
-- an 855), the outbound X12 documents waiting for the partner's functional acknowledgement (SLA),
-- and the mapping version each partner uses per document (changes are audited). Times are
-- microseconds since the Unix epoch (UTC), as in 00001.

-- One row per order translated from an inbound transaction set.
CREATE TABLE edi_orders (
    order_id       TEXT PRIMARY KEY,
    partner        TEXT NOT NULL,
    message_id     TEXT NOT NULL,
    set_id         TEXT NOT NULL,              -- 850
    interchange    TEXT NOT NULL,              -- ISA13
    group_control  TEXT NOT NULL,              -- GS06
    set_control    TEXT NOT NULL,              -- ST02
    mapping        TEXT NOT NULL,              -- mapping version used, "v1"
    detail         TEXT NOT NULL DEFAULT '{}', -- JSON: lines refused before the ERP, validation notes
    ack_message_id TEXT NOT NULL DEFAULT '',   -- the 855 sent for it
    created_at     BIGINT NOT NULL
);
CREATE INDEX edi_orders_message ON edi_orders (message_id);

-- Outbound X12 sets and the acknowledgement they expect.
CREATE TABLE edi_outbound (
    message_id     TEXT NOT NULL,
    partner        TEXT NOT NULL,
    set_id         TEXT NOT NULL,              -- 855, 856, 810, 997, ...
    interchange    TEXT NOT NULL,
    group_control  TEXT NOT NULL,
    set_control    TEXT NOT NULL,
    order_id       TEXT NOT NULL DEFAULT '',
    queued_at      BIGINT NOT NULL,
    ack_due_at     BIGINT NOT NULL DEFAULT 0,  -- 0: no acknowledgement expected
    ack_status     TEXT NOT NULL DEFAULT '',   -- '' waiting, A, E, R (AK5/IK5), or n/a
    ack_message_id TEXT NOT NULL DEFAULT '',
    acked_at       BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (partner, group_control, set_control, set_id)
);
CREATE INDEX edi_outbound_due ON edi_outbound (ack_status, ack_due_at);
CREATE INDEX edi_outbound_message ON edi_outbound (message_id);

-- The mapping version in use per partner and document, as last recorded.
CREATE TABLE edi_mapping_versions (
    partner    TEXT NOT NULL,
    doc        TEXT NOT NULL,                  -- "850 in", "855 out"
    version    TEXT NOT NULL,
    changed_by TEXT NOT NULL,
    changed_at BIGINT NOT NULL,
    PRIMARY KEY (partner, doc)
);

-- +goose Down
DROP TABLE edi_mapping_versions;
DROP TABLE edi_outbound;
DROP TABLE edi_orders;
