package odoo

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/waybill-hub/waybill/internal/odoo/odoosim"
)

// TestClientKeepsItsConnections checks that the default HTTP client keeps a connection for each
// call that may run at once, so calls in parallel reuse connections instead of opening new ones.
func TestClientKeepsItsConnections(t *testing.T) {
	t.Parallel()
	sim := odoosim.New(odoosim.Options{Version: "19.0"})
	var opened atomic.Int64
	srv := httptest.NewUnstartedServer(sim)
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			opened.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	t.Cleanup(sim.Close)
	ctx := context.Background()
	c, err := New(ctx, Config{URL: srv.URL, Database: "sim", APIKey: odoosim.AdminAPIKey, Protocol: ProtocolJSON2, Version: "19.0", MaxConcurrency: 8})
	if err != nil {
		t.Fatal(err)
	}
	round := func() {
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				if _, err := c.Call(ctx, "res.partner", "search_count", []any{[]any{}}, nil); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
	}
	for range 20 {
		round()
	}
	// With a connection kept per call in flight, the 160 calls need 8 connections; a dial racing
	// with a connection coming back may add a few. Keeping 2 opened about 5 a round.
	if n := opened.Load(); n > 16 {
		t.Errorf("20 rounds of 8 parallel calls opened %d connections, want at most 16", n)
	}
}
