package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/waybill-hub/waybill/x12"
)

// NextControlNumber returns the next control number for a sender/receiver pair at an envelope
// level ("ISA", "GS", "ST"), starting at 1, in a transaction of its own. Numbers are never
// reused, also under concurrent senders and across replicas: the increment happens in the
// database row. Use Tx.NextControlNumber to take a number with the document that carries it.
func (db *DB) NextControlNumber(ctx context.Context, sender, receiver, level string) (int64, error) {
	var v int64
	err := db.InTx(ctx, func(tx *Tx) error {
		var err error
		v, err = tx.NextControlNumber(ctx, sender, receiver, level)
		return err
	})
	return v, err
}

// ControlNumbers is the store as the x12 package's control number source.
type ControlNumbers struct{ DB *DB }

var _ x12.ControlNumbers = ControlNumbers{}

// Next implements x12.ControlNumbers.
func (c ControlNumbers) Next(ctx context.Context, sender, receiver string, level x12.ControlLevel) (int64, error) {
	return c.DB.NextControlNumber(ctx, sender, receiver, string(level))
}

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
