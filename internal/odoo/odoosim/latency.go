package odoosim

import (
	"context"
	"sync"
	"time"
)

// Cost is the modelled server time of one method call: PerCall once, plus
// PerRecord for each record the call handles (ids, or vals_list entries of
// a create).
type Cost struct {
	PerCall   time.Duration
	PerRecord time.Duration
}

// LatencyProfile models how long a real Odoo takes to answer. The zero
// value adds no latency and no concurrency limit.
type LatencyProfile struct {
	// Default applies to methods absent from Methods.
	Default Cost
	// Methods overrides Default, keyed by "model.method" (checked first) or
	// "method".
	Methods map[string]Cost
	// Workers limits how many calls do their serialized share of work at
	// once (0 means no limit). Real Odoo on a small box serializes most of
	// the work (Python's GIL and PostgreSQL row locks), so a parallel
	// client cannot go much beyond one worker's throughput.
	Workers int
	// Serial is the share of each call's time spent holding a worker
	// (0..1); the rest (network, parsing) overlaps freely. With Workers 1
	// and Serial 2/3, parallel clients top out at 1.5x one client.
	Serial float64
}

// Odoo19Profile returns the latency measured on Odoo 19 Community on a
// 2-vCPU box with the threaded server (see the project's Odoo notes):
// sale.order.create ≈ 70 ms per call + 29 ms per order (a 1- or 3-line
// order alone ≈ 100 ms), action_confirm ≈ 43 ms + 65 ms per order (108 ms for
// one, 1.34 s for 20), search_read and other reads ≈ 20 ms, and one worker
// holding 2/3 of each call so 4 parallel clients reach ≈ 1.5x.
func Odoo19Profile() LatencyProfile {
	return LatencyProfile{
		Default: Cost{PerCall: 20 * time.Millisecond, PerRecord: 200 * time.Microsecond},
		Methods: map[string]Cost{
			"sale.order.create":                                     {70 * time.Millisecond, 29 * time.Millisecond},
			"sale.order.action_confirm":                             {43 * time.Millisecond, 65 * time.Millisecond},
			"sale.order.write":                                      {30 * time.Millisecond, 10 * time.Millisecond},
			"stock.picking.button_validate":                         {60 * time.Millisecond, 40 * time.Millisecond},
			"stock.backorder.confirmation.process":                  {80 * time.Millisecond, 40 * time.Millisecond},
			"stock.backorder.confirmation.process_cancel_backorder": {70 * time.Millisecond, 30 * time.Millisecond},
			"sale.advance.payment.inv.create_invoices":              {90 * time.Millisecond, 40 * time.Millisecond},
			"account.move.action_post":                              {50 * time.Millisecond, 30 * time.Millisecond},
			"account.payment.register.action_create_payments":       {80 * time.Millisecond, 20 * time.Millisecond},
			"create":                             {25 * time.Millisecond, 8 * time.Millisecond},
			"write":                              {20 * time.Millisecond, 3 * time.Millisecond},
			"unlink":                             {20 * time.Millisecond, 5 * time.Millisecond},
			"read":                               {15 * time.Millisecond, 300 * time.Microsecond},
			"search":                             {15 * time.Millisecond, 0},
			"stock.quant.action_apply_inventory": {40 * time.Millisecond, 15 * time.Millisecond},
			"purchase.order.button_confirm":      {50 * time.Millisecond, 50 * time.Millisecond},
		},
		Workers: 1,
		Serial:  2.0 / 3.0,
	}
}

// cost returns the modelled time of model.method over n records.
func (p LatencyProfile) cost(model, name string, n int) time.Duration {
	c, ok := p.Methods[model+"."+name]
	if !ok {
		c, ok = p.Methods[name]
	}
	if !ok {
		c = p.Default
	}
	return c.PerCall + time.Duration(n)*c.PerRecord
}

// enter spends a call's modelled time: the parallel share freely, the
// serial share holding a worker. The returned function releases the worker
// and must be called when the call has finished (commit included).
func (s *Server) enter(ctx context.Context, d time.Duration) func() {
	serial := s.opts.Latency.Serial
	if s.workers == nil || serial <= 0 {
		serial = 0
	}
	if serial > 1 {
		serial = 1
	}
	held := time.Duration(float64(d) * serial)
	if d-held > 0 {
		s.sleep(ctx, d-held)
	}
	if s.workers == nil {
		return func() {}
	}
	select {
	case s.workers <- struct{}{}:
	case <-ctx.Done():
		return func() {}
	}
	if held > 0 {
		s.sleep(ctx, held)
	}
	return func() { <-s.workers }
}

func sleepCtx(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// Stats counts the calls a Server answered since it started or since
// ResetStats.
type Stats struct {
	// Calls is the number of model method calls (execute_kw and JSON-2).
	Calls int
	// ByProtocol counts calls per protocol: "json2", "jsonrpc", "xmlrpc".
	// Calls to the common service (login, version) are not counted.
	ByProtocol map[string]int
	// ByMethod counts calls per "model.method".
	ByMethod map[string]int
	// Records is the number of records the calls handled.
	Records int
	// Modelled is the total latency the profile assigned to the calls
	// (without injected fault latency).
	Modelled time.Duration
}

type statsCounter struct {
	mu sync.Mutex
	s  Stats
}

func (c *statsCounter) add(proto, key string, n int, d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.s.ByProtocol == nil {
		c.s.ByProtocol = map[string]int{}
		c.s.ByMethod = map[string]int{}
	}
	c.s.Calls++
	c.s.ByProtocol[proto]++
	c.s.ByMethod[key]++
	c.s.Records += n
	c.s.Modelled += d
}

// Stats returns a copy of the call counters.
func (s *Server) Stats() Stats {
	s.stats.mu.Lock()
	defer s.stats.mu.Unlock()
	out := s.stats.s
	out.ByProtocol = map[string]int{}
	out.ByMethod = map[string]int{}
	for k, v := range s.stats.s.ByProtocol {
		out.ByProtocol[k] = v
	}
	for k, v := range s.stats.s.ByMethod {
		out.ByMethod[k] = v
	}
	return out
}

// ResetStats sets every counter back to zero.
func (s *Server) ResetStats() {
	s.stats.mu.Lock()
	defer s.stats.mu.Unlock()
	s.stats.s = Stats{}
}
