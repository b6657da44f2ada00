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
	UpdatedAt time.Time
}

// EDIFulfilment returns the record of a partner's set for an ERP document; ErrNotFound when none.
func (tx *Tx) EDIFulfilment(ctx context.Context, partner, setID, erpRef string) (*EDIFulfilment, error) {
	var f EDIFulfilment
	var at int64
	err := tx.ex.QueryRow(ctx, `SELECT partner, set_id, erp_ref, order_id, message_id, state, reason, updated_at FROM edi_fulfilment
		WHERE partner = ? AND set_id = ? AND erp_ref = ?`, partner, setID, erpRef).Scan(&f.Partner, &f.SetID, &f.ERPRef, &f.OrderID,
		&f.MessageID, &f.State, &f.Reason, &at)
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
	_, err := tx.ex.Exec(ctx, `INSERT INTO edi_fulfilment (partner, set_id, erp_ref, order_id, message_id, state, reason, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (partner, set_id, erp_ref) DO UPDATE SET order_id = excluded.order_id,
		message_id = excluded.message_id, state = excluded.state, reason = excluded.reason, updated_at = excluded.updated_at`,
		f.Partner, f.SetID, f.ERPRef, f.OrderID, f.MessageID, f.State, f.Reason, micros(f.UpdatedAt))
	if err != nil {
		return fmt.Errorf("recording %s for %s: %w", f.SetID, f.ERPRef, err)
	}
	return nil
}

// EDIFulfilments lists the fulfilment records of an order, oldest first.
func (db *DB) EDIFulfilments(ctx context.Context, orderID string) ([]*EDIFulfilment, error) {
	rows, err := db.b.Query(ctx, `SELECT partner, set_id, erp_ref, order_id, message_id, state, reason, updated_at FROM edi_fulfilment
		WHERE order_id = ? ORDER BY updated_at, set_id, erp_ref`, orderID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*EDIFulfilment
	for rows.Next() {
		var f EDIFulfilment
		var at int64
		if err := rows.Scan(&f.Partner, &f.SetID, &f.ERPRef, &f.OrderID, &f.MessageID, &f.State, &f.Reason, &at); err != nil {
			return nil, err
		}
		f.UpdatedAt = fromMicros(at)
		out = append(out, &f)
	}
	return out, rows.Err()
}
