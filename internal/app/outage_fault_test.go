//go:build fault

package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/app"
	"github.com/waybill-hub/waybill/internal/config"
	"github.com/waybill-hub/waybill/internal/memerp"
	"github.com/waybill-hub/waybill/internal/postgres"
	"github.com/waybill-hub/waybill/internal/store"
)

// TestDatabaseOutage takes the hub's PostgreSQL database away while the hub runs: /readyz
// answers 503 and receipts fail (so channels do not acknowledge); once the database is back,
// /readyz recovers and the work queued before the outage completes, nothing lost.
func TestDatabaseOutage(t *testing.T) {
	url := os.Getenv(postgres.TestURLEnv)
	if url == "" {
		t.Skip("no PostgreSQL")
	}
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer admin.Close(ctx)
	name := fmt.Sprintf("wb_outage_%d", time.Now().UnixNano()%1e9)
	_, err = admin.Exec(ctx, "CREATE DATABASE "+name)
	require.NoError(t, err)
	t.Cleanup(func() {
		admin.Exec(ctx, "ALTER DATABASE "+name+" ALLOW_CONNECTIONS true")
		admin.Exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name)
		admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name)
	})
	cfgURL := admin.Config().Copy()
	dsn := fmt.Sprintf("postgres://%s@%s:%d/%s?sslmode=disable", cfgURL.User, cfgURL.Host, cfgURL.Port, name)

	cfg := config.Default()
	cfg.Database = config.Database{Driver: "postgres", URL: dsn}
	cfg.Listen = "127.0.0.1:0"
	cfg.Pipeline.PollInterval = 20 * time.Millisecond
	cfg.Pipeline.BackoffBase, cfg.Pipeline.BackoffMax = 50*time.Millisecond, 500*time.Millisecond
	cfg.Partners = []config.Partner{{ID: "acme", Account: "ACME"}}
	erp := memerp.New(true)
	erp.SetLatency(time.Second) // so that work is in flight when the database goes
	a, err := app.New(ctx, cfg, app.Options{ERP: erp, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	require.NoError(t, a.Start(ctx))
	defer a.Stop(context.Background())
	ready := func() int {
		resp, err := http.Get("http://" + a.Addr() + "/readyz")
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	require.Equal(t, http.StatusOK, ready())

	const n = 20
	for i := 0; i < n; i++ {
		p, _ := json.Marshal(waybill.Order{PONumber: fmt.Sprintf("OUT-%02d", i), Lines: []waybill.Line{{Number: "1", VendorItem: "SKU-1", Quantity: waybill.MustDecimal("1"), UOM: "EA"}}})
		_, err := a.Hub.Receive(ctx, waybill.InboundMessage{Channel: waybill.ChannelHTTP, Partner: "acme", Payload: p})
		require.NoError(t, err)
	}
	// The database goes away while that work is in flight.
	before, err := a.Storage.DB.CountOrdersByState(ctx)
	require.NoError(t, err)
	require.Less(t, before[waybill.OrderAccepted], int64(n), "the outage must come while work is in flight")
	_, err = admin.Exec(ctx, "ALTER DATABASE "+name+" ALLOW_CONNECTIONS false")
	require.NoError(t, err)
	_, err = admin.Exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return ready() == http.StatusServiceUnavailable }, 15*time.Second, 50*time.Millisecond)
	_, err = a.Hub.Receive(ctx, waybill.InboundMessage{Channel: waybill.ChannelHTTP, Partner: "acme", Payload: []byte(`{"po_number":"LOST?"}`)})
	require.Error(t, err, "a receipt the store cannot keep fails, so the channel does not acknowledge it")
	require.Equal(t, waybill.EUNAVAILABLE, waybill.Code(err))

	// It comes back: the hub recovers by itself and finishes the work queued before.
	_, err = admin.Exec(ctx, "ALTER DATABASE "+name+" ALLOW_CONNECTIONS true")
	require.NoError(t, err)
	require.Eventually(t, func() bool { return ready() == http.StatusOK }, 30*time.Second, 100*time.Millisecond)
	require.Eventually(t, func() bool {
		c, err := a.Storage.DB.CountOrdersByState(ctx)
		return err == nil && c[waybill.OrderAccepted] == n
	}, 120*time.Second, 200*time.Millisecond)
	require.Equal(t, n, erp.Stats().Orders, "each queued message became one ERP order")
	orders, err := a.Storage.DB.Orders(ctx, store.OrderFilter{Limit: 100})
	require.NoError(t, err)
	require.Len(t, orders, n)
}
