package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// NextControlNumber is DB.NextControlNumber inside tx, so that the number is taken if and only if
// the document carrying it commits (and so that a caller already in a transaction on the
// single-writer SQLite store does not wait for itself).
func (tx *Tx) NextControlNumber(ctx context.Context, sender, receiver, level string) (int64, error) {
	_, err := tx.ex.Exec(ctx, `INSERT INTO control_numbers (sender, receiver, level, value) VALUES (?, ?, ?, 1)
		ON CONFLICT (sender, receiver, level) DO UPDATE SET value = control_numbers.value + 1`, sender, receiver, level)
	if err != nil {
		return 0, fmt.Errorf("next %s control number for %s→%s: %w", level, sender, receiver, err)
	}
	var v int64
	err = tx.ex.QueryRow(ctx, `SELECT value FROM control_numbers WHERE sender = ? AND receiver = ? AND level = ?`, sender, receiver, level).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("next %s control number for %s→%s: %w", level, sender, receiver, err)
	}
	return v, nil
}

// EDIOrder is what the hub keeps about an order translated from an inbound X12 set.
type EDIOrder struct {
	OrderID      string
	Partner      string
	MessageID    string
	SetID        string
	Interchange  string
	Group        string
	SetControl   string
	Mapping      string
	Detail       string // JSON owned by internal/edi
	AckMessageID string
	CreatedAt    time.Time
}

// InsertEDIOrder records o.
func (tx *Tx) InsertEDIOrder(ctx context.Context, o *EDIOrder) error {
	if o.Detail == "" {
		o.Detail = "{}"
	}
	_, err := tx.ex.Exec(ctx, `INSERT INTO edi_orders (order_id, partner, message_id, set_id, interchange, group_control, set_control,
		mapping, detail, ack_message_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		o.OrderID, o.Partner, o.MessageID, o.SetID, o.Interchange, o.Group, o.SetControl, o.Mapping, o.Detail, o.AckMessageID, micros(tx.db.now()))
	if err != nil {
		return fmt.Errorf("recording EDI order %s: %w", o.OrderID, err)
	}
	return nil
}

// EDIOrder returns the EDI record of an order; ErrNotFound when the order did not come over X12.
func (tx *Tx) EDIOrder(ctx context.Context, orderID string) (*EDIOrder, error) {
	return getEDIOrder(ctx, tx.ex, orderID)
}

// EDIOrder returns the EDI record of an order; ErrNotFound when the order did not come over X12.
func (db *DB) EDIOrder(ctx context.Context, orderID string) (*EDIOrder, error) {
	return getEDIOrder(ctx, db.b, orderID)
}

func getEDIOrder(ctx context.Context, ex Executor, id string) (*EDIOrder, error) {
	var o EDIOrder
	var at int64
	err := ex.QueryRow(ctx, `SELECT order_id, partner, message_id, set_id, interchange, group_control, set_control, mapping, detail,
		ack_message_id, created_at FROM edi_orders WHERE order_id = ?`, id).Scan(&o.OrderID, &o.Partner, &o.MessageID, &o.SetID,
		&o.Interchange, &o.Group, &o.SetControl, &o.Mapping, &o.Detail, &o.AckMessageID, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("reading EDI order %s: %w", id, err)
	}
	o.CreatedAt = fromMicros(at)
	return &o, nil
}

// SetEDIOrderAck records the 855 sent for an order.
func (tx *Tx) SetEDIOrderAck(ctx context.Context, orderID, messageID string) error {
	_, err := tx.ex.Exec(ctx, `UPDATE edi_orders SET ack_message_id = ? WHERE order_id = ?`, messageID, orderID)
	return err
}

// EDIOutbound is an outbound X12 set and the acknowledgement it waits for.
type EDIOutbound struct {
	MessageID    string
	Partner      string
	SetID        string
	Interchange  string
	Group        string
	SetControl   string
	OrderID      string
	QueuedAt     time.Time
	AckDueAt     time.Time // zero: no acknowledgement expected
	AckStatus    string    // "" waiting, A, E, R
	AckMessageID string
	AckedAt      time.Time
}

// InsertEDIOutbound records an outbound set.
func (tx *Tx) InsertEDIOutbound(ctx context.Context, o *EDIOutbound) error {
	due := int64(0)
	if !o.AckDueAt.IsZero() {
		due = micros(o.AckDueAt)
	}
	if o.QueuedAt.IsZero() {
		o.QueuedAt = tx.db.now()
	}
	_, err := tx.ex.Exec(ctx, `INSERT INTO edi_outbound (message_id, partner, set_id, interchange, group_control, set_control, order_id,
		queued_at, ack_due_at, ack_status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, o.MessageID, o.Partner, o.SetID, o.Interchange, o.Group,
		o.SetControl, o.OrderID, micros(o.QueuedAt), due, o.AckStatus)
	if err != nil {
		return fmt.Errorf("recording outbound %s %s: %w", o.SetID, o.SetControl, err)
	}
	return nil
}

// AckEDIOutbound records the functional acknowledgement of an outbound set (part of group gs06
// with ST02 st02); it reports whether such a set was found.
func (tx *Tx) AckEDIOutbound(ctx context.Context, partner, gs06, st02, status, ackMessageID string) (bool, error) {
	n, err := tx.ex.Exec(ctx, `UPDATE edi_outbound SET ack_status = ?, ack_message_id = ?, acked_at = ?
		WHERE partner = ? AND group_control = ? AND set_control = ?`, status, ackMessageID, micros(tx.db.now()), partner, gs06, st02)
	return n > 0, err
}

// OverdueEDIOutbound lists outbound sets whose acknowledgement was due before now and has not come,
// oldest due first, at most limit (100 when 0).
func (db *DB) OverdueEDIOutbound(ctx context.Context, now time.Time, limit int) ([]*EDIOutbound, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := db.b.Query(ctx, `SELECT message_id, partner, set_id, interchange, group_control, set_control, order_id, queued_at,
		ack_due_at, ack_status, ack_message_id, acked_at FROM edi_outbound WHERE ack_status = '' AND ack_due_at > 0 AND ack_due_at < ?
		ORDER BY ack_due_at LIMIT ?`, micros(now), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*EDIOutbound
	for rows.Next() {
		var o EDIOutbound
		var q, due, acked int64
		if err := rows.Scan(&o.MessageID, &o.Partner, &o.SetID, &o.Interchange, &o.Group, &o.SetControl, &o.OrderID, &q, &due,
			&o.AckStatus, &o.AckMessageID, &acked); err != nil {
			return nil, err
		}
		o.QueuedAt, o.AckDueAt = fromMicros(q), fromMicros(due)
		if acked != 0 {
			o.AckedAt = fromMicros(acked)
		}
		out = append(out, &o)
	}
	return out, rows.Err()
}

// MappingVersion returns the mapping version last recorded for a partner's document ("" when none).
func (db *DB) MappingVersion(ctx context.Context, partner, doc string) (string, error) {
	var v string
	err := db.b.QueryRow(ctx, `SELECT version FROM edi_mapping_versions WHERE partner = ? AND doc = ?`, partner, doc).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return v, err
}

// SetMappingVersion records the mapping version a partner's document uses.
func (tx *Tx) SetMappingVersion(ctx context.Context, partner, doc, version, by string) error {
	_, err := tx.ex.Exec(ctx, `INSERT INTO edi_mapping_versions (partner, doc, version, changed_by, changed_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (partner, doc) DO UPDATE SET version = excluded.version, changed_by = excluded.changed_by, changed_at = excluded.changed_at`,
		partner, doc, version, by, micros(tx.db.now()))
	return err
}
