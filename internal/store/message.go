package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/waybill-hub/waybill"
)

// MessageState is where a stored message stands.
type MessageState string

const (
	MessageReceived  MessageState = "received"  // Durable; processing is scheduled.
	MessageProcessed MessageState = "processed" // Translated; what it produced is recorded.
	MessageDuplicate MessageState = "duplicate" // Seen before; recorded, not processed.
	MessageDead      MessageState = "dead"      // Failed; a dead letter waits for a person.
	MessageQueued    MessageState = "queued"    // Outbound, waiting for delivery.
	MessageSent      MessageState = "sent"      // Outbound, taken by the partner's side.
	MessageAcked     MessageState = "acked"     // Outbound, acknowledged (997/999, MDN).
	MessageRejected  MessageState = "rejected"  // Outbound, rejected by the partner's acknowledgement.
	MessageReplayed  MessageState = "replayed"  // Was dead; scheduled again by an operator.
)

// Direction is in (from a partner) or out (to a partner).
type Direction string

const (
	Inbound  Direction = "in"
	Outbound Direction = "out"
)

// Message is a stored message with its raw payload.
type Message struct {
	ID            string
	CorrelationID string
	Direction     Direction
	Channel       waybill.Channel
	Partner       string
	DocType       string
	TransportID   string
	Filename      string
	ContentType   string
	Meta          map[string]string
	Digest        string
	Size          int64
	Payload       []byte // nil when archived or not loaded
	State         MessageState
	DuplicateOf   string
	ReceivedAt    time.Time
	UpdatedAt     time.Time
}

// InsertMessage stores m. Its ID, CorrelationID, Digest and times must be set.
func (tx *Tx) InsertMessage(ctx context.Context, m *Message) error {
	meta, err := json.Marshal(m.Meta)
	if err != nil {
		return err
	}
	if m.Meta == nil {
		meta = []byte("{}")
	}
	_, err = tx.ex.Exec(ctx, `INSERT INTO messages (id, correlation_id, direction, channel, partner, doc_type,
		transport_id, filename, content_type, meta, digest, size, payload, state, duplicate_of, received_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		m.ID, m.CorrelationID, string(m.Direction), string(m.Channel), m.Partner, m.DocType,
		m.TransportID, m.Filename, m.ContentType, string(meta), m.Digest, m.Size, m.Payload, string(m.State),
		m.DuplicateOf, micros(m.ReceivedAt), micros(m.ReceivedAt))
	if err != nil {
		return fmt.Errorf("storing message %s: %w", m.ID, err)
	}
	return nil
}

// InsertMessages stores several messages, as InsertMessage does each, in statements of up to
// 32 messages.
func (tx *Tx) InsertMessages(ctx context.Context, ms []*Message) error {
	const cols = 17
	for len(ms) > 0 {
		n := min(len(ms), 32)
		args := make([]any, 0, cols*n)
		for _, m := range ms[:n] {
			meta := []byte("{}")
			if m.Meta != nil {
				var err error
				if meta, err = json.Marshal(m.Meta); err != nil {
					return err
				}
			}
			args = append(args, m.ID, m.CorrelationID, string(m.Direction), string(m.Channel), m.Partner, m.DocType,
				m.TransportID, m.Filename, m.ContentType, string(meta), m.Digest, m.Size, m.Payload, string(m.State),
				m.DuplicateOf, micros(m.ReceivedAt), micros(m.ReceivedAt))
		}
		row := "(" + strings.TrimSuffix(strings.Repeat("?, ", cols), ", ") + ")"
		_, err := tx.ex.Exec(ctx, `INSERT INTO messages (id, correlation_id, direction, channel, partner, doc_type,
			transport_id, filename, content_type, meta, digest, size, payload, state, duplicate_of, received_at, updated_at)
			VALUES `+row+strings.Repeat(", "+row, n-1), args...)
		if err != nil {
			return fmt.Errorf("storing %d messages: %w", n, err)
		}
		ms = ms[n:]
	}
	return nil
}

// FindOriginal returns the earliest non-duplicate inbound message of partner with the same digest
// or the same non-empty transport id, or ErrNotFound.
func (tx *Tx) FindOriginal(ctx context.Context, partner, digest, transportID string) (*Message, error) {
	return findOriginal(ctx, tx.ex, partner, digest, transportID)
}

func findOriginal(ctx context.Context, ex Executor, partner, digest, transportID string) (*Message, error) {
	q := `SELECT ` + messageCols + ` FROM messages WHERE partner = ? AND direction = 'in' AND state <> 'duplicate' AND digest = ?`
	args := []any{partner, digest}
	m, err := scanMessage(ex.QueryRow(ctx, q+` ORDER BY received_at LIMIT 1`, args...), false)
	if err == nil || !errors.Is(err, ErrNotFound) || transportID == "" {
		return m, err
	}
	q = `SELECT ` + messageCols + ` FROM messages WHERE partner = ? AND direction = 'in' AND state <> 'duplicate' AND transport_id = ? ORDER BY received_at LIMIT 1`
	return scanMessage(ex.QueryRow(ctx, q, partner, transportID), false)
}

const messageCols = `id, correlation_id, direction, channel, partner, doc_type, transport_id, filename,
	content_type, meta, digest, size, state, duplicate_of, received_at, updated_at`

func scanMessage(r Row, withPayload bool) (*Message, error) {
	var m Message
	var dir, ch, state, meta string
	var recv, upd int64
	dest := []any{&m.ID, &m.CorrelationID, &dir, &ch, &m.Partner, &m.DocType, &m.TransportID, &m.Filename,
		&m.ContentType, &meta, &m.Digest, &m.Size, &state, &m.DuplicateOf, &recv, &upd}
	if withPayload {
		dest = append(dest, &m.Payload)
	}
	if err := r.Scan(dest...); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ErrNotFound
		}
		return nil, err
	}
	m.Direction, m.Channel, m.State = Direction(dir), waybill.Channel(ch), MessageState(state)
	m.ReceivedAt, m.UpdatedAt = fromMicros(recv), fromMicros(upd)
	if meta != "" && meta != "{}" {
		_ = json.Unmarshal([]byte(meta), &m.Meta)
	}
	return &m, nil
}

// Message loads a message with its payload.
func (db *DB) Message(ctx context.Context, id string) (*Message, error) {
	return getMessage(ctx, db.b, id)
}

// Message loads a message with its payload inside the transaction.
func (tx *Tx) Message(ctx context.Context, id string) (*Message, error) {
	return getMessage(ctx, tx.ex, id)
}

func getMessage(ctx context.Context, ex Executor, id string) (*Message, error) {
	m, err := scanMessage(ex.QueryRow(ctx, `SELECT `+messageCols+`, payload FROM messages WHERE id = ?`, id), true)
	if err != nil {
		return nil, fmt.Errorf("loading message %s: %w", id, err)
	}
	return m, nil
}

// MessagesByID loads messages with their payloads, by id, in one query; ids not found are
// missing from the result.
func (db *DB) MessagesByID(ctx context.Context, ids []string) (map[string]*Message, error) {
	out := make(map[string]*Message, len(ids))
	for len(ids) > 0 {
		n := min(len(ids), 64)
		args := make([]any, n)
		for i, id := range ids[:n] {
			args[i] = id
		}
		rows, err := db.b.Query(ctx, `SELECT `+messageCols+`, payload FROM messages WHERE id IN (?`+strings.Repeat(`, ?`, n-1)+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("loading %d messages: %w", n, err)
		}
		for rows.Next() {
			m, err := scanMessage(rows, true)
			if err != nil {
				rows.Close()
				return nil, err
			}
			out[m.ID] = m
		}
		err = rows.Err()
		if cerr := rows.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, fmt.Errorf("loading %d messages: %w", n, err)
		}
		ids = ids[n:]
	}
	return out, nil
}

// SetMessageState moves a message to state.
func (tx *Tx) SetMessageState(ctx context.Context, id string, state MessageState) error {
	n, err := tx.ex.Exec(ctx, `UPDATE messages SET state = ?, updated_at = ? WHERE id = ?`, string(state), micros(tx.db.now()), id)
	if err != nil {
		return fmt.Errorf("updating message %s: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("updating message %s: %w", id, ErrNotFound)
	}
	return nil
}

// MessageFilter selects messages for listing.
type MessageFilter struct {
	Partner   string
	Direction Direction
	State     MessageState
	DocType   string
	Since     time.Time
	Limit     int
}

// Messages lists messages without payloads, newest first.
func (db *DB) Messages(ctx context.Context, f MessageFilter) ([]*Message, error) {
	var where []string
	var args []any
	if f.Partner != "" {
		where, args = append(where, "partner = ?"), append(args, f.Partner)
	}
	if f.Direction != "" {
		where, args = append(where, "direction = ?"), append(args, string(f.Direction))
	}
	if f.State != "" {
		where, args = append(where, "state = ?"), append(args, string(f.State))
	}
	if f.DocType != "" {
		where, args = append(where, "doc_type = ?"), append(args, f.DocType)
	}
	if !f.Since.IsZero() {
		where, args = append(where, "received_at >= ?"), append(args, micros(f.Since))
	}
	q := `SELECT ` + messageCols + ` FROM messages`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	q += fmt.Sprintf(" ORDER BY received_at DESC, id DESC LIMIT %d", limit)
	rows, err := db.b.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Message
	for rows.Next() {
		m, err := scanMessage(rows, false)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// CountMessages counts messages by direction and state.
func (db *DB) CountMessages(ctx context.Context) (map[string]int64, error) {
	rows, err := db.b.Query(ctx, `SELECT direction, state, COUNT(*) FROM messages GROUP BY direction, state`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var d, s string
		var n int64
		if err := rows.Scan(&d, &s, &n); err != nil {
			return nil, err
		}
		out[d+"/"+s] = n
	}
	return out, rows.Err()
}

// MarkSent records an outbound message as taken by the partner's side, merging meta (the
// transport id, MDN disposition, remote path) into the message's meta.
func (tx *Tx) MarkSent(ctx context.Context, id, transportID string, meta map[string]string) error {
	m, err := getMessage(ctx, tx.ex, id)
	if err != nil {
		return err
	}
	if m.Meta == nil {
		m.Meta = map[string]string{}
	}
	for k, v := range meta {
		m.Meta[k] = v
	}
	b, err := json.Marshal(m.Meta)
	if err != nil {
		return err
	}
	if transportID == "" {
		transportID = m.TransportID
	}
	_, err = tx.ex.Exec(ctx, `UPDATE messages SET state = ?, transport_id = ?, meta = ?, updated_at = ? WHERE id = ?`,
		string(MessageSent), transportID, string(b), micros(tx.db.now()), id)
	return err
}

// ClaimMessage moves an inbound message from received (or replayed) to processed and reports
// whether this call did: false means another worker processed it already. It is the first
// statement of a processing transaction, so the processing commits only with the claim.
func (tx *Tx) ClaimMessage(ctx context.Context, id string) (bool, error) {
	n, err := tx.ex.Exec(ctx, `UPDATE messages SET state = 'processed', updated_at = ? WHERE id = ? AND state IN ('received', 'replayed')`,
		micros(tx.db.now()), id)
	if err != nil {
		return false, fmt.Errorf("claiming message %s: %w", id, err)
	}
	return n == 1, nil
}

// ClaimMessages is ClaimMessage for several messages in one statement: it returns the ids of
// those this call moved to processed.
func (tx *Tx) ClaimMessages(ctx context.Context, ids []string) (map[string]bool, error) {
	claimed := make(map[string]bool, len(ids))
	for len(ids) > 0 {
		n := min(len(ids), 64)
		args := make([]any, 0, n+1)
		args = append(args, micros(tx.db.now()))
		for _, id := range ids[:n] {
			args = append(args, id)
		}
		rows, err := tx.ex.Query(ctx, `UPDATE messages SET state = 'processed', updated_at = ? WHERE id IN (?`+
			strings.Repeat(`, ?`, n-1)+`) AND state IN ('received', 'replayed') RETURNING id`, args...)
		if err != nil {
			return nil, fmt.Errorf("claiming %d messages: %w", n, err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, err
			}
			claimed[id] = true
		}
		err = rows.Err()
		if cerr := rows.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, fmt.Errorf("claiming %d messages: %w", n, err)
		}
		ids = ids[n:]
	}
	return claimed, nil
}
