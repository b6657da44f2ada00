package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// NextControlNumber returns the next control number for a sender/receiver pair at an envelope
// level ("ISA", "GS", "ST"), starting at 1. Numbers are never reused, also under concurrent
// senders and across replicas: the increment happens in the database row.
func (db *DB) NextControlNumber(ctx context.Context, sender, receiver, level string) (int64, error) {
	var v int64
	err := db.InTx(ctx, func(tx *Tx) error {
		n, err := tx.ex.Exec(ctx, `UPDATE control_numbers SET value = value + 1 WHERE sender = ? AND receiver = ? AND level = ?`, sender, receiver, level)
		if err != nil {
			return err
		}
		if n == 0 {
			_, err := tx.ex.Exec(ctx, `INSERT INTO control_numbers (sender, receiver, level, value) VALUES (?, ?, ?, 1)`, sender, receiver, level)
			if err != nil {
				if db.b.IsUniqueViolation(err) {
					return errRetryControl
				}
				return err
			}
		}
		return tx.ex.QueryRow(ctx, `SELECT value FROM control_numbers WHERE sender = ? AND receiver = ? AND level = ?`, sender, receiver, level).Scan(&v)
	})
	if errors.Is(err, errRetryControl) {
		return db.NextControlNumber(ctx, sender, receiver, level)
	}
	if err != nil {
		return 0, fmt.Errorf("next %s control number for %s→%s: %w", level, sender, receiver, err)
	}
	return v, nil
}

var errRetryControl = errors.New("control number row created concurrently")

// Cursor returns a named cursor's value ("" when never set).
func (db *DB) Cursor(ctx context.Context, name string) (string, error) {
	var v string
	err := db.b.QueryRow(ctx, `SELECT value FROM cursors WHERE name = ?`, name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return v, err
}

// SetCursor stores a named cursor's value.
func (tx *Tx) SetCursor(ctx context.Context, name, value string) error {
	n, err := tx.ex.Exec(ctx, `UPDATE cursors SET value = ?, updated_at = ? WHERE name = ?`, value, micros(tx.db.now()), name)
	if err != nil {
		return err
	}
	if n == 0 {
		_, err = tx.ex.Exec(ctx, `INSERT INTO cursors (name, value, updated_at) VALUES (?, ?, ?)`, name, value, micros(tx.db.now()))
	}
	return err
}
