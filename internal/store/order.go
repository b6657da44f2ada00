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

// BusinessKey is the first claim of a business key (customer + PO number, ...).
type BusinessKey struct {
	Key           string
	Kind          string
	MessageID     string
	OrderID       string
	CorrelationID string
	CreatedAt     time.Time
}

// ClaimBusinessKey records k unless its key was claimed before; it returns the earlier claim
// (and no error) when there was one, nil when this call claimed it.
func (tx *Tx) ClaimBusinessKey(ctx context.Context, k BusinessKey) (*BusinessKey, error) {
	n, err := tx.ex.Exec(ctx, `INSERT INTO business_keys (key, kind, message_id, order_id, correlation_id, created_at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, k.Key, k.Kind, k.MessageID, k.OrderID, k.CorrelationID, micros(tx.db.now()))
	if err != nil {
		return nil, fmt.Errorf("claiming business key %s: %w", k.Key, err)
	}
	if n == 1 {
		return nil, nil
	}
	var prev BusinessKey
	var at int64
	err = tx.ex.QueryRow(ctx, `SELECT key, kind, message_id, order_id, correlation_id, created_at FROM business_keys WHERE key = ?`, k.Key).
		Scan(&prev.Key, &prev.Kind, &prev.MessageID, &prev.OrderID, &prev.CorrelationID, &at)
	if errors.Is(err, sql.ErrNoRows) {
		// Claimed by a transaction that has not committed yet (PostgreSQL): the caller retries.
		return nil, fmt.Errorf("claiming business key %s: %w", k.Key, ErrConflict)
	}
	if err != nil {
		return nil, fmt.Errorf("reading business key %s: %w", k.Key, err)
	}
	prev.CreatedAt = fromMicros(at)
	return &prev, nil
}

// ClaimBusinessKeys claims keys, which must differ from each other, in statements of up to 64,
// and returns those it claimed. A key it did not claim belongs to an earlier claim (on
// PostgreSQL, a concurrent claim is waited for); ClaimBusinessKey tells which.
func (tx *Tx) ClaimBusinessKeys(ctx context.Context, keys []BusinessKey) (map[string]bool, error) {
	claimed := make(map[string]bool, len(keys))
	now := micros(tx.db.now())
	for len(keys) > 0 {
		n := min(len(keys), 64)
		args := make([]any, 0, 6*n)
		for _, k := range keys[:n] {
			args = append(args, k.Key, k.Kind, k.MessageID, k.OrderID, k.CorrelationID, now)
		}
		rows, err := tx.ex.Query(ctx, `INSERT INTO business_keys (key, kind, message_id, order_id, correlation_id, created_at)
			VALUES (?, ?, ?, ?, ?, ?)`+strings.Repeat(`, (?, ?, ?, ?, ?, ?)`, n-1)+` ON CONFLICT DO NOTHING RETURNING key`, args...)
		if err != nil {
			return nil, fmt.Errorf("claiming %d business keys: %w", n, err)
		}
		for rows.Next() {
			var k string
			if err := rows.Scan(&k); err != nil {
				rows.Close()
				return nil, err
			}
			claimed[k] = true
		}
		err = rows.Err()
		if cerr := rows.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, fmt.Errorf("claiming %d business keys: %w", n, err)
		}
		keys = keys[n:]
	}
	return claimed, nil
}

// ReassignBusinessKey points an existing key at another order (duplicate policy "supersede").
func (tx *Tx) ReassignBusinessKey(ctx context.Context, key, orderID, messageID string) error {
	_, err := tx.ex.Exec(ctx, `UPDATE business_keys SET order_id = ?, message_id = ? WHERE key = ?`, orderID, messageID, key)
	return err
}

// InsertOrder stores a new order. o.ID, o.CorrelationID and o.State must be set.
func (tx *Tx) InsertOrder(ctx context.Context, o *waybill.Order, messageID string) error {
	doc, err := json.Marshal(o)
	if err != nil {
		return err
	}
	now := micros(tx.db.now())
	// Deferred: the id is new, so only a broken statement fails it, and then the transaction.
	err = tx.execDeferred(ctx, `INSERT INTO orders (id, correlation_id, message_id, partner, account, channel, po_number, state, doc,
		erp_model, erp_id, erp_name, version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)`,
		o.ID, o.CorrelationID, messageID, o.Partner, o.Account, string(o.Channel), o.PONumber, string(o.State), string(doc),
		o.ERP.Model, o.ERP.ID, o.ERP.Name, now, now)
	if err != nil {
		return fmt.Errorf("storing order %s: %w", o.ID, err)
	}
	return nil
}

// OrderRecord is a stored order with its bookkeeping.
type OrderRecord struct {
	Order     *waybill.Order
	MessageID string
	Version   int
	CreatedAt time.Time
	UpdatedAt time.Time
}

const orderCols = `doc, message_id, version, state, erp_model, erp_id, erp_name, created_at, updated_at`

func scanOrder(r Row) (*OrderRecord, error) {
	var doc, state, model, name string
	var id, created, updated int64
	rec := &OrderRecord{}
	if err := r.Scan(&doc, &rec.MessageID, &rec.Version, &state, &model, &id, &name, &created, &updated); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ErrNotFound
		}
		return nil, err
	}
	var o waybill.Order
	if err := json.Unmarshal([]byte(doc), &o); err != nil {
		return nil, fmt.Errorf("decoding stored order: %w", err)
	}
	o.State = waybill.OrderState(state)
	o.ERP = waybill.ERPRef{Model: model, ID: id, Name: name}
	rec.Order = &o
	rec.CreatedAt, rec.UpdatedAt = fromMicros(created), fromMicros(updated)
	return rec, nil
}

// Order loads an order.
func (db *DB) Order(ctx context.Context, id string) (*OrderRecord, error) {
	rec, err := scanOrder(db.b.QueryRow(ctx, `SELECT `+orderCols+` FROM orders WHERE id = ?`, id))
	if err != nil {
		return nil, fmt.Errorf("loading order %s: %w", id, err)
	}
	return rec, nil
}

// Order loads an order inside the transaction.
func (tx *Tx) Order(ctx context.Context, id string) (*OrderRecord, error) {
	rec, err := scanOrder(tx.ex.QueryRow(ctx, `SELECT `+orderCols+` FROM orders WHERE id = ?`, id))
	if err != nil {
		return nil, fmt.Errorf("loading order %s: %w", id, err)
	}
	return rec, nil
}

// UpdateOrder saves rec.Order if its version is still rec.Version, and bumps the version;
// ErrConflict means someone else saved it first.
func (tx *Tx) UpdateOrder(ctx context.Context, rec *OrderRecord) error {
	o := rec.Order
	doc, err := json.Marshal(o)
	if err != nil {
		return err
	}
	n, err := tx.ex.Exec(ctx, `UPDATE orders SET doc = ?, state = ?, account = ?, erp_model = ?, erp_id = ?, erp_name = ?,
		version = version + 1, updated_at = ? WHERE id = ? AND version = ?`,
		string(doc), string(o.State), o.Account, o.ERP.Model, o.ERP.ID, o.ERP.Name, micros(tx.db.now()), o.ID, rec.Version)
	if err != nil {
		return fmt.Errorf("saving order %s: %w", o.ID, err)
	}
	if n == 0 {
		return fmt.Errorf("saving order %s: %w", o.ID, ErrConflict)
	}
	rec.Version++
	return nil
}

// orderWrite is an order saved by TransitionAtCommit, written when its transaction commits.
type orderWrite struct {
	id, doc, state, account, erpModel, erpName string
	erpID                                      int64
	version                                    int // the version it must still have
}

// TransitionAtCommit is Transition, except that the order is written when the transaction
// commits, with the others saved this way, in one statement: for work that saves many orders in
// one transaction. A version that changed meanwhile fails the commit with ErrConflict. The
// order must not be read back, nor saved otherwise, in the same transaction.
func (tx *Tx) TransitionAtCommit(ctx context.Context, rec *OrderRecord, to waybill.OrderState, by waybill.Owner, actor, reason string) (waybill.OrderEvent, error) {
	ev, err := tx.move(rec, to, by, actor, reason)
	if err != nil {
		return waybill.OrderEvent{}, err
	}
	o := rec.Order
	doc, err := json.Marshal(o)
	if err != nil {
		return waybill.OrderEvent{}, err
	}
	tx.orderWrites = append(tx.orderWrites, orderWrite{id: o.ID, doc: string(doc), state: string(o.State), account: o.Account,
		erpModel: o.ERP.Model, erpName: o.ERP.Name, erpID: o.ERP.ID, version: rec.Version})
	rec.Version++
	return ev, tx.InsertEvent(ctx, ev)
}

// writeOrders writes the orders saved by TransitionAtCommit, in statements of 64, 32, ..., 1
// rows (few statement texts to keep prepared), each checking the versions.
func (tx *Tx) writeOrders(ctx context.Context) error {
	ws := tx.orderWrites
	tx.orderWrites = nil
	now := micros(tx.db.now())
	for len(ws) > 0 {
		n := 64
		for n > len(ws) {
			n /= 2
		}
		args := make([]any, 0, 1+8*n)
		args = append(args, now)
		for _, w := range ws[:n] {
			args = append(args, w.id, w.version, w.doc, w.state, w.account, w.erpModel, w.erpID, w.erpName)
		}
		const row = `(?, CAST(? AS INTEGER), ?, ?, ?, ?, CAST(? AS BIGINT), ?)`
		rows, err := tx.ex.Query(ctx, `UPDATE orders SET doc = v.column3, state = v.column4, account = v.column5,
			erp_model = v.column6, erp_id = v.column7, erp_name = v.column8, version = orders.version + 1, updated_at = ?
			FROM (VALUES `+row+strings.Repeat(`, `+row, n-1)+`) AS v
			WHERE orders.id = v.column1 AND orders.version = v.column2 RETURNING orders.id`, args...)
		if err != nil {
			return fmt.Errorf("saving %d orders: %w", n, err)
		}
		saved := 0
		for rows.Next() {
			saved++
		}
		err = rows.Err()
		if cerr := rows.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("saving %d orders: %w", n, err)
		}
		if saved != n {
			return fmt.Errorf("saving %d orders: %d changed meanwhile: %w", n, n-saved, ErrConflict)
		}
		ws = ws[n:]
	}
	return nil
}

// Transition moves rec's order to state to on behalf of by, after checking the lifecycle, saves
// the order and stores the event. It returns the event.
func (tx *Tx) Transition(ctx context.Context, rec *OrderRecord, to waybill.OrderState, by waybill.Owner, actor, reason string) (waybill.OrderEvent, error) {
	ev, err := tx.move(rec, to, by, actor, reason)
	if err != nil {
		return waybill.OrderEvent{}, err
	}
	if err := tx.UpdateOrder(ctx, rec); err != nil {
		return waybill.OrderEvent{}, err
	}
	if err := tx.InsertEvent(ctx, ev); err != nil {
		return waybill.OrderEvent{}, err
	}
	return ev, nil
}

// move checks the lifecycle, moves rec's order to state to in memory and returns the event.
func (tx *Tx) move(rec *OrderRecord, to waybill.OrderState, by waybill.Owner, actor, reason string) (waybill.OrderEvent, error) {
	o := rec.Order
	if err := waybill.CheckTransition(o.ID, o.State, to, by); err != nil {
		return waybill.OrderEvent{}, err
	}
	ev := waybill.OrderEvent{OrderID: o.ID, From: o.State, To: to, Source: by, Actor: actor, Reason: reason,
		At: tx.db.now(), CorrelationID: o.CorrelationID}
	o.State = to
	return ev, nil
}

// InsertEvent stores an order event as given (for the initial "→ received" event, whose From is
// empty, and for Transition).
func (tx *Tx) InsertEvent(ctx context.Context, ev waybill.OrderEvent) error {
	return tx.InsertEvents(ctx, ev)
}

// InsertEvents stores order events, in the order given. They are written when the transaction
// commits, with its other events and its audit records.
func (tx *Tx) InsertEvents(ctx context.Context, evs ...waybill.OrderEvent) error {
	tx.events = append(tx.events, evs...)
	return nil
}

const eventInsert = `INSERT INTO order_events (order_id, from_state, to_state, source, actor, reason, at, correlation_id)`

func eventArgs(args []any, ev waybill.OrderEvent) []any {
	return append(args, ev.OrderID, string(ev.From), string(ev.To), string(ev.Source), ev.Actor, ev.Reason, micros(ev.At), ev.CorrelationID)
}

// OrderEvents returns an order's history, oldest first.
func (db *DB) OrderEvents(ctx context.Context, orderID string) ([]waybill.OrderEvent, error) {
	rows, err := db.b.Query(ctx, `SELECT seq, order_id, from_state, to_state, source, actor, reason, at, correlation_id
		FROM order_events WHERE order_id = ? ORDER BY seq`, orderID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []waybill.OrderEvent
	for rows.Next() {
		var ev waybill.OrderEvent
		var from, to, src string
		var at int64
		if err := rows.Scan(&ev.Seq, &ev.OrderID, &from, &to, &src, &ev.Actor, &ev.Reason, &at, &ev.CorrelationID); err != nil {
			return nil, err
		}
		ev.From, ev.To, ev.Source, ev.At = waybill.OrderState(from), waybill.OrderState(to), waybill.Owner(src), fromMicros(at)
		out = append(out, ev)
	}
	return out, rows.Err()
}

// OrderFilter selects orders.
type OrderFilter struct {
	Partner       string
	Account       string
	PONumber      string
	State         waybill.OrderState
	ERPName       string
	CorrelationID string
	Limit         int
}

// Orders lists orders, newest first.
func (db *DB) Orders(ctx context.Context, f OrderFilter) ([]*OrderRecord, error) {
	var where []string
	var args []any
	add := func(col, v string) {
		if v != "" {
			where, args = append(where, col+" = ?"), append(args, v)
		}
	}
	add("partner", f.Partner)
	add("account", f.Account)
	add("po_number", f.PONumber)
	add("state", string(f.State))
	add("erp_name", f.ERPName)
	add("correlation_id", f.CorrelationID)
	q := `SELECT ` + orderCols + ` FROM orders`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	q += fmt.Sprintf(" ORDER BY created_at DESC, id DESC LIMIT %d", limit)
	rows, err := db.b.Query(ctx, q, args...)
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

// CountOrdersByState returns the number of orders in each state.
func (db *DB) CountOrdersByState(ctx context.Context) (map[waybill.OrderState]int64, error) {
	rows, err := db.b.Query(ctx, `SELECT state, COUNT(*) FROM orders GROUP BY state`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[waybill.OrderState]int64{}
	for rows.Next() {
		var s string
		var n int64
		if err := rows.Scan(&s, &n); err != nil {
			return nil, err
		}
		out[waybill.OrderState(s)] = n
	}
	return out, rows.Err()
}
