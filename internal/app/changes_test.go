package app_test

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/waybill-hub/waybill/internal/app"
	"github.com/waybill-hub/waybill/internal/config"
	"github.com/waybill-hub/waybill/internal/odoo"
	"github.com/waybill-hub/waybill/internal/odoo/odoosim"
	"github.com/waybill-hub/waybill/internal/sqlite"
)

// TestChangeCapturePollsEveryInterval checks that change capture keeps polling: each poll job
// completes and the next one, an interval later, is not taken for a duplicate of it.
func TestChangeCapturePollsEveryInterval(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sim := odoosim.New(odoosim.Options{Version: "19.0"})
	sim.SeedDemo()
	srv := httptest.NewServer(sim)
	defer srv.Close()
	oc := odoo.Default()
	oc.URL, oc.Database, oc.User, oc.APIKey = srv.URL, "sim", odoosim.AdminLogin, odoosim.AdminAPIKey
	client, err := odoo.New(ctx, oc)
	require.NoError(t, err)
	b, err := sqlite.Open(ctx, t.TempDir())
	require.NoError(t, err)
	cfg := config.Default()
	cfg.Listen = ""
	cfg.Pipeline.PollInterval = 10 * time.Millisecond
	cfg.ERP.Odoo.PollInterval = 200 * time.Millisecond
	a, err := app.New(ctx, cfg, app.Options{Storage: app.StorageFor(b), ERP: client, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	finished, cancel := a.Queue.Subscribe()
	defer cancel()
	require.NoError(t, a.Start(ctx))
	defer a.Stop(context.Background())

	polls := 0
	deadline := time.After(20 * time.Second)
	for polls < 3 {
		select {
		case f := <-finished:
			if f.Kind == "poll_erp_changes" {
				require.Equal(t, "completed", f.State)
				polls++
			}
		case <-deadline:
			t.Fatalf("%d polls in 20 s at an interval of 200 ms", polls)
		}
	}
}
