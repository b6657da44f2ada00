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

// PortalKey is a portal client's API key as stored: its public id, a SHA-256 of its secret (never
// the secret), the hub partner its orders are received from, the customer accounts it may act for
// and its scopes.
type PortalKey struct {
	ID        string
	Hash      string
	Name      string
	Client    string
	Accounts  []string
	Scopes    []string
	RateLimit int // requests per second; 0 means the server default
	Burst     int
	CreatedAt time.Time
	ExpiresAt time.Time // zero: never
	RevokedAt time.Time // zero: active
}

// Active reports whether the key may be used at now.
func (k *PortalKey) Active(now time.Time) bool {
	return k.RevokedAt.IsZero() && (k.ExpiresAt.IsZero() || now.Before(k.ExpiresAt))
}

const portalKeyCols = `id, hash, name, client, accounts, scopes, rate_limit, burst, created_at, expires_at, revoked_at`

func scanPortalKey(r Row) (*PortalKey, error) {
	var k PortalKey
	var accounts, scopes string
	var created, expires, revoked int64
	if err := r.Scan(&k.ID, &k.Hash, &k.Name, &k.Client, &accounts, &scopes, &k.RateLimit, &k.Burst, &created, &expires, &revoked); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ErrNotFound
		}
		return nil, err
	}
	k.Accounts, k.Scopes = strings.Fields(accounts), strings.Fields(scopes)
	k.CreatedAt, k.ExpiresAt, k.RevokedAt = fromMicros(created), fromMicros(expires), fromMicros(revoked)
	return &k, nil
}

// InsertPortalKey stores a new key; k.ID and k.Hash must be set. CreatedAt defaults to now.
func (db *DB) InsertPortalKey(ctx context.Context, k *PortalKey) error {
	if k.CreatedAt.IsZero() {
		k.CreatedAt = db.now()
	}
	_, err := db.b.Exec(ctx, `INSERT INTO portal_keys (`+portalKeyCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		k.ID, k.Hash, k.Name, k.Client, strings.Join(k.Accounts, " "), strings.Join(k.Scopes, " "), k.RateLimit, k.Burst,
		micros(k.CreatedAt), micros(k.ExpiresAt), micros(k.RevokedAt))
	if err != nil {
		return fmt.Errorf("storing API key %s: %w", k.ID, err)
	}
	return nil
}

// PortalKey loads a key by id (revoked ones too); ErrNotFound when there is none.
func (db *DB) PortalKey(ctx context.Context, id string) (*PortalKey, error) {
	k, err := scanPortalKey(db.b.QueryRow(ctx, `SELECT `+portalKeyCols+` FROM portal_keys WHERE id = ?`, id))
	if err != nil {
		return nil, fmt.Errorf("loading API key %s: %w", id, err)
	}
	return k, nil
}

// PortalKeys lists the keys of a client ("" for every client), oldest first.
func (db *DB) PortalKeys(ctx context.Context, client string) ([]*PortalKey, error) {
	q, args := `SELECT `+portalKeyCols+` FROM portal_keys`, []any{}
	if client != "" {
		q, args = q+` WHERE client = ?`, append(args, client)
	}
	rows, err := db.b.Query(ctx, q+` ORDER BY created_at, id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*PortalKey
	for rows.Next() {
		k, err := scanPortalKey(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// RevokePortalKey revokes a key at once; revoking a revoked key is a no-op. ErrNotFound when
// there is no such key.
func (db *DB) RevokePortalKey(ctx context.Context, id string) error {
	n, err := db.b.Exec(ctx, `UPDATE portal_keys SET revoked_at = ? WHERE id = ? AND revoked_at = 0`, micros(db.now()), id)
	if err != nil {
		return err
	}
	if n == 0 {
		if _, err := db.PortalKey(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

// Idempotency is the record of one Idempotency-Key of one API key.
type Idempotency struct {
	KeyID         string
	IdemKey       string
	BodyHash      string
	Account       string
	MessageID     string
	CorrelationID string
	Status        int    // the final HTTP status, 0 while the outcome is pending
	Response      []byte // the final response body
	CreatedAt     time.Time
}

// ClaimIdempotency records rec unless its (KeyID, IdemKey) is held by a record created at or
// after notBefore; it returns that earlier record (and no error) when there is one, nil when this
// call claimed the key. An older record is replaced, so keys expire.
func (db *DB) ClaimIdempotency(ctx context.Context, rec *Idempotency, notBefore time.Time) (*Idempotency, error) {
	if rec.CreatedAt.IsZero() {
		rec.CreatedAt = db.now()
	}
	var prev *Idempotency
	err := db.InTx(ctx, func(tx *Tx) error {
		prev = nil
		p, err := scanIdem(tx.ex.QueryRow(ctx, `SELECT `+idemCols+` FROM portal_idempotency WHERE key_id = ? AND idem_key = ?`, rec.KeyID, rec.IdemKey))
		switch {
		case err == nil && !p.CreatedAt.Before(notBefore):
			prev = p
			return nil
		case err == nil:
			if _, err := tx.ex.Exec(ctx, `DELETE FROM portal_idempotency WHERE key_id = ? AND idem_key = ?`, rec.KeyID, rec.IdemKey); err != nil {
				return err
			}
		case !errors.Is(err, ErrNotFound):
			return err
		}
		_, err = tx.ex.Exec(ctx, `INSERT INTO portal_idempotency (`+idemCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			rec.KeyID, rec.IdemKey, rec.BodyHash, rec.Account, rec.MessageID, rec.CorrelationID, rec.Status, string(rec.Response), micros(rec.CreatedAt))
		if err != nil && db.b.IsUniqueViolation(err) {
			return ErrConflict
		}
		return err
	})
	if errors.Is(err, ErrConflict) { // claimed concurrently: report the winner
		return db.Idempotency(ctx, rec.KeyID, rec.IdemKey)
	}
	if err != nil {
		return nil, fmt.Errorf("claiming idempotency key: %w", err)
	}
	return prev, nil
}

const idemCols = `key_id, idem_key, body_hash, account, message_id, correlation_id, status, response, created_at`

func scanIdem(r Row) (*Idempotency, error) {
	var rec Idempotency
	var resp string
	var at int64
	if err := r.Scan(&rec.KeyID, &rec.IdemKey, &rec.BodyHash, &rec.Account, &rec.MessageID, &rec.CorrelationID, &rec.Status, &resp, &at); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ErrNotFound
		}
		return nil, err
	}
	if resp != "" {
		rec.Response = []byte(resp)
	}
	rec.CreatedAt = fromMicros(at)
	return &rec, nil
}

// Idempotency loads a record; ErrNotFound when there is none.
func (db *DB) Idempotency(ctx context.Context, keyID, idemKey string) (*Idempotency, error) {
	return scanIdem(db.b.QueryRow(ctx, `SELECT `+idemCols+` FROM portal_idempotency WHERE key_id = ? AND idem_key = ?`, keyID, idemKey))
}

// SetIdempotencyMessage records the message an idempotent request was received as.
func (db *DB) SetIdempotencyMessage(ctx context.Context, keyID, idemKey, messageID, correlationID string) error {
	_, err := db.b.Exec(ctx, `UPDATE portal_idempotency SET message_id = ?, correlation_id = ? WHERE key_id = ? AND idem_key = ?`,
		messageID, correlationID, keyID, idemKey)
	return err
}

// FinishIdempotency records the final response of an idempotent request.
func (db *DB) FinishIdempotency(ctx context.Context, keyID, idemKey string, status int, response []byte) error {
	_, err := db.b.Exec(ctx, `UPDATE portal_idempotency SET status = ?, response = ? WHERE key_id = ? AND idem_key = ?`,
		status, string(response), keyID, idemKey)
	return err
}

// ReleaseIdempotency forgets a claim whose request failed before anything was stored, so that
// the client may retry with the same key.
func (db *DB) ReleaseIdempotency(ctx context.Context, keyID, idemKey string) error {
	_, err := db.b.Exec(ctx, `DELETE FROM portal_idempotency WHERE key_id = ? AND idem_key = ? AND status = 0 AND message_id = ''`, keyID, idemKey)
	return err
}

// PurgeIdempotency deletes records created before t and returns how many.
func (db *DB) PurgeIdempotency(ctx context.Context, t time.Time) (int64, error) {
	return db.b.Exec(ctx, `DELETE FROM portal_idempotency WHERE created_at < ?`, micros(t))
}

// PortalOrderFilter selects the orders of one customer account, newest first.
type PortalOrderFilter struct {
	Account  string // required: an empty account matches nothing
	State    waybill.OrderState
	PONumber string
	Before   string // cursor: only orders whose id sorts before this one
	Limit    int
}

// PortalOrders lists the orders of f.Account, newest first (by id, which sorts by creation time).
func (db *DB) PortalOrders(ctx context.Context, f PortalOrderFilter) ([]*OrderRecord, error) {
	if f.Account == "" {
		return nil, nil
	}
	where, args := []string{"account = ?"}, []any{f.Account}
	if f.State != "" {
		where, args = append(where, "state = ?"), append(args, string(f.State))
	}
	if f.PONumber != "" {
		where, args = append(where, "po_number = ?"), append(args, f.PONumber)
	}
	if f.Before != "" {
		where, args = append(where, "id < ?"), append(args, f.Before)
	}
	limit := f.Limit
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	rows, err := db.b.Query(ctx, fmt.Sprintf(`SELECT `+orderCols+` FROM orders WHERE %s ORDER BY id DESC LIMIT %d`,
		strings.Join(where, " AND "), limit), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*OrderRecord
	for rows.Next() {
		rec, err := scanOrder(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
	return out, rows.Err()
}

// OrdersByCorrelation returns the orders made from the messages of one correlation id, oldest first.
func (db *DB) OrdersByCorrelation(ctx context.Context, correlationID string) ([]*OrderRecord, error) {
	rows, err := db.b.Query(ctx, `SELECT `+orderCols+` FROM orders WHERE correlation_id = ? ORDER BY id`, correlationID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*OrderRecord
	for rows.Next() {
		rec, err := scanOrder(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
	return out, rows.Err()
}

// Webhook is a portal client's subscription to the events of one customer account.
type Webhook struct {
	ID        string
	Client    string
	Account   string
	URL       string
	Secret    string // "whsec_" + base64 key
	Events    []string
	Active    bool
	CreatedAt time.Time
}

const webhookCols = `id, client, account, url, secret, events, active, created_at`

func scanWebhook(r Row) (*Webhook, error) {
	var w Webhook
	var events string
	var active int
	var at int64
	if err := r.Scan(&w.ID, &w.Client, &w.Account, &w.URL, &w.Secret, &events, &active, &at); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ErrNotFound
		}
		return nil, err
	}
	w.Events, w.Active, w.CreatedAt = strings.Fields(events), active != 0, fromMicros(at)
	return &w, nil
}

// InsertWebhook stores a subscription; w.ID must be set.
func (db *DB) InsertWebhook(ctx context.Context, w *Webhook) error {
	if w.CreatedAt.IsZero() {
		w.CreatedAt = db.now()
	}
	active := 0
	if w.Active {
		active = 1
	}
	_, err := db.b.Exec(ctx, `INSERT INTO portal_webhooks (`+webhookCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		w.ID, w.Client, w.Account, w.URL, w.Secret, strings.Join(w.Events, " "), active, micros(w.CreatedAt))
	return err
}

// Webhook loads a subscription; ErrNotFound when there is none.
func (db *DB) Webhook(ctx context.Context, id string) (*Webhook, error) {
	return scanWebhook(db.b.QueryRow(ctx, `SELECT `+webhookCols+` FROM portal_webhooks WHERE id = ?`, id))
}

// Webhooks lists the active subscriptions of an account, oldest first.
func (db *DB) Webhooks(ctx context.Context, account string) ([]*Webhook, error) {
	return queryWebhooks(ctx, db.b, account)
}

// WebhooksFor lists the active subscriptions of an account, inside a transaction.
//
// Within a transaction an account's subscriptions are read once (a batch of orders of one account
// asks for each of them): they are written only outside transactions.
func (tx *Tx) WebhooksFor(ctx context.Context, account string) ([]*Webhook, error) {
	ws, ok := tx.webhooks[account]
	if !ok {
		var err error
		if ws, err = queryWebhooks(ctx, tx.ex, account); err != nil {
			return nil, err
		}
		if tx.webhooks == nil {
			tx.webhooks = map[string][]*Webhook{}
		}
		tx.webhooks[account] = ws
	}
	out := make([]*Webhook, len(ws))
	for i, w := range ws {
		cp := *w
		out[i] = &cp
	}
	return out, nil
}

func queryWebhooks(ctx context.Context, ex Executor, account string) ([]*Webhook, error) {
	rows, err := ex.Query(ctx, `SELECT `+webhookCols+` FROM portal_webhooks WHERE account = ? AND active = 1 ORDER BY id`, account)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Webhook
	for rows.Next() {
		w, err := scanWebhook(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

// DeactivateWebhook ends a subscription; its delivery log stays.
func (db *DB) DeactivateWebhook(ctx context.Context, id string) error {
	_, err := db.b.Exec(ctx, `UPDATE portal_webhooks SET active = 0 WHERE id = ?`, id)
	return err
}

// DeliveryState is where a webhook delivery stands.
type DeliveryState string

const (
	DeliveryPending   DeliveryState = "pending"   // Waiting for its (next) attempt at NextAt.
	DeliveryDelivered DeliveryState = "delivered" // The receiver answered 2xx. Final unless replayed.
	DeliveryDead      DeliveryState = "dead"      // Every attempt failed; replay sends it again.
)

// Delivery is one event for one subscription: the outbox row and its delivery log.
type Delivery struct {
	ID         string
	WebhookID  string
	Account    string
	Event      string
	Payload    []byte
	State      DeliveryState
	Attempts   int
	NextAt     time.Time
	LastStatus int
	LastError  string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

const deliveryCols = `id, webhook_id, account, event, payload, state, attempts, next_at, last_status, last_error, created_at, updated_at`

func scanDelivery(r Row) (*Delivery, error) {
	var d Delivery
	var payload, state string
	var next, created, updated int64
	if err := r.Scan(&d.ID, &d.WebhookID, &d.Account, &d.Event, &payload, &state, &d.Attempts, &next, &d.LastStatus, &d.LastError, &created, &updated); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ErrNotFound
		}
		return nil, err
	}
	d.Payload, d.State = []byte(payload), DeliveryState(state)
	d.NextAt, d.CreatedAt, d.UpdatedAt = fromMicros(next), fromMicros(created), fromMicros(updated)
	return &d, nil
}

// InsertDelivery queues a delivery in the event's transaction. d.ID must be set.
func (tx *Tx) InsertDelivery(ctx context.Context, d *Delivery) error {
	now := tx.db.now()
	if d.State == "" {
		d.State = DeliveryPending
	}
	if d.NextAt.IsZero() {
		d.NextAt = now
	}
	d.CreatedAt, d.UpdatedAt = now, now
	_, err := tx.ex.Exec(ctx, `INSERT INTO portal_deliveries (`+deliveryCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		d.ID, d.WebhookID, d.Account, d.Event, string(d.Payload), string(d.State), d.Attempts, micros(d.NextAt), d.LastStatus,
		d.LastError, micros(d.CreatedAt), micros(d.UpdatedAt))
	if err != nil {
		return fmt.Errorf("queueing webhook delivery: %w", err)
	}
	return nil
}

// Delivery loads a delivery; ErrNotFound when there is none.
func (db *DB) Delivery(ctx context.Context, id string) (*Delivery, error) {
	return scanDelivery(db.b.QueryRow(ctx, `SELECT `+deliveryCols+` FROM portal_deliveries WHERE id = ?`, id))
}

// Deliveries lists a subscription's deliveries, newest first, before the cursor id ("" for the
// newest), at most limit.
func (db *DB) Deliveries(ctx context.Context, webhookID, before string, limit int) ([]*Delivery, error) {
	q, args := `SELECT `+deliveryCols+` FROM portal_deliveries WHERE webhook_id = ?`, []any{webhookID}
	if before != "" {
		q, args = q+` AND id < ?`, append(args, before)
	}
	return queryDeliveries(ctx, db.b, q+fmt.Sprintf(` ORDER BY id DESC LIMIT %d`, clampLimit(limit)), args...)
}

// DueDeliveries returns pending deliveries whose next attempt is due at now, oldest first.
func (db *DB) DueDeliveries(ctx context.Context, now time.Time, limit int) ([]*Delivery, error) {
	return queryDeliveries(ctx, db.b, `SELECT `+deliveryCols+` FROM portal_deliveries WHERE state = 'pending' AND next_at <= ?
		ORDER BY next_at, id LIMIT `+fmt.Sprint(clampLimit(limit)), micros(now))
}

func queryDeliveries(ctx context.Context, ex Executor, q string, args ...any) ([]*Delivery, error) {
	rows, err := ex.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Delivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// ClaimDelivery leases a due delivery until lease, so that one dispatcher (of several replicas)
// attempts it; it reports false when another claimed it first.
func (db *DB) ClaimDelivery(ctx context.Context, d *Delivery, lease time.Time) (bool, error) {
	n, err := db.b.Exec(ctx, `UPDATE portal_deliveries SET next_at = ? WHERE id = ? AND state = 'pending' AND next_at = ?`,
		micros(lease), d.ID, micros(d.NextAt))
	return n == 1, err
}

// RecordDeliveryAttempt stores the outcome of an attempt: the new state, attempt count, the time
// of the next attempt (for pending), and the receiver's status or the error.
func (db *DB) RecordDeliveryAttempt(ctx context.Context, d *Delivery) error {
	d.UpdatedAt = db.now()
	_, err := db.b.Exec(ctx, `UPDATE portal_deliveries SET state = ?, attempts = ?, next_at = ?, last_status = ?, last_error = ?,
		updated_at = ? WHERE id = ?`, string(d.State), d.Attempts, micros(d.NextAt), d.LastStatus, d.LastError, micros(d.UpdatedAt), d.ID)
	return err
}

// ReplayDelivery makes a delivered or dead delivery pending again, due now, with a fresh attempt
// budget. ErrNotFound when there is none.
func (db *DB) ReplayDelivery(ctx context.Context, id string) error {
	now := micros(db.now())
	n, err := db.b.Exec(ctx, `UPDATE portal_deliveries SET state = 'pending', attempts = 0, next_at = ?, updated_at = ? WHERE id = ?`, now, now, id)
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

func clampLimit(n int) int {
	if n <= 0 || n > 500 {
		return 50
	}
	return n
}

// InsertReturn stores a return authorisation; r.ID and r.Account must be set.
func (tx *Tx) InsertReturn(ctx context.Context, r *waybill.ReturnAuthorization) error {
	doc, err := jsonString(r)
	if err != nil {
		return err
	}
	now := micros(tx.db.now())
	_, err = tx.ex.Exec(ctx, `INSERT INTO portal_returns (id, account, order_id, state, doc, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.Account, r.OrderID, string(r.State), doc, now, now)
	return err
}

// UpdateReturn saves a return authorisation.
func (tx *Tx) UpdateReturn(ctx context.Context, r *waybill.ReturnAuthorization) error {
	doc, err := jsonString(r)
	if err != nil {
		return err
	}
	_, err = tx.ex.Exec(ctx, `UPDATE portal_returns SET state = ?, doc = ?, updated_at = ? WHERE id = ?`, string(r.State), doc, micros(tx.db.now()), r.ID)
	return err
}

// Return loads a return authorisation; ErrNotFound when there is none.
func (db *DB) Return(ctx context.Context, id string) (*waybill.ReturnAuthorization, error) {
	var doc string
	if err := db.b.QueryRow(ctx, `SELECT doc FROM portal_returns WHERE id = ?`, id).Scan(&doc); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ErrNotFound
		}
		return nil, err
	}
	var r waybill.ReturnAuthorization
	return &r, jsonDecode(doc, &r)
}

// ReturnFilter selects the returns of one account, newest first.
type ReturnFilter struct {
	Account string // required: an empty account matches nothing
	OrderID string
	State   waybill.ReturnState
	Before  string
	Limit   int
}

// Returns lists return authorisations.
func (db *DB) Returns(ctx context.Context, f ReturnFilter) ([]*waybill.ReturnAuthorization, error) {
	if f.Account == "" {
		return nil, nil
	}
	where, args := []string{"account = ?"}, []any{f.Account}
	if f.OrderID != "" {
		where, args = append(where, "order_id = ?"), append(args, f.OrderID)
	}
	if f.State != "" {
		where, args = append(where, "state = ?"), append(args, string(f.State))
	}
	if f.Before != "" {
		where, args = append(where, "id < ?"), append(args, f.Before)
	}
	rows, err := db.b.Query(ctx, fmt.Sprintf(`SELECT doc FROM portal_returns WHERE %s ORDER BY id DESC LIMIT %d`,
		strings.Join(where, " AND "), clampLimit(f.Limit)), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*waybill.ReturnAuthorization
	for rows.Next() {
		var doc string
		if err := rows.Scan(&doc); err != nil {
			return nil, err
		}
		var r waybill.ReturnAuthorization
		if err := jsonDecode(doc, &r); err != nil {
			return nil, err
		}
		out = append(out, &r)
	}
	return out, rows.Err()
}

// PendingReturns lists returns still in the requested state (to be sent to the ERP), oldest first.
func (db *DB) PendingReturns(ctx context.Context, limit int) ([]*waybill.ReturnAuthorization, error) {
	rows, err := db.b.Query(ctx, fmt.Sprintf(`SELECT doc FROM portal_returns WHERE state = 'requested' ORDER BY id LIMIT %d`, clampLimit(limit)))
	if err != nil {
		return nil, err
	}
	return scanReturns(rows)
}

// ReturnsToFollow lists returns in one of states that were not updated (or touched, see
// TouchReturn) since checkedBefore, least recently checked first: those whose ERP state is due
// for another look.
func (db *DB) ReturnsToFollow(ctx context.Context, states []waybill.ReturnState, checkedBefore time.Time, limit int) ([]*waybill.ReturnAuthorization, error) {
	if len(states) == 0 {
		return nil, nil
	}
	marks := make([]string, len(states))
	args := make([]any, 0, len(states)+1)
	for i, st := range states {
		marks[i] = "?"
		args = append(args, string(st))
	}
	args = append(args, micros(checkedBefore))
	rows, err := db.b.Query(ctx, fmt.Sprintf(`SELECT doc FROM portal_returns WHERE state IN (%s) AND updated_at < ? ORDER BY updated_at, id LIMIT %d`,
		strings.Join(marks, ", "), clampLimit(limit)), args...)
	if err != nil {
		return nil, err
	}
	return scanReturns(rows)
}

// ClaimReturn takes a return for the caller until until, if it is still not updated, touched or
// claimed since checkedBefore (the cut-off ReturnsToFollow found it with): of several processes
// that found the same return due, one gets it, and the others leave it (false). A claim that is
// not followed by UpdateReturn or TouchReturn runs out at until, and the return is due again.
func (db *DB) ClaimReturn(ctx context.Context, id string, checkedBefore, until time.Time) (bool, error) {
	n, err := db.b.Exec(ctx, `UPDATE portal_returns SET updated_at = ? WHERE id = ? AND updated_at < ?`, micros(until), id, micros(checkedBefore))
	if err != nil {
		return false, err
	}
	return n == 1, nil
}

// TouchReturn records that the return was checked now without changing it, so ReturnsToFollow
// leaves it alone for a while. ErrNotFound when there is no such return.
func (db *DB) TouchReturn(ctx context.Context, id string) error {
	n, err := db.b.Exec(ctx, `UPDATE portal_returns SET updated_at = ? WHERE id = ?`, micros(db.now()), id)
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

func scanReturns(rows Rows) ([]*waybill.ReturnAuthorization, error) {
	defer rows.Close()
	var out []*waybill.ReturnAuthorization
	for rows.Next() {
		var doc string
		if err := rows.Scan(&doc); err != nil {
			return nil, err
		}
		var r waybill.ReturnAuthorization
		if err := jsonDecode(doc, &r); err != nil {
			return nil, err
		}
		out = append(out, &r)
	}
	return out, rows.Err()
}

func jsonString(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

func jsonDecode(s string, v any) error {
	if err := json.Unmarshal([]byte(s), v); err != nil {
		return fmt.Errorf("decoding stored document: %w", err)
	}
	return nil
}
