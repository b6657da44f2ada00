package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ErrSSCCUsed is returned by UseSSCC when the SSCC was written into a ship notice before.
var ErrSSCCUsed = errors.New("SSCC already used")

// NextSSCCSerial hands out the next serial reference for a GS1 company prefix (1, 2, ...) inside
// tx. Serials only grow, so an SSCC built from one is never built again for that prefix.
func (tx *Tx) NextSSCCSerial(ctx context.Context, prefix string) (int64, error) {
	_, err := tx.ex.Exec(ctx, `INSERT INTO edi_sscc_serials (prefix, last_serial) VALUES (?, 1)
		ON CONFLICT (prefix) DO UPDATE SET last_serial = edi_sscc_serials.last_serial + 1`, prefix)
	if err != nil {
		return 0, fmt.Errorf("next SSCC serial for %s: %w", prefix, err)
	}
	var v int64
	if err := tx.ex.QueryRow(ctx, `SELECT last_serial FROM edi_sscc_serials WHERE prefix = ?`, prefix).Scan(&v); err != nil {
		return 0, fmt.Errorf("next SSCC serial for %s: %w", prefix, err)
	}
	return v, nil
}

// SSCCUsed reports whether sscc was recorded by UseSSCC before (in tx's view).
func (tx *Tx) SSCCUsed(ctx context.Context, sscc string) (bool, error) {
	var n int
	err := tx.ex.QueryRow(ctx, `SELECT COUNT(*) FROM edi_sscc WHERE sscc = ?`, sscc).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("looking up SSCC %s: %w", sscc, err)
	}
	return n > 0, nil
}

// UseSSCC records that sscc was written into the ship notice messageID for the ERP delivery
// erpRef. ErrSSCCUsed means it was used before; tx is then still usable.
func (tx *Tx) UseSSCC(ctx context.Context, sscc, partner, erpRef, messageID string) error {
	used, err := tx.SSCCUsed(ctx, sscc)
	if err != nil {
		return err
	}
	if used {
		return fmt.Errorf("%w: %s", ErrSSCCUsed, sscc)
	}
	_, err = tx.ex.Exec(ctx, `INSERT INTO edi_sscc (sscc, partner, erp_ref, message_id, created_at) VALUES (?, ?, ?, ?, ?)`,
		sscc, partner, erpRef, messageID, micros(tx.db.now()))
	if err != nil {
		return fmt.Errorf("recording SSCC %s: %w", sscc, err)
	}
	return nil
}

// Fulfilment document states.
const (
	FulfilmentSent = "sent" // the document was queued for the partner (MessageID)
	FulfilmentHeld = "held" // a gate refused it; Reason says why; a later sync tries again
	// FulfilmentRejected: the partner's 997/999 rejected the document; Reason holds the AK3/AK4
	// detail; a later sync (the dead letter's replay) sends a new one.
	FulfilmentRejected = "rejected"
)

// EDIFulfilment is what the hub knows about the outbound document of one ERP delivery (856) or
// invoice (810).
type EDIFulfilment struct {
	Partner   string
	SetID     string
	ERPRef    string
	OrderID   string
	MessageID string
	State     string
	Reason    string
	// DeadLetterID is the exception opened when the document was held or rejected ("" when none).
	DeadLetterID string
	UpdatedAt    time.Time
}

// EDIFulfilment returns the record of a partner's set for an ERP document; ErrNotFound when none.
func (tx *Tx) EDIFulfilment(ctx context.Context, partner, setID, erpRef string) (*EDIFulfilment, error) {
	var f EDIFulfilment
	var at int64
	err := tx.ex.QueryRow(ctx, `SELECT partner, set_id, erp_ref, order_id, message_id, state, reason, dead_letter_id, updated_at FROM edi_fulfilment
		WHERE partner = ? AND set_id = ? AND erp_ref = ?`, partner, setID, erpRef).Scan(&f.Partner, &f.SetID, &f.ERPRef, &f.OrderID,
		&f.MessageID, &f.State, &f.Reason, &f.DeadLetterID, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s for %s: %w", setID, erpRef, err)
	}
	f.UpdatedAt = fromMicros(at)
	return &f, nil
}

// PutEDIFulfilment inserts or replaces the record of f's partner, set and ERP document.
func (tx *Tx) PutEDIFulfilment(ctx context.Context, f *EDIFulfilment) error {
	f.UpdatedAt = tx.db.now()
	_, err := tx.ex.Exec(ctx, `INSERT INTO edi_fulfilment (partner, set_id, erp_ref, order_id, message_id, state, reason, dead_letter_id,
		updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (partner, set_id, erp_ref) DO UPDATE SET order_id = excluded.order_id,
		message_id = excluded.message_id, state = excluded.state, reason = excluded.reason, dead_letter_id = excluded.dead_letter_id,
		updated_at = excluded.updated_at`,
		f.Partner, f.SetID, f.ERPRef, f.OrderID, f.MessageID, f.State, f.Reason, f.DeadLetterID, micros(f.UpdatedAt))
	if err != nil {
		return fmt.Errorf("recording %s for %s: %w", f.SetID, f.ERPRef, err)
	}
	return nil
}

// EDIFulfilments lists the fulfilment records of an order, oldest first.
func (db *DB) EDIFulfilments(ctx context.Context, orderID string) ([]*EDIFulfilment, error) {
	rows, err := db.b.Query(ctx, `SELECT partner, set_id, erp_ref, order_id, message_id, state, reason, dead_letter_id, updated_at FROM edi_fulfilment
		WHERE order_id = ? ORDER BY updated_at, set_id, erp_ref`, orderID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*EDIFulfilment
	for rows.Next() {
		var f EDIFulfilment
		var at int64
		if err := rows.Scan(&f.Partner, &f.SetID, &f.ERPRef, &f.OrderID, &f.MessageID, &f.State, &f.Reason, &f.DeadLetterID, &at); err != nil {
			return nil, err
		}
		f.UpdatedAt = fromMicros(at)
		out = append(out, &f)
	}
	return out, rows.Err()
}

// EDIOutboundSets returns the outbound sets a partner's acknowledgement can refer to: the set with
// GS06 gs06 and ST02 st02, or every set of the group when st02 is empty.
func (tx *Tx) EDIOutboundSets(ctx context.Context, partner, gs06, st02 string) ([]*EDIOutbound, error) {
	q := `SELECT message_id, partner, set_id, interchange, group_control, set_control, order_id, queued_at, ack_due_at, ack_status,
		ack_message_id, acked_at FROM edi_outbound WHERE partner = ? AND group_control = ?`
	args := []any{partner, gs06}
	if st02 != "" {
		q += ` AND set_control = ?`
		args = append(args, st02)
	}
	rows, err := tx.ex.Query(ctx, q+` ORDER BY set_control`, args...)
	if err != nil {
		return nil, fmt.Errorf("reading outbound sets of group %s: %w", gs06, err)
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
		o.QueuedAt = fromMicros(q)
		if due != 0 {
			o.AckDueAt = fromMicros(due)
		}
		if acked != 0 {
			o.AckedAt = fromMicros(acked)
		}
		out = append(out, &o)
	}
	return out, rows.Err()
}

// EDIFulfilmentByMessage returns the fulfilment record whose document is the outbound message id;
// ErrNotFound when none (an 855, an acknowledgement).
func (tx *Tx) EDIFulfilmentByMessage(ctx context.Context, messageID string) (*EDIFulfilment, error) {
	var f EDIFulfilment
	var at int64
	err := tx.ex.QueryRow(ctx, `SELECT partner, set_id, erp_ref, order_id, message_id, state, reason, dead_letter_id, updated_at FROM edi_fulfilment
		WHERE message_id = ?`, messageID).Scan(&f.Partner, &f.SetID, &f.ERPRef, &f.OrderID, &f.MessageID, &f.State, &f.Reason, &f.DeadLetterID, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("reading the document of message %s: %w", messageID, err)
	}
	f.UpdatedAt = fromMicros(at)
	return &f, nil
}

// FlagOverdueEDIOutbound returns the outbound sets whose acknowledgement is overdue at now and
// that were not flagged before, at most limit (100 when 0), and marks them flagged in tx, so each
// overdue set is reported once.
func (tx *Tx) FlagOverdueEDIOutbound(ctx context.Context, now time.Time, limit int) ([]*EDIOutbound, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := tx.ex.Query(ctx, `SELECT o.message_id, o.partner, o.set_id, o.interchange, o.group_control, o.set_control, o.order_id,
		o.queued_at, o.ack_due_at FROM edi_outbound o WHERE o.ack_status = '' AND o.ack_due_at > 0 AND o.ack_due_at < ?
		AND NOT EXISTS (SELECT 1 FROM edi_ack_overdue f WHERE f.message_id = o.message_id) ORDER BY o.ack_due_at LIMIT ?`, micros(now), limit)
	if err != nil {
		return nil, fmt.Errorf("finding overdue acknowledgements: %w", err)
	}
	var out []*EDIOutbound
	for rows.Next() {
		var o EDIOutbound
		var q, due int64
		if err := rows.Scan(&o.MessageID, &o.Partner, &o.SetID, &o.Interchange, &o.Group, &o.SetControl, &o.OrderID, &q, &due); err != nil {
			rows.Close()
			return nil, err
		}
		o.QueuedAt, o.AckDueAt = fromMicros(q), fromMicros(due)
		out = append(out, &o)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, o := range out {
		if _, err := tx.ex.Exec(ctx, `INSERT INTO edi_ack_overdue (message_id, flagged_at) VALUES (?, ?) ON CONFLICT (message_id) DO NOTHING`,
			o.MessageID, micros(now)); err != nil {
			return nil, fmt.Errorf("flagging %s overdue: %w", o.MessageID, err)
		}
	}
	return out, nil
}

// HeldByPartner counts, per partner, the documents of a set (856, 810) held now: posted in the
// ERP but not published to the partner (the ASN gate, a total that does not balance, a render
// failure), waiting for a person.
func (db *DB) HeldByPartner(ctx context.Context, setID string) (map[string]int64, error) {
	rows, err := db.b.Query(ctx, `SELECT partner, COUNT(*) FROM edi_fulfilment WHERE set_id = ? AND state = 'held' GROUP BY partner`, setID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var p string
		var n int64
		if err := rows.Scan(&p, &n); err != nil {
			return nil, err
		}
		out[p] = n
	}
	return out, rows.Err()
}
