package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// DeadLetterState is open until an operator replays or discards the dead letter.
type DeadLetterState string

const (
	DeadOpen      DeadLetterState = "open"      // Waiting for a person.
	DeadReplayed  DeadLetterState = "replayed"  // Scheduled again; the job's outcome is in the trace.
	DeadDiscarded DeadLetterState = "discarded" // Closed without replay.
)

// DeadLetter is failed work: the job that failed, why, and enough to run it again.
type DeadLetter struct {
	ID            string
	JobKind       string
	JobArgs       string // JSON, exactly as the job was enqueued
	MessageID     string
	OrderID       string
	CorrelationID string
	Partner       string
	Code          string
	Reason        string
	Message       string
	Location      string
	Attempts      int
	State         DeadLetterState
	CreatedAt     time.Time
	ResolvedAt    time.Time
	ResolvedBy    string
}

// InsertDeadLetter stores d (its ID and CreatedAt are set when empty).
func (tx *Tx) InsertDeadLetter(ctx context.Context, d *DeadLetter) error {
	if d.ID == "" {
		d.ID = NewID("dl")
	}
	if d.CreatedAt.IsZero() {
		d.CreatedAt = tx.db.now()
	}
	if d.State == "" {
		d.State = DeadOpen
	}
	_, err := tx.ex.Exec(ctx, `INSERT INTO dead_letters (id, job_kind, job_args, message_id, order_id, correlation_id, partner,
		code, reason, message, location, attempts, state, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		d.ID, d.JobKind, d.JobArgs, d.MessageID, d.OrderID, d.CorrelationID, d.Partner, d.Code, d.Reason, d.Message,
		d.Location, d.Attempts, string(d.State), micros(d.CreatedAt))
	if err != nil {
		return fmt.Errorf("storing dead letter: %w", err)
	}
	return nil
}

const deadCols = `id, job_kind, job_args, message_id, order_id, correlation_id, partner, code, reason, message, location,
	attempts, state, created_at, resolved_at, resolved_by`

func scanDead(r Row) (*DeadLetter, error) {
	var d DeadLetter
	var st string
	var c, res int64
	if err := r.Scan(&d.ID, &d.JobKind, &d.JobArgs, &d.MessageID, &d.OrderID, &d.CorrelationID, &d.Partner, &d.Code,
		&d.Reason, &d.Message, &d.Location, &d.Attempts, &st, &c, &res, &d.ResolvedBy); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ErrNotFound
		}
		return nil, err
	}
	d.State, d.CreatedAt, d.ResolvedAt = DeadLetterState(st), fromMicros(c), fromMicros(res)
	return &d, nil
}

// DeadLetter loads one dead letter.
func (db *DB) DeadLetter(ctx context.Context, id string) (*DeadLetter, error) {
	d, err := scanDead(db.b.QueryRow(ctx, `SELECT `+deadCols+` FROM dead_letters WHERE id = ?`, id))
	if err != nil {
		return nil, fmt.Errorf("loading dead letter %s: %w", id, err)
	}
	return d, nil
}

// DeadLetterFilter selects dead letters. A zero State means open ones.
type DeadLetterFilter struct {
	Partner       string
	Kind          string
	Reason        string
	CorrelationID string
	State         DeadLetterState
	AnyState      bool
	Since         time.Time
	Limit         int
}

// DeadLetters lists dead letters, oldest first.
func (db *DB) DeadLetters(ctx context.Context, f DeadLetterFilter) ([]*DeadLetter, error) {
	var where []string
	var args []any
	if !f.AnyState {
		st := f.State
		if st == "" {
			st = DeadOpen
		}
		where, args = append(where, "state = ?"), append(args, string(st))
	}
	if f.Partner != "" {
		where, args = append(where, "partner = ?"), append(args, f.Partner)
	}
	if f.Kind != "" {
		where, args = append(where, "job_kind = ?"), append(args, f.Kind)
	}
	if f.Reason != "" {
		where, args = append(where, "reason = ?"), append(args, f.Reason)
	}
	if f.CorrelationID != "" {
		where, args = append(where, "correlation_id = ?"), append(args, f.CorrelationID)
	}
	if !f.Since.IsZero() {
		where, args = append(where, "created_at >= ?"), append(args, micros(f.Since))
	}
	q := `SELECT ` + deadCols + ` FROM dead_letters`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY created_at, id"
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := db.b.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*DeadLetter
	for rows.Next() {
		d, err := scanDead(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// ResolveDeadLetter closes an open dead letter as replayed or discarded by an operator.
// ErrConflict means it was not open any more (someone else resolved it first).
func (tx *Tx) ResolveDeadLetter(ctx context.Context, id string, st DeadLetterState, by string) (*DeadLetter, error) {
	d, err := scanDead(tx.ex.QueryRow(ctx, `SELECT `+deadCols+` FROM dead_letters WHERE id = ?`, id))
	if err != nil {
		return nil, fmt.Errorf("loading dead letter %s: %w", id, err)
	}
	n, err := tx.ex.Exec(ctx, `UPDATE dead_letters SET state = ?, resolved_at = ?, resolved_by = ? WHERE id = ? AND state = 'open'`,
		string(st), micros(tx.db.now()), by, id)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, fmt.Errorf("dead letter %s is %s: %w", id, d.State, ErrConflict)
	}
	d.State, d.ResolvedBy = st, by
	return d, nil
}

// CountDeadLetters returns open dead letters by reason.
func (db *DB) CountDeadLetters(ctx context.Context) (map[string]int64, error) {
	rows, err := db.b.Query(ctx, `SELECT reason, COUNT(*) FROM dead_letters WHERE state = 'open' GROUP BY reason`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var r string
		var n int64
		if err := rows.Scan(&r, &n); err != nil {
			return nil, err
		}
		out[r] = n
	}
	return out, rows.Err()
}
