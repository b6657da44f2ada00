package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/waybill-hub/waybill"
)

// The dashboard's aggregate queries. Each one is bounded by a time range or by a set of
// non-final states and is served by an index of migration 00004, so pages stay fast however many
// messages the store holds.

// PartnerStateCount is a count of orders of one partner in one state.
type PartnerStateCount struct {
	Partner string
	State   waybill.OrderState
	Count   int64
}

// OrdersCreated counts orders created in [from, to) by partner and current state.
func (db *DB) OrdersCreated(ctx context.Context, from, to time.Time) ([]PartnerStateCount, error) {
	// Materialized, so that the planner scans the created_at range of the covering index instead
	// of walking the (state, partner) index over every order to skip the grouping sort.
	return db.partnerStateCounts(ctx, `WITH r AS MATERIALIZED (SELECT partner, state FROM orders WHERE created_at >= ? AND created_at < ?)
		SELECT partner, state, COUNT(*) FROM r GROUP BY partner, state ORDER BY partner, state`, micros(from), micros(to))
}

// DayCount is a count of orders created on one UTC day by one partner in one state.
type DayCount struct {
	Day time.Time
	PartnerStateCount
}

// OrdersCreatedByDay counts orders created in [from, to) by UTC day of creation, partner and
// current state.
func (db *DB) OrdersCreatedByDay(ctx context.Context, from, to time.Time) ([]DayCount, error) {
	const day = int64(24 * time.Hour / time.Microsecond)
	rows, err := db.b.Query(ctx, fmt.Sprintf(`WITH r AS MATERIALIZED (SELECT created_at / %d AS d, partner, state FROM orders
		WHERE created_at >= ? AND created_at < ?) SELECT d, partner, state, COUNT(*) FROM r GROUP BY d, partner, state ORDER BY d, partner, state`, day),
		micros(from), micros(to))
	if err != nil {
		return nil, fmt.Errorf("counting orders by day: %w", err)
	}
	defer rows.Close()
	var out []DayCount
	for rows.Next() {
		var c DayCount
		var d int64
		var st string
		if err := rows.Scan(&d, &c.Partner, &st, &c.Count); err != nil {
			return nil, err
		}
		c.Day, c.State = fromMicros(d*day), waybill.OrderState(st)
		out = append(out, c)
	}
	return out, rows.Err()
}

// OrdersInStates counts orders currently in the given states, by partner and state (the backlog).
func (db *DB) OrdersInStates(ctx context.Context, states []waybill.OrderState) ([]PartnerStateCount, error) {
	if len(states) == 0 {
		return nil, nil
	}
	args := make([]any, len(states))
	for i, s := range states {
		args[i] = string(s)
	}
	ph := strings.TrimSuffix(strings.Repeat("?, ", len(states)), ", ")
	return db.partnerStateCounts(ctx, `SELECT partner, state, COUNT(*) FROM orders WHERE state IN (`+ph+`)
		GROUP BY partner, state ORDER BY partner, state`, args...)
}

func (db *DB) partnerStateCounts(ctx context.Context, q string, args ...any) ([]PartnerStateCount, error) {
	rows, err := db.b.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("counting orders: %w", err)
	}
	defer rows.Close()
	var out []PartnerStateCount
	for rows.Next() {
		var c PartnerStateCount
		var st string
		if err := rows.Scan(&c.Partner, &st, &c.Count); err != nil {
			return nil, err
		}
		c.State = waybill.OrderState(st)
		out = append(out, c)
	}
	return out, rows.Err()
}

// Reached is an order reaching a state: when, and when the order was created (received).
type Reached struct {
	OrderID   string
	Partner   string
	At        time.Time
	CreatedAt time.Time
}

// OrdersReached lists orders that reached state in [from, to), oldest first: all of them, or the
// most recent limit (default 10000) when there are more. The dashboard derives turnaround
// (received → accepted) from it.
func (db *DB) OrdersReached(ctx context.Context, state waybill.OrderState, from, to time.Time, limit int) ([]Reached, error) {
	if limit <= 0 {
		limit = 10000
	}
	rows, err := db.b.Query(ctx, `SELECT e.order_id, o.partner, e.at, o.created_at FROM order_events e JOIN orders o ON o.id = e.order_id
		WHERE e.to_state = ? AND e.at >= ? AND e.at < ? ORDER BY e.at DESC LIMIT `+fmt.Sprint(limit), string(state), micros(from), micros(to))
	if err != nil {
		return nil, fmt.Errorf("listing orders that reached %s: %w", state, err)
	}
	defer rows.Close()
	var out []Reached
	for rows.Next() {
		var r Reached
		var at, c int64
		if err := rows.Scan(&r.OrderID, &r.Partner, &at, &c); err != nil {
			return nil, err
		}
		r.At, r.CreatedAt = fromMicros(at), fromMicros(c)
		out = append(out, r)
	}
	slices.Reverse(out)
	return out, rows.Err()
}

// VolumePoint is the number of messages in one time bucket.
type VolumePoint struct {
	At    time.Time // start of the bucket
	Count int64
}

// MessageVolume counts messages of one direction received in [from, to), in buckets of the
// given width aligned to the Unix epoch (a day bucket starts at 00:00 UTC). Empty buckets are
// omitted.
func (db *DB) MessageVolume(ctx context.Context, dir Direction, from, to time.Time, bucket time.Duration) ([]VolumePoint, error) {
	w := bucket.Microseconds()
	if w <= 0 {
		return nil, fmt.Errorf("message volume: bucket must be positive")
	}
	rows, err := db.b.Query(ctx, fmt.Sprintf(`SELECT received_at / %d AS b, COUNT(*) FROM messages
		WHERE received_at >= ? AND received_at < ? AND direction = ? GROUP BY b ORDER BY b`, w), micros(from), micros(to), string(dir))
	if err != nil {
		return nil, fmt.Errorf("message volume: %w", err)
	}
	defer rows.Close()
	var out []VolumePoint
	for rows.Next() {
		var b, n int64
		if err := rows.Scan(&b, &n); err != nil {
			return nil, err
		}
		out = append(out, VolumePoint{At: fromMicros(b * w), Count: n})
	}
	return out, rows.Err()
}

// DocCount is a count of messages of one partner, document type and state.
type DocCount struct {
	Partner string
	DocType string
	State   MessageState
	Count   int64
}

// MessagesByDoc counts messages of one direction received in [from, to) by partner, document
// type and state (outbound: 855/856/810 queued, sent, acked, rejected).
func (db *DB) MessagesByDoc(ctx context.Context, dir Direction, from, to time.Time) ([]DocCount, error) {
	return db.docCounts(ctx, `SELECT partner, doc_type, state, COUNT(*) FROM messages
		WHERE received_at >= ? AND received_at < ? AND direction = ? GROUP BY partner, doc_type, state ORDER BY partner, doc_type, state`,
		micros(from), micros(to), string(dir))
}

// AwaitingAck counts outbound messages sent before `before` and still not acknowledged (state
// sent), by partner and document type: overdue functional acknowledgements when before is now
// minus the partner's acknowledgement window.
func (db *DB) AwaitingAck(ctx context.Context, before time.Time) ([]DocCount, error) {
	return db.docCounts(ctx, `SELECT partner, doc_type, state, COUNT(*) FROM messages
		WHERE direction = 'out' AND state = 'sent' AND received_at < ? GROUP BY partner, doc_type, state ORDER BY partner, doc_type`,
		micros(before))
}

func (db *DB) docCounts(ctx context.Context, q string, args ...any) ([]DocCount, error) {
	rows, err := db.b.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("counting messages: %w", err)
	}
	defer rows.Close()
	var out []DocCount
	for rows.Next() {
		var c DocCount
		var st string
		if err := rows.Scan(&c.Partner, &c.DocType, &st, &c.Count); err != nil {
			return nil, err
		}
		c.State = MessageState(st)
		out = append(out, c)
	}
	return out, rows.Err()
}

// KindCount is a count of dead letters of one job kind and reason.
type KindCount struct {
	Kind   string
	Reason string
	Count  int64
}

// DeadLettersCreated counts dead letters created in [from, to) by job kind and reason, whatever
// their state now (transformation failures are those of process_message).
func (db *DB) DeadLettersCreated(ctx context.Context, from, to time.Time) ([]KindCount, error) {
	rows, err := db.b.Query(ctx, `SELECT job_kind, reason, COUNT(*) FROM dead_letters WHERE created_at >= ? AND created_at < ?
		GROUP BY job_kind, reason ORDER BY job_kind, reason`, micros(from), micros(to))
	if err != nil {
		return nil, fmt.Errorf("counting dead letters: %w", err)
	}
	defer rows.Close()
	var out []KindCount
	for rows.Next() {
		var c KindCount
		if err := rows.Scan(&c.Kind, &c.Reason, &c.Count); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// ShipDate is an order's requested ship date (zero when the order has none).
type ShipDate struct {
	OrderID   string
	Partner   string
	Requested time.Time
}

// ShipDates returns the requested ship dates of up to limit orders (default 2000) in each of the
// given states, newest first. It reads the date from the stored document without decoding it.
func (db *DB) ShipDates(ctx context.Context, states []waybill.OrderState, limit int) ([]ShipDate, error) {
	if limit <= 0 {
		limit = 2000
	}
	var out []ShipDate
	for _, st := range states {
		rows, err := db.b.Query(ctx, `SELECT id, partner, doc FROM orders WHERE state = ? ORDER BY updated_at DESC LIMIT `+fmt.Sprint(limit), string(st))
		if err != nil {
			return nil, fmt.Errorf("reading ship dates: %w", err)
		}
		for rows.Next() {
			var d ShipDate
			var doc string
			if err := rows.Scan(&d.OrderID, &d.Partner, &doc); err != nil {
				rows.Close()
				return nil, err
			}
			d.Requested = requestedShip(doc)
			out = append(out, d)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// requestedShip finds the order-level "requested_ship" of a stored order document: the first
// occurrence before "lines" (waybill.Order marshals its header fields first).
func requestedShip(doc string) time.Time {
	const key = `"requested_ship":"`
	i := strings.Index(doc, key)
	if i < 0 {
		return time.Time{}
	}
	if l := strings.Index(doc, `"lines":`); l >= 0 && l < i {
		return time.Time{}
	}
	rest := doc[i+len(key):]
	j := strings.IndexByte(rest, '"')
	if j < 0 {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, rest[:j])
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

// OrderDocs loads the orders with the given ids (at most 1000), in no particular order; missing
// ids are skipped.
func (db *DB) OrderDocs(ctx context.Context, ids []string) ([]*waybill.Order, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	if len(ids) > 1000 {
		ids = ids[:1000]
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	rows, err := db.b.Query(ctx, `SELECT `+orderCols+` FROM orders WHERE id IN (`+strings.TrimSuffix(strings.Repeat("?, ", len(ids)), ", ")+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("loading orders: %w", err)
	}
	defer rows.Close()
	var out []*waybill.Order
	for rows.Next() {
		rec, err := scanOrder(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, rec.Order)
	}
	return out, rows.Err()
}

// SetCount is a count of outbound EDI sets of one partner, transaction set and acknowledgement
// status ("" waiting, A accepted, E accepted with errors, R rejected).
type SetCount struct {
	Partner   string
	SetID     string
	AckStatus string
	Count     int64
}

// OutboundSets counts outbound EDI sets queued in [from, to) by partner, set and acknowledgement
// status.
func (db *DB) OutboundSets(ctx context.Context, from, to time.Time) ([]SetCount, error) {
	return db.setCounts(ctx, `SELECT partner, set_id, ack_status, COUNT(*) FROM edi_outbound WHERE queued_at >= ? AND queued_at < ?
		GROUP BY partner, set_id, ack_status ORDER BY partner, set_id, ack_status`, micros(from), micros(to))
}

// SetDayCount is a SetCount of one UTC day of queueing.
type SetDayCount struct {
	Day time.Time
	SetCount
}

// OutboundSetsByDay is OutboundSets by UTC day of queueing.
func (db *DB) OutboundSetsByDay(ctx context.Context, from, to time.Time) ([]SetDayCount, error) {
	const day = int64(24 * time.Hour / time.Microsecond)
	rows, err := db.b.Query(ctx, fmt.Sprintf(`WITH r AS MATERIALIZED (SELECT queued_at / %d AS d, partner, set_id, ack_status FROM edi_outbound
		WHERE queued_at >= ? AND queued_at < ?) SELECT d, partner, set_id, ack_status, COUNT(*) FROM r GROUP BY d, partner, set_id, ack_status
		ORDER BY d, partner, set_id, ack_status`, day), micros(from), micros(to))
	if err != nil {
		return nil, fmt.Errorf("counting outbound sets by day: %w", err)
	}
	defer rows.Close()
	var out []SetDayCount
	for rows.Next() {
		var c SetDayCount
		var d int64
		if err := rows.Scan(&d, &c.Partner, &c.SetID, &c.AckStatus, &c.Count); err != nil {
			return nil, err
		}
		c.Day = fromMicros(d * day)
		out = append(out, c)
	}
	return out, rows.Err()
}

// OverdueAcks counts outbound EDI sets whose functional acknowledgement was due (by the
// partner's SLA) before now and has not come, by partner and set.
func (db *DB) OverdueAcks(ctx context.Context, now time.Time) ([]SetCount, error) {
	return db.setCounts(ctx, `SELECT partner, set_id, ack_status, COUNT(*) FROM edi_outbound
		WHERE ack_status = '' AND ack_due_at > 0 AND ack_due_at < ? GROUP BY partner, set_id, ack_status ORDER BY partner, set_id`, micros(now))
}

func (db *DB) setCounts(ctx context.Context, q string, args ...any) ([]SetCount, error) {
	rows, err := db.b.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("counting outbound sets: %w", err)
	}
	defer rows.Close()
	var out []SetCount
	for rows.Next() {
		var c SetCount
		if err := rows.Scan(&c.Partner, &c.SetID, &c.AckStatus, &c.Count); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// AckTurnaround lists orders whose acknowledgement (outbound 855) was queued in [from, to):
// At is when it was queued, CreatedAt when the order was received. All of them, or the most
// recent limit (default 10000), oldest first.
func (db *DB) AckTurnaround(ctx context.Context, from, to time.Time, limit int) ([]Reached, error) {
	if limit <= 0 {
		limit = 10000
	}
	rows, err := db.b.Query(ctx, `SELECT o.id, o.partner, e.queued_at, o.created_at FROM edi_outbound e JOIN orders o ON o.id = e.order_id
		WHERE e.queued_at >= ? AND e.queued_at < ? AND e.set_id = '855' ORDER BY e.queued_at DESC LIMIT `+fmt.Sprint(limit), micros(from), micros(to))
	if err != nil {
		return nil, fmt.Errorf("reading 855 turnaround: %w", err)
	}
	defer rows.Close()
	var out []Reached
	for rows.Next() {
		var r Reached
		var at, c int64
		if err := rows.Scan(&r.OrderID, &r.Partner, &at, &c); err != nil {
			return nil, err
		}
		r.At, r.CreatedAt = fromMicros(at), fromMicros(c)
		out = append(out, r)
	}
	slices.Reverse(out)
	return out, rows.Err()
}

// MetaShippedAt is the outbound 856's meta key holding when the ERP's delivery was done (RFC 3339).
const MetaShippedAt = "shipped_at"

// ShipNoticeTiming is one ship notice: when its delivery was done in the ERP and when the
// partner's side took it (zero while not sent).
type ShipNoticeTiming struct {
	Partner   string
	ShippedAt time.Time
	SentAt    time.Time
}

// ShipNoticeTimings returns the 856s queued in [from, to), newest first, at most limit.
func (db *DB) ShipNoticeTimings(ctx context.Context, from, to time.Time, limit int) ([]ShipNoticeTiming, error) {
	rows, err := db.b.Query(ctx, fmt.Sprintf(`SELECT partner, state, meta, updated_at FROM messages
		WHERE received_at >= ? AND received_at < ? AND direction = 'out' AND doc_type = '856' ORDER BY received_at DESC LIMIT %d`, limit),
		micros(from), micros(to))
	if err != nil {
		return nil, fmt.Errorf("reading ship notices: %w", err)
	}
	defer rows.Close()
	var out []ShipNoticeTiming
	for rows.Next() {
		var t ShipNoticeTiming
		var state, meta string
		var upd int64
		if err := rows.Scan(&t.Partner, &state, &meta, &upd); err != nil {
			return nil, err
		}
		var m map[string]string
		_ = json.Unmarshal([]byte(meta), &m)
		t.ShippedAt, _ = time.Parse(time.RFC3339, m[MetaShippedAt])
		switch MessageState(state) {
		case MessageSent, MessageAcked, MessageRejected:
			t.SentAt = fromMicros(upd)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}
