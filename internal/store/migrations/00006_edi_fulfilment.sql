-- +goose Up
-- EDI fulfilment (part 2 of the EDI flow): SSCC-18 serials per GS1 company prefix (a serial is
-- never handed out twice, even after a rollback of the document that used it would have made it
-- free: the counter only grows), every SSCC ever written into an 856, and which ERP delivery got
-- its 856 and which ERP invoice its 810 (or why the document is held). Times are microseconds
-- since the Unix epoch (UTC), as in 00001.

-- The last serial reference handed out per GS1 company prefix.
CREATE TABLE edi_sscc_serials (
    prefix      TEXT PRIMARY KEY,
    last_serial BIGINT NOT NULL
);

-- Every SSCC written into a ship notice; the primary key makes reuse impossible.
CREATE TABLE edi_sscc (
    sscc       TEXT PRIMARY KEY,
    partner    TEXT NOT NULL,
    erp_ref    TEXT NOT NULL,                -- the ERP delivery
    message_id TEXT NOT NULL,                -- the 856
    created_at BIGINT NOT NULL
);

-- One row per ERP document that has (or should have) an outbound EDI document: 856 per
-- delivery, 810 per invoice.
CREATE TABLE edi_fulfilment (
    partner    TEXT NOT NULL,
    set_id     TEXT NOT NULL,                -- 856, 810
    erp_ref    TEXT NOT NULL,                -- delivery or invoice name in the ERP
    order_id   TEXT NOT NULL,
    message_id TEXT NOT NULL DEFAULT '',     -- the outbound message once sent
    state      TEXT NOT NULL,                -- sent, held or rejected
    reason     TEXT NOT NULL DEFAULT '',     -- why it is held or was rejected
    dead_letter_id TEXT NOT NULL DEFAULT '', -- the open exception while held or rejected
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (partner, set_id, erp_ref)
);
CREATE INDEX edi_fulfilment_order ON edi_fulfilment (order_id);

-- Outbound sets already flagged as overdue (audited once, into the document's trace).
CREATE TABLE edi_ack_overdue (
    message_id TEXT PRIMARY KEY,
    flagged_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE edi_ack_overdue;
DROP TABLE edi_fulfilment;
DROP TABLE edi_sscc;
DROP TABLE edi_sscc_serials;
