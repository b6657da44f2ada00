package odoosim

import (
	"fmt"
	"math"
	"sync/atomic"
)

// The quantity reserved per product and location (reservedAt) is what every confirmation asks
// for each of its moves; summing it over all the product's moves made a confirmation cost grow
// with the number of orders ever made, under the server's lock. It is kept instead as a sum per
// product and location, as of the last committed call, and each call corrects it for the moves it
// changed itself: those are in its undo log, with their state before the call. Sums are counted
// in millionths of a unit, so adding and taking away never drifts.

// verifyReserved makes every commit check the sums against a full count and record the first
// difference in reservedMismatch; the package's tests set it and fail on a difference, so every
// flow they run checks the bookkeeping.
var (
	verifyReserved   bool
	reservedMismatch atomic.Pointer[string]
)

// reservedKey is a product and a source location.
type reservedKey struct{ product, loc int }

// reservedUnits is the reservation a move record holds: its quantity in millionths, at its
// product and source location, unless the move is draft, done or cancelled (or r is nil).
func reservedUnits(r record) (reservedKey, int64) {
	if r == nil {
		return reservedKey{}, 0
	}
	switch asString(r["state"]) {
	case "done", "cancel", "draft":
		return reservedKey{}, 0
	}
	return reservedKey{intOf(r["product_id"]), intOf(r["location_id"])}, int64(math.Round(asFloat(r["quantity"]) * 1e6))
}

// reservedAt sums the quantities reserved by moves leaving a location.
func (e *env) reservedAt(product, loc int) float64 {
	want := reservedKey{product, loc}
	if e.undo == nil { // setup code: no log of what it changed, so no committed sums to trust
		e.s.reserved = nil
		var sum int64
		t := e.table("stock.move")
		for _, id := range t.referrers("product_id", product) {
			if k, n := reservedUnits(t.recs[id]); k == want {
				sum += n
			}
		}
		return float64(sum) / 1e6
	}
	var sum int64
	if e.readOnly { // beside other readers: build the sums once, under lazyMu
		e.s.lazyMu.Lock()
		if e.s.reserved == nil {
			e.buildReserved()
		}
		sum = e.s.reserved[want]
		e.s.lazyMu.Unlock()
	} else {
		if e.s.reserved == nil {
			e.buildReserved()
		}
		sum = e.s.reserved[want]
	}
	t := e.table("stock.move")
	for id, before := range e.undo.saved["stock.move"] {
		if k, n := reservedUnits(before); k == want {
			sum -= n
		}
		if k, n := reservedUnits(t.recs[id]); k == want {
			sum += n
		}
	}
	return float64(sum) / 1e6
}

// buildReserved sums the committed reservations of every move: a move this call changed counts
// as it was before the call.
func (e *env) buildReserved() {
	sums := map[reservedKey]int64{}
	saved := e.undo.saved["stock.move"]
	for id, r := range e.table("stock.move").recs {
		if before, changed := saved[id]; changed {
			r = before
		}
		if k, n := reservedUnits(r); n != 0 {
			sums[k] += n
		}
	}
	e.s.reserved = sums
}

// commitReserved folds the moves a successful call changed into the committed sums.
func (e *env) commitReserved() {
	if e.s.reserved == nil || e.undo == nil {
		return
	}
	t := e.table("stock.move")
	for id, before := range e.undo.saved["stock.move"] {
		if k, n := reservedUnits(before); n != 0 {
			e.s.reserved[k] -= n
		}
		if k, n := reservedUnits(t.recs[id]); n != 0 {
			e.s.reserved[k] += n
		}
	}
	if verifyReserved {
		e.checkReserved()
	}
}

func (e *env) checkReserved() {
	want := map[reservedKey]int64{}
	for _, r := range e.table("stock.move").recs {
		if k, n := reservedUnits(r); n != 0 {
			want[k] += n
		}
	}
	for k := range e.s.reserved {
		if _, ok := want[k]; !ok {
			want[k] = 0
		}
	}
	for k, n := range want {
		if got := e.s.reserved[k]; got != n {
			msg := fmt.Sprintf("odoosim: reserved %v is %d millionths, a full count says %d", k, got, n)
			reservedMismatch.CompareAndSwap(nil, &msg)
		}
	}
}
