package dashboard

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/store"
)

// backlogStates are the states in which an order still needs work from the hub, Odoo or the
// warehouse (invoiced orders wait only for payment and are not backlog).
var backlogStates = []waybill.OrderState{waybill.OrderReceived, waybill.OrderValidated, waybill.OrderAccepted,
	waybill.OrderAllocated, waybill.OrderFulfilled, waybill.OrderShipped, waybill.OrderOnHold}

// shipPending are the states in which an order is accepted but not yet shipped.
var shipPending = []waybill.OrderState{waybill.OrderAccepted, waybill.OrderAllocated, waybill.OrderFulfilled}

// Bounds on the documents the page decodes, so that it stays fast with a large backlog.
const (
	lateScanLimit    = 2000 // orders awaiting shipment checked against their requested ship date
	fillSample       = 500  // most recent accepted orders whose lines give the fill rate
	turnaroundSample = 5000 // most recent acceptances (and 855s) the turnarounds are computed from
)

// PartnerHealth is one row of the business health table.
type PartnerHealth struct {
	Partner         string
	Received        int64         // orders created in the range
	Accepted        int64         // of those, accepted by the ERP (whatever state they reached since)
	TurnaroundAvg   time.Duration // received → accepted (the 855 follows acceptance)
	TurnaroundP95   time.Duration
	AckSent         int64         // 855 acknowledgements queued in the range
	AckTurnAvg      time.Duration // received → 855 queued
	AckTurnP95      time.Duration
	OnHold          int64 // orders on hold now
	Backlog         int64 // orders in a backlog state now
	Late            int64 // accepted, not shipped, requested ship date passed
	Rejected        int64 // orders created in the range and rejected
	ASNSent         int64 // 856 sent in the range
	ASNOnTime       int64 // of the 856s whose delivery time is known, those sent within the ASN window of it
	ASNTimed        int64 // 856s whose delivery time is known
	InvoicesSent    int64 // 810 sent or acknowledged in the range
	InvoicesPending int64 // invoices posted in the ERP and not published: 810 queued or held
	OverdueAcks     int64 // outbound sets whose 997/999 is overdue by the partner's SLA (now)
	OutRejected     int64 // outbound sets queued in the range that the partner's 997/999 rejected
	FillOrdered     waybill.Decimal
	FillAccepted    waybill.Decimal
}

// asnSample bounds the ship notices read for the on-time figure.
const asnSample = 5000

// ASNOnTimeRate is the share of ship notices sent within the ASN window of their delivery.
func (p PartnerHealth) ASNOnTimeRate() string {
	if p.ASNTimed == 0 {
		return "–"
	}
	return fmt.Sprintf("%d%%", p.ASNOnTime*100/p.ASNTimed)
}

// FillRate is accepted over ordered quantity (1 when nothing was ordered).
func (p PartnerHealth) FillRate() string {
	if p.FillOrdered.IsZero() {
		return "–"
	}
	return p.FillAccepted.Div(p.FillOrdered).Mul(waybill.MustDecimal("100")).StringFixed(1) + "%"
}

// Business is the business health page's data.
type Business struct {
	From, To     time.Time
	FromS, ToS   string
	Partners     []PartnerHealth
	Total        PartnerHealth
	Backlog      []StateCount
	HoldReasons  []ReasonCount
	VolumeChart  template.HTML
	LatencyChart template.HTML
	FillNote     string
	Sampled      bool // turnaround computed from the most recent turnaroundSample acceptances only
	Elapsed      time.Duration
}

// StateCount is a count of orders in one state.
type StateCount struct {
	State waybill.OrderState
	Count int64
}

// ReasonCount is a count of exceptions with one reason.
type ReasonCount struct {
	Reason string
	Count  int64
}

// parseRange reads from/to (YYYY-MM-DD, to inclusive) from the query; the default is today (UTC).
func parseRange(r *http.Request, now time.Time) (from, to time.Time) {
	day := now.UTC().Truncate(24 * time.Hour)
	from, to = day, day.Add(24*time.Hour)
	if v := r.URL.Query().Get("from"); v != "" {
		if t, err := time.Parse("2006-01-02", v); err == nil {
			from = t
		}
	}
	if v := r.URL.Query().Get("to"); v != "" {
		if t, err := time.Parse("2006-01-02", v); err == nil {
			to = t.Add(24 * time.Hour)
		}
	}
	if !to.After(from) {
		to = from.Add(24 * time.Hour)
	}
	if to.Sub(from) > 366*24*time.Hour {
		from = to.Add(-366 * 24 * time.Hour)
	}
	return from, to
}

func (s *Server) business(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	from, to := parseRange(r, s.cfg.Now())
	b, err := s.BusinessHealth(r.Context(), from, to)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	b.Elapsed = time.Since(start)
	s.render(w, r, "business", http.StatusOK, page{Title: "Business health", Nav: "business", Data: b})
}

// BusinessHealth computes the business health of [from, to): per partner and overall.
func (s *Server) BusinessHealth(ctx context.Context, from, to time.Time) (*Business, error) {
	db := s.cfg.DB
	now := s.cfg.Now()
	b := &Business{From: from, To: to, FromS: from.Format("2006-01-02"), ToS: to.Add(-time.Nanosecond).Format("2006-01-02")}
	rows := map[string]*PartnerHealth{}
	row := func(p string) *PartnerHealth {
		if rows[p] == nil {
			rows[p] = &PartnerHealth{Partner: p}
		}
		return rows[p]
	}
	for _, p := range s.cfg.Partners {
		row(p)
	}

	created, err := s.created(ctx, from, to)
	if err != nil {
		return nil, err
	}
	for _, c := range created {
		r := row(c.Partner)
		r.Received += c.Count
		switch c.State {
		case waybill.OrderRejected:
			r.Rejected += c.Count
		case waybill.OrderAccepted, waybill.OrderAllocated, waybill.OrderFulfilled, waybill.OrderShipped, waybill.OrderInvoiced,
			waybill.OrderClosed:
			r.Accepted += c.Count
		}
	}

	// Turnaround from the most recent acceptances in the range (all of them unless there are
	// more than turnaroundSample).
	accepted, err := db.OrdersReached(ctx, waybill.OrderAccepted, from, to, turnaroundSample)
	if err != nil {
		return nil, err
	}
	b.Sampled = len(accepted) == turnaroundSample
	turn := map[string][]time.Duration{}
	for _, a := range accepted {
		row(a.Partner)
		turn[a.Partner] = append(turn[a.Partner], a.At.Sub(a.CreatedAt))
	}
	for p, ds := range turn {
		rows[p].TurnaroundAvg, rows[p].TurnaroundP95 = avgP95(ds)
	}

	backlog, err := db.OrdersInStates(ctx, backlogStates)
	if err != nil {
		return nil, err
	}
	byState := map[waybill.OrderState]int64{}
	for _, c := range backlog {
		r := row(c.Partner)
		r.Backlog += c.Count
		if c.State == waybill.OrderOnHold {
			r.OnHold += c.Count
		}
		byState[c.State] += c.Count
	}
	for _, st := range backlogStates {
		b.Backlog = append(b.Backlog, StateCount{st, byState[st]})
	}

	if err := s.lateShipments(ctx, now, row); err != nil {
		return nil, err
	}
	if err := s.fillRate(ctx, accepted, row); err != nil {
		return nil, err
	}
	b.FillNote = fmt.Sprintf("accepted ÷ ordered quantity over the last %d orders accepted in the range", min(len(accepted), fillSample))

	sets, err := s.sets(ctx, from, to)
	if err != nil {
		return nil, err
	}
	for _, c := range sets {
		r := row(c.Partner)
		switch c.SetID {
		case "855":
			r.AckSent += c.Count
		case "856":
			r.ASNSent += c.Count
		case "810":
			r.InvoicesSent += c.Count
		}
		if c.AckStatus == "R" {
			r.OutRejected += c.Count
		}
	}
	timings, err := db.ShipNoticeTimings(ctx, from, to, asnSample)
	if err != nil {
		return nil, err
	}
	for _, st := range timings {
		if st.ShippedAt.IsZero() {
			continue
		}
		r := row(st.Partner)
		r.ASNTimed++
		if !st.SentAt.IsZero() && st.SentAt.Sub(st.ShippedAt) <= s.cfg.ASNWindow {
			r.ASNOnTime++
		}
	}
	out, err := db.MessagesByDoc(ctx, store.Outbound, from, to)
	if err != nil {
		return nil, err
	}
	for _, c := range out {
		if c.DocType == "810" && c.State == store.MessageQueued {
			row(c.Partner).InvoicesPending += c.Count
		}
	}
	held, err := db.HeldByPartner(ctx, "810")
	if err != nil {
		return nil, err
	}
	for p, n := range held {
		row(p).InvoicesPending += n
	}
	overdue, err := db.OverdueAcks(ctx, now)
	if err != nil {
		return nil, err
	}
	for _, c := range overdue {
		row(c.Partner).OverdueAcks += c.Count
	}
	acks, err := db.AckTurnaround(ctx, from, to, turnaroundSample)
	if err != nil {
		return nil, err
	}
	ackTurn := map[string][]time.Duration{}
	for _, a := range acks {
		ackTurn[a.Partner] = append(ackTurn[a.Partner], a.At.Sub(a.CreatedAt))
	}
	for p, ds := range ackTurn {
		r := row(p)
		r.AckTurnAvg, r.AckTurnP95 = avgP95(ds)
	}

	reasons, err := db.CountDeadLetters(ctx)
	if err != nil {
		return nil, err
	}
	for r, n := range reasons {
		b.HoldReasons = append(b.HoldReasons, ReasonCount{r, n})
	}
	sort.Slice(b.HoldReasons, func(i, j int) bool {
		if b.HoldReasons[i].Count != b.HoldReasons[j].Count {
			return b.HoldReasons[i].Count > b.HoldReasons[j].Count
		}
		return b.HoldReasons[i].Reason < b.HoldReasons[j].Reason
	})

	var all, allAck []time.Duration
	for _, p := range sortedKeys(rows) {
		r := rows[p]
		b.Partners = append(b.Partners, *r)
		t := &b.Total
		t.Received += r.Received
		t.Accepted += r.Accepted
		t.OnHold += r.OnHold
		t.Backlog += r.Backlog
		t.Late += r.Late
		t.Rejected += r.Rejected
		t.ASNSent += r.ASNSent
		t.ASNOnTime += r.ASNOnTime
		t.ASNTimed += r.ASNTimed
		t.AckSent += r.AckSent
		t.InvoicesSent += r.InvoicesSent
		t.InvoicesPending += r.InvoicesPending
		t.OverdueAcks += r.OverdueAcks
		t.OutRejected += r.OutRejected
		t.FillOrdered = t.FillOrdered.Add(r.FillOrdered)
		t.FillAccepted = t.FillAccepted.Add(r.FillAccepted)
		all = append(all, turn[p]...)
		allAck = append(allAck, ackTurn[p]...)
	}
	b.Total.Partner = "all partners"
	b.Total.TurnaroundAvg, b.Total.TurnaroundP95 = avgP95(all)
	b.Total.AckTurnAvg, b.Total.AckTurnP95 = avgP95(allAck)

	if err := s.charts(ctx, b, accepted); err != nil {
		return nil, err
	}
	return b, nil
}

// lateShipments counts accepted, unshipped orders whose requested ship date has passed.
func (s *Server) lateShipments(ctx context.Context, now time.Time, row func(string) *PartnerHealth) error {
	dates, err := s.cfg.DB.ShipDates(ctx, shipPending, lateScanLimit)
	if err != nil {
		return err
	}
	for _, d := range dates {
		if !d.Requested.IsZero() && d.Requested.Before(now) {
			row(d.Partner).Late++
		}
	}
	return nil
}

// fillRate sums ordered and accepted quantities over the most recent accepted orders.
func (s *Server) fillRate(ctx context.Context, accepted []store.Reached, row func(string) *PartnerHealth) error {
	start := max(0, len(accepted)-fillSample)
	ids := make([]string, 0, len(accepted)-start)
	for _, a := range accepted[start:] {
		ids = append(ids, a.OrderID)
	}
	orders, err := s.cfg.DB.OrderDocs(ctx, ids)
	if err != nil {
		return err
	}
	for _, o := range orders {
		r := row(o.Partner)
		for _, l := range o.Lines {
			ordered := l.Qty.Ordered
			if ordered.IsZero() {
				ordered = l.Quantity
			}
			r.FillOrdered = r.FillOrdered.Add(ordered)
			r.FillAccepted = r.FillAccepted.Add(l.Qty.Accepted)
		}
	}
	return nil
}

// charts draws inbound volume per day and turnaround per day over the range (at least the last
// 14 days, so that a one-day range still shows a trend).
func (s *Server) charts(ctx context.Context, b *Business, accepted []store.Reached) error {
	from := b.From
	if b.To.Sub(from) < 14*24*time.Hour {
		from = b.To.Add(-14 * 24 * time.Hour)
	}
	byDay, err := s.volume(ctx, from, b.To)
	if err != nil {
		return err
	}
	var pts []Point
	for d := from; d.Before(b.To); d = d.Add(24 * time.Hour) {
		pts = append(pts, Point{Label: d.Format("01-02"), Value: float64(byDay[d])})
	}
	b.VolumeChart = BarChart("Inbound messages per day", "", pts)

	// Turnaround per day, from the accepted orders already read for the range.
	sum := map[time.Time]time.Duration{}
	cnt := map[time.Time]int{}
	for _, a := range accepted {
		d := a.At.Truncate(24 * time.Hour)
		sum[d] += a.At.Sub(a.CreatedAt)
		cnt[d]++
	}
	pts = nil
	for d := b.From; d.Before(b.To); d = d.Add(24 * time.Hour) {
		v := 0.0
		if cnt[d] > 0 {
			v = (sum[d] / time.Duration(cnt[d])).Minutes()
		}
		pts = append(pts, Point{Label: d.Format("01-02"), Value: v})
	}
	b.LatencyChart = LineChart("Average received → accepted (minutes) per day", "min", pts)
	return nil
}

func avgP95(ds []time.Duration) (avg, p95 time.Duration) {
	if len(ds) == 0 {
		return 0, 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	var total time.Duration
	for _, d := range s {
		total += d
	}
	idx := (len(s)*95 + 99) / 100
	return total / time.Duration(len(s)), s[min(len(s)-1, max(0, idx-1))]
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// volumeCache holds inbound message counts of days that are over: a message's receipt time is
// the time it was stored, so those counts no longer change. The last two days are always read.
type volumeCache struct {
	mu   sync.Mutex
	days map[time.Time]int64
}

// volume returns inbound messages per UTC day in [from, to).
func (s *Server) volume(ctx context.Context, from, to time.Time) (map[time.Time]int64, error) {
	const day = 24 * time.Hour
	settled := s.cfg.Now().UTC().Truncate(day).Add(-day) // days before this one are cached
	c := &s.vol
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.days == nil || len(c.days) > 4000 {
		c.days = map[time.Time]int64{}
	}
	out := map[time.Time]int64{}
	missing := time.Time{}
	for d := from; d.Before(to) && d.Before(settled); d = d.Add(day) {
		n, ok := c.days[d]
		if !ok {
			missing = d
			break
		}
		out[d] = n
	}
	if !missing.IsZero() {
		end := settled
		if to.Before(end) {
			end = to
		}
		vol, err := s.cfg.DB.MessageVolume(ctx, store.Inbound, missing, end, day)
		if err != nil {
			return nil, err
		}
		for d := missing; d.Before(end); d = d.Add(day) {
			c.days[d] = 0
		}
		for _, v := range vol {
			c.days[v.At] = v.Count
		}
		for d := missing; d.Before(end); d = d.Add(day) {
			out[d] = c.days[d]
		}
	}
	if to.After(settled) {
		start := settled
		if from.After(start) {
			start = from
		}
		vol, err := s.cfg.DB.MessageVolume(ctx, store.Inbound, start, to, day)
		if err != nil {
			return nil, err
		}
		for _, v := range vol {
			out[v.At] = v.Count
		}
	}
	return out, nil
}

// dayCache holds per-day aggregates of settled days (before yesterday, UTC) for a few minutes:
// those days gain no new records, and the states counted in them change slowly, so a range of
// weeks is read from the database once every few minutes rather than on every view. Today and
// yesterday are always read live.
type dayCache[T any] struct {
	mu   sync.Mutex
	days map[time.Time]dayEntry[T]
}

type dayEntry[T any] struct {
	at   time.Time
	rows []T
}

// dayTTL is how long settled days' aggregates are reused.
const dayTTL = 5 * time.Minute

// get returns the rows of [from, to): settled days from the cache (reloading, with byDay, from
// the first missing or stale day on), the rest with live.
func (c *dayCache[T]) get(now, from, to time.Time, byDay func(from, to time.Time) (map[time.Time][]T, error),
	live func(from, to time.Time) ([]T, error)) ([]T, error) {
	const day = 24 * time.Hour
	settled := now.UTC().Truncate(day).Add(-day)
	if !from.Before(settled) || from.Truncate(day) != from {
		return live(from, to)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.days == nil || len(c.days) > 4000 {
		c.days = map[time.Time]dayEntry[T]{}
	}
	end := settled
	if to.Before(end) {
		end = to
	}
	for d := from; d.Before(end); d = d.Add(day) {
		if e, ok := c.days[d]; !ok || now.Sub(e.at) > dayTTL {
			fresh, err := byDay(d, end)
			if err != nil {
				return nil, err
			}
			for r := d; r.Before(end); r = r.Add(day) {
				c.days[r] = dayEntry[T]{at: now, rows: fresh[r]}
			}
			break
		}
	}
	var out []T
	for d := from; d.Before(end); d = d.Add(day) {
		out = append(out, c.days[d].rows...)
	}
	if to.After(settled) {
		rows, err := live(settled, to)
		if err != nil {
			return nil, err
		}
		out = append(out, rows...)
	}
	return out, nil
}

// created counts orders created in [from, to) by partner and state (rows may repeat a partner
// and state: callers sum).
func (s *Server) created(ctx context.Context, from, to time.Time) ([]store.PartnerStateCount, error) {
	return s.createdC.get(s.cfg.Now(), from, to, func(from, to time.Time) (map[time.Time][]store.PartnerStateCount, error) {
		rows, err := s.cfg.DB.OrdersCreatedByDay(ctx, from, to)
		out := map[time.Time][]store.PartnerStateCount{}
		for _, r := range rows {
			out[r.Day] = append(out[r.Day], r.PartnerStateCount)
		}
		return out, err
	}, func(from, to time.Time) ([]store.PartnerStateCount, error) {
		return s.cfg.DB.OrdersCreated(ctx, from, to)
	})
}

// sets counts outbound EDI sets queued in [from, to) by partner, set and acknowledgement status.
func (s *Server) sets(ctx context.Context, from, to time.Time) ([]store.SetCount, error) {
	return s.setsC.get(s.cfg.Now(), from, to, func(from, to time.Time) (map[time.Time][]store.SetCount, error) {
		rows, err := s.cfg.DB.OutboundSetsByDay(ctx, from, to)
		out := map[time.Time][]store.SetCount{}
		for _, r := range rows {
			out[r.Day] = append(out[r.Day], r.SetCount)
		}
		return out, err
	}, func(from, to time.Time) ([]store.SetCount, error) { return s.cfg.DB.OutboundSets(ctx, from, to) })
}

// Warm keeps the aggregates of settled days cached until ctx ends: it computes the business page
// for the last 90 days at once and again before the cache would expire, so that no person's view
// pays for reading weeks of history.
func (s *Server) Warm(ctx context.Context) {
	const day = 24 * time.Hour
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		to := s.cfg.Now().UTC().Truncate(day).Add(day)
		if _, err := s.BusinessHealth(ctx, to.Add(-90*day), to); err != nil && ctx.Err() == nil {
			s.log.Warn("warming the business health cache", "error", err)
		}
		t.Reset(dayTTL * 4 / 5)
	}
}
