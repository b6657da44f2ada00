package odoo

import (
	"context"
	"sync"
	"testing"
)

// TestHasFieldAsksOnce checks that callers asking at once about a model's fields share one
// fields_get, and that a caller that gave up does not leave the others without an answer.
func TestHasFieldAsksOnce(t *testing.T) {
	t.Parallel()
	b := setup(t, "19.0", ProtocolJSON2)
	if b.sim == nil {
		t.Skip("counts the simulator's calls")
	}
	gone, cancel := context.WithCancel(b.ctx)
	cancel()
	if _, err := b.c.hasField(gone, "stock.picking", "carrier_id"); err == nil {
		t.Fatal("a cancelled caller got an answer")
	}
	b.sim.ResetStats()
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Go(func() {
			ok, err := b.c.hasField(b.ctx, "stock.picking", "carrier_tracking_ref")
			if err == nil && !ok {
				t.Error("stock.picking has no carrier_tracking_ref")
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := b.sim.Stats().ByMethod["stock.picking.fields_get"]; n != 1 {
		t.Errorf("20 callers made %d fields_get calls, want 1", n)
	}
	if ok, err := b.c.hasField(b.ctx, "stock.picking", "no_such_field"); err != nil || ok {
		t.Errorf("an unknown field: %v, %v", ok, err)
	}
	if n := b.sim.Stats().ByMethod["stock.picking.fields_get"]; n != 1 {
		t.Errorf("a later caller asked again: %d fields_get calls", n)
	}
}
