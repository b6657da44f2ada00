-- +goose Up
-- Change requests are decided: the hub applies each one through the ERP (or refuses it) from a
-- durable worker, so a request survives a restart of the hub and an outage of the ERP. A request
-- is due while state = 'requested' and next_at has passed; attempts, next_at and last_error
-- record the tries, reason why it was refused (or which part of it was), decided_at when.
-- Times are microseconds since the Unix epoch (UTC), as in 00001.
ALTER TABLE portal_change_requests ADD COLUMN reason TEXT NOT NULL DEFAULT '';
ALTER TABLE portal_change_requests ADD COLUMN decided_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE portal_change_requests ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE portal_change_requests ADD COLUMN next_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE portal_change_requests ADD COLUMN last_error TEXT NOT NULL DEFAULT '';
CREATE INDEX portal_change_requests_due ON portal_change_requests (state, next_at);

-- +goose Down
DROP INDEX portal_change_requests_due;
ALTER TABLE portal_change_requests DROP COLUMN last_error;
ALTER TABLE portal_change_requests DROP COLUMN next_at;
ALTER TABLE portal_change_requests DROP COLUMN attempts;
ALTER TABLE portal_change_requests DROP COLUMN decided_at;
ALTER TABLE portal_change_requests DROP COLUMN reason;
