package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// Operator is a person who signs in to the dashboard. PasswordHash is a bcrypt hash; the store
// never sees a password.
type Operator struct {
	Name         string
	Role         string // viewer, operator or admin
	PasswordHash string
	Disabled     bool
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// PutOperator creates the operator, or replaces the role, hash and disabled flag of an existing
// one with the same name.
func (db *DB) PutOperator(ctx context.Context, op Operator) error {
	now := micros(db.now())
	return db.InTx(ctx, func(tx *Tx) error {
		n, err := tx.ex.Exec(ctx, `UPDATE operators SET role = ?, password_hash = ?, disabled = ?, updated_at = ? WHERE name = ?`,
			op.Role, op.PasswordHash, boolInt(op.Disabled), now, op.Name)
		if err != nil {
			return fmt.Errorf("saving operator %s: %w", op.Name, err)
		}
		if n > 0 {
			return nil
		}
		_, err = tx.ex.Exec(ctx, `INSERT INTO operators (name, role, password_hash, disabled, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`,
			op.Name, op.Role, op.PasswordHash, boolInt(op.Disabled), now, now)
		if err != nil {
			return fmt.Errorf("saving operator %s: %w", op.Name, err)
		}
		return nil
	})
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

const operatorCols = `name, role, password_hash, disabled, created_at, updated_at`

func scanOperator(r Row) (*Operator, error) {
	var op Operator
	var dis int
	var c, u int64
	if err := r.Scan(&op.Name, &op.Role, &op.PasswordHash, &dis, &c, &u); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ErrNotFound
		}
		return nil, err
	}
	op.Disabled, op.CreatedAt, op.UpdatedAt = dis != 0, fromMicros(c), fromMicros(u)
	return &op, nil
}

// Operator loads an operator by name; ErrNotFound when there is none.
func (db *DB) Operator(ctx context.Context, name string) (*Operator, error) {
	op, err := scanOperator(db.b.QueryRow(ctx, `SELECT `+operatorCols+` FROM operators WHERE name = ?`, name))
	if err != nil {
		return nil, fmt.Errorf("loading operator %s: %w", name, err)
	}
	return op, nil
}

// Operators lists every operator by name.
func (db *DB) Operators(ctx context.Context) ([]*Operator, error) {
	rows, err := db.b.Query(ctx, `SELECT `+operatorCols+` FROM operators ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Operator
	for rows.Next() {
		op, err := scanOperator(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, op)
	}
	return out, rows.Err()
}

// Session is a signed-in operator. The cookie carries the session id; the store keeps only its
// SHA-256, so the table does not hand out live sessions.
type Session struct {
	Operator  string
	CSRF      string // token every state-changing form must echo
	CreatedAt time.Time
	ExpiresAt time.Time
}

// SessionKey is how a session id is stored: its SHA-256, hex.
func SessionKey(id string) string {
	s := sha256.Sum256([]byte(id))
	return hex.EncodeToString(s[:])
}

// CreateSession stores a session under id (the cookie's secret value).
func (db *DB) CreateSession(ctx context.Context, id string, s Session) error {
	_, err := db.b.Exec(ctx, `INSERT INTO operator_sessions (id_hash, operator, csrf, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
		SessionKey(id), s.Operator, s.CSRF, micros(s.CreatedAt), micros(s.ExpiresAt))
	if err != nil {
		return fmt.Errorf("storing session: %w", err)
	}
	return nil
}

// Session returns the live session with cookie value id; ErrNotFound when it does not exist or
// has expired.
func (db *DB) Session(ctx context.Context, id string) (*Session, error) {
	var s Session
	var c, e int64
	err := db.b.QueryRow(ctx, `SELECT operator, csrf, created_at, expires_at FROM operator_sessions WHERE id_hash = ? AND expires_at > ?`,
		SessionKey(id), micros(db.now())).Scan(&s.Operator, &s.CSRF, &c, &e)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("loading session: %w", err)
	}
	s.CreatedAt, s.ExpiresAt = fromMicros(c), fromMicros(e)
	return &s, nil
}

// DeleteSession ends the session with cookie value id (signing out); a missing one is no error.
func (db *DB) DeleteSession(ctx context.Context, id string) error {
	_, err := db.b.Exec(ctx, `DELETE FROM operator_sessions WHERE id_hash = ?`, SessionKey(id))
	return err
}

// DeleteOperatorSessions ends every session of an operator (after a password change or when
// disabling them) and returns how many it ended.
func (db *DB) DeleteOperatorSessions(ctx context.Context, operator string) (int64, error) {
	return db.b.Exec(ctx, `DELETE FROM operator_sessions WHERE operator = ?`, operator)
}

// PurgeSessions deletes expired sessions and returns how many.
func (db *DB) PurgeSessions(ctx context.Context) (int64, error) {
	return db.b.Exec(ctx, `DELETE FROM operator_sessions WHERE expires_at <= ?`, micros(db.now()))
}
