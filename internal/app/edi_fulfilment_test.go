package app_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/app"
	"github.com/waybill-hub/waybill/internal/config"
	"github.com/waybill-hub/waybill/internal/edi"
	"github.com/waybill-hub/waybill/internal/memerp"
	"github.com/waybill-hub/waybill/internal/sqlite"
	"github.com/waybill-hub/waybill/internal/store"
	"github.com/waybill-hub/waybill/partners"
)

// TestMountEDIFulfilment: with a partner that takes 846s, the inventory advice job is wired (an
// 846 from the ERP's free-to-promise quantities is queued for Acme) and the overdue-ack gauge is
// registered.
func TestMountEDIFulfilment(t *testing.T) {
	ctx := context.Background()
	pdir := filepath.Join(t.TempDir(), "partners")
	require.NoError(t, os.MkdirAll(filepath.Join(pdir, "guides"), 0o755))
	for _, name := range []string{"acme.yaml", "globex.yaml", "guides/acme-850.guide"} {
		data, err := partners.FS.ReadFile(name)
		require.NoError(t, err)
		if name == "acme.yaml" {
			data = []byte(strings.Replace(string(data), "documents:\n", "documents:\n  - {set: \"846\", direction: out, mapping: v1, schedule: \"@every 6h\"}\n", 1))
		}
		require.NoError(t, os.WriteFile(filepath.Join(pdir, name), data, 0o644))
	}
	t.Setenv(app.EnvPartnersDir, pdir)
	t.Setenv("WAYBILL_DATA", t.TempDir())
	b, err := sqlite.Open(ctx, t.TempDir())
	require.NoError(t, err)
	cfg := config.Default()
	cfg.Listen = ""
	cfg.Pipeline.PollInterval = 10 * time.Millisecond
	erp := memerp.New(false)
	erp.AddCustomer("ACME", "Acme Retail")
	erp.AddProduct("SKU-1", "00012345678905", waybill.MustDecimal("12.50"))
	erp.AddProduct("SKU-2", "", waybill.MustDecimal("3.10"))
	a, err := app.New(ctx, cfg, app.Options{Storage: app.StorageFor(b), ERP: erp})
	require.NoError(t, err)
	require.NoError(t, a.Start(ctx))
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		a.Stop(sctx)
	})
	require.NoError(t, a.Queue.Insert(ctx, edi.AdviseInventory{Partner: "acme"}, nil))
	deadline := time.Now().Add(10 * time.Second)
	var list []*store.Message
	for len(list) == 0 {
		list, err = a.Storage.DB.Messages(ctx, store.MessageFilter{Partner: "acme", DocType: "846", Direction: store.Outbound})
		require.NoError(t, err)
		if time.Now().After(deadline) {
			t.Fatal("no 846 queued within 10s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	msg, err := a.Storage.DB.Message(ctx, list[0].ID)
	require.NoError(t, err)
	out := string(msg.Payload)
	require.Contains(t, out, "ST*846*")
	require.Contains(t, out, "LIN**BP*ACME-1001*VP*SKU-1*UP*00012345678905~")
	require.Contains(t, out, "QTY*33*1000*")

	// The 846 has no SLA; an 856 past its due time shows in the gauge.
	require.NoError(t, a.Storage.DB.InTx(ctx, func(tx *store.Tx) error {
		return tx.InsertEDIOutbound(ctx, &store.EDIOutbound{MessageID: "out_x", Partner: "acme", SetID: "856", Interchange: "000000099",
			Group: "99", SetControl: "0099", QueuedAt: time.Now().Add(-5 * time.Hour), AckDueAt: time.Now().Add(-time.Hour)})
	}))
	mfs, err := a.Metrics.Registry.Gather()
	require.NoError(t, err)
	found := false
	for _, mf := range mfs {
		if mf.GetName() != "waybill_edi_acks_overdue" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["partner"] == "acme" && labels["set"] == "856" && m.GetGauge().GetValue() == 1 {
				found = true
			}
		}
	}
	require.True(t, found, "waybill_edi_acks_overdue{partner=acme,set=856} 1")
}
