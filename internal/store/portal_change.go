package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ChangeState is where a portal change request stands.
type ChangeState string

const (
	// ChangeRequested: filed, waiting to be applied through the ERP (due at NextAt). Next:
	// accepted or refused, decided by the portal's change worker.
	ChangeRequested ChangeState = "requested"
	// ChangeAccepted: the ERP applied it (Reason lists any part of it that was refused). Final.
	ChangeAccepted ChangeState = "accepted"
	// ChangeRefused: the hub or the ERP refused it; Reason says why. Final.
	ChangeRefused ChangeState = "refused"
)

// ChangeRequest is a customer's request to change or cancel an order the ERP already accepted.
type ChangeRequest struct {
	ID        string
	Account   string
	OrderID   string
	Kind      string // cancel | change
	Detail    string // JSON of what was asked
	State     ChangeState
	Reason    string    // why it was refused, or which part of it was
	Attempts  int       // attempts to apply it that ended without a decision
	NextAt    time.Time // when it is due (again) while requested
	LastError string    // the error of the last attempt without a decision
	CreatedAt time.Time
	DecidedAt time.Time // zero while requested
}

const changeCols = `id, account, order_id, kind, detail, state, reason, attempts, next_at, last_error, created_at, decided_at`

func scanChange(r Row) (*ChangeRequest, error) {
	var c ChangeRequest
	var state string
	var next, created, decided int64
	if err := r.Scan(&c.ID, &c.Account, &c.OrderID, &c.Kind, &c.Detail, &state, &c.Reason, &c.Attempts, &next, &c.LastError,
		&created, &decided); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ErrNotFound
		}
		return nil, err
	}
	c.State = ChangeState(state)
	c.NextAt, c.CreatedAt, c.DecidedAt = fromMicros(next), fromMicros(created), fromMicros(decided)
	return &c, nil
}

// InsertChangeRequest stores a change request; c.ID must be set. CreatedAt defaults to now, State
// to requested and NextAt to CreatedAt (due at once).
func (tx *Tx) InsertChangeRequest(ctx context.Context, c *ChangeRequest) error {
	if c.CreatedAt.IsZero() {
		c.CreatedAt = tx.db.now()
	}
	if c.State == "" {
		c.State = ChangeRequested
	}
	if c.NextAt.IsZero() {
		c.NextAt = c.CreatedAt
	}
	_, err := tx.ex.Exec(ctx, `INSERT INTO portal_change_requests (`+changeCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.Account, c.OrderID, c.Kind, c.Detail, string(c.State), c.Reason, c.Attempts, micros(c.NextAt), c.LastError,
		micros(c.CreatedAt), micros(c.DecidedAt))
	if err != nil {
		return fmt.Errorf("storing change request %s: %w", c.ID, err)
	}
	return nil
}

// ChangeRequest loads a change request; ErrNotFound when there is none.
func (db *DB) ChangeRequest(ctx context.Context, id string) (*ChangeRequest, error) {
	return scanChange(db.b.QueryRow(ctx, `SELECT `+changeCols+` FROM portal_change_requests WHERE id = ?`, id))
}

// ChangeRequests lists the change requests of an order, oldest first.
func (db *DB) ChangeRequests(ctx context.Context, orderID string) ([]*ChangeRequest, error) {
	return queryChanges(ctx, db.b, `SELECT `+changeCols+` FROM portal_change_requests WHERE order_id = ? ORDER BY created_at, id`, orderID)
}

// DueChangeRequests returns requested change requests due at now, oldest first, at most limit.
func (db *DB) DueChangeRequests(ctx context.Context, now time.Time, limit int) ([]*ChangeRequest, error) {
	return queryChanges(ctx, db.b, `SELECT `+changeCols+` FROM portal_change_requests WHERE state = 'requested' AND next_at <= ?
		ORDER BY created_at, id LIMIT `+fmt.Sprint(clampLimit(limit)), micros(now))
}

func queryChanges(ctx context.Context, ex Executor, q string, args ...any) ([]*ChangeRequest, error) {
	rows, err := ex.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*ChangeRequest
	for rows.Next() {
		c, err := scanChange(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// ClaimChangeRequest leases a requested change request until lease (its NextAt as read), so that
// one worker (of several replicas) applies it at a time; it reports false when another claimed or
// decided it first. On success c.NextAt is the lease: a worker that dies mid-attempt leaves the
// request due again when the lease runs out.
func (db *DB) ClaimChangeRequest(ctx context.Context, c *ChangeRequest, lease time.Time) (bool, error) {
	n, err := db.b.Exec(ctx, `UPDATE portal_change_requests SET next_at = ? WHERE id = ? AND state = 'requested' AND next_at = ?`,
		micros(lease), c.ID, micros(c.NextAt))
	if err != nil {
		return false, fmt.Errorf("claiming change request %s: %w", c.ID, err)
	}
	if n == 1 {
		c.NextAt = lease
	}
	return n == 1, nil
}

// RetryChangeRequest records an attempt that ended without a decision (the ERP was away): the
// attempt count, c.LastError and the next attempt at next. It is a no-op once the request is
// decided.
func (db *DB) RetryChangeRequest(ctx context.Context, c *ChangeRequest, next time.Time) error {
	c.Attempts++
	c.NextAt = next
	_, err := db.b.Exec(ctx, `UPDATE portal_change_requests SET attempts = ?, next_at = ?, last_error = ? WHERE id = ? AND state = 'requested'`,
		c.Attempts, micros(next), c.LastError, c.ID)
	if err != nil {
		return fmt.Errorf("recording an attempt of change request %s: %w", c.ID, err)
	}
	return nil
}

// DecideChangeRequest records the decision c.State (accepted or refused) with c.Reason, at now,
// in the transaction that applies it to the order. It returns ErrConflict when the request is no
// longer requested (another worker decided it), so the caller's transaction rolls back.
func (tx *Tx) DecideChangeRequest(ctx context.Context, c *ChangeRequest) error {
	if c.State != ChangeAccepted && c.State != ChangeRefused {
		return fmt.Errorf("deciding change request %s: %q is not a decision", c.ID, c.State)
	}
	c.DecidedAt = tx.db.now()
	n, err := tx.ex.Exec(ctx, `UPDATE portal_change_requests SET state = ?, reason = ?, decided_at = ?, last_error = '' WHERE id = ? AND state = 'requested'`,
		string(c.State), c.Reason, micros(c.DecidedAt), c.ID)
	if err != nil {
		return fmt.Errorf("deciding change request %s: %w", c.ID, err)
	}
	if n == 0 {
		return fmt.Errorf("deciding change request %s: %w", c.ID, ErrConflict)
	}
	c.LastError = ""
	return nil
}
