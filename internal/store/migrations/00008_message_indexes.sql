-- +goose Up
-- Every inbound message is inserted once and has its state changed once or twice, and each of
-- those writes every index of messages (the state change is not a heap-only update: state is
-- indexed). These four served no query:
--   messages_received    (received_at) is the prefix of messages_received_dir;
--   messages_state       (state, received_at): listings by state read messages_received_dir
--                        newest first, whose entries carry the state; backlog and overdue-ack
--                        counts read messages_dir_state;
--   messages_correlation (correlation_id): trace finds messages through trace_keys and audit_log;
--   messages_transport   (partner, transport_id): duplicates are found through business_keys;
--                        FindOriginal's fallback by transport id reads messages_digest's partner.
DROP INDEX messages_received;
DROP INDEX messages_state;
DROP INDEX messages_correlation;
DROP INDEX messages_transport;

-- +goose Down
CREATE INDEX messages_transport ON messages (partner, transport_id);
CREATE INDEX messages_correlation ON messages (correlation_id);
CREATE INDEX messages_state ON messages (state, received_at);
CREATE INDEX messages_received ON messages (received_at);
