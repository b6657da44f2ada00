package edi_test

import (
	"bytes"
	"context"
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/app"
	"github.com/waybill-hub/waybill/internal/config"
	"github.com/waybill-hub/waybill/internal/edi"
	"github.com/waybill-hub/waybill/internal/memerp"
	"github.com/waybill-hub/waybill/internal/partner"
	"github.com/waybill-hub/waybill/internal/postgres"
	"github.com/waybill-hub/waybill/internal/sqlite"
	"github.com/waybill-hub/waybill/internal/store"
	"github.com/waybill-hub/waybill/mappings"
	"github.com/waybill-hub/waybill/partners"
)

var update = flag.Bool("update", false, "rewrite golden files")

var fixedNow = time.Date(2026, 11, 26, 14, 30, 0, 0, time.UTC)

// outbox is a waybill.Sender that keeps what it is given.
type outbox struct {
	mu   sync.Mutex
	msgs []waybill.OutboundMessage
}

func (o *outbox) Send(_ context.Context, m waybill.OutboundMessage) (waybill.SendResult, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.msgs = append(o.msgs, m)
	return waybill.SendResult{TransportID: "file:" + m.Filename, At: time.Now()}, nil
}

func (o *outbox) byDoc(doc string) []waybill.OutboundMessage {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []waybill.OutboundMessage
	for _, m := range o.msgs {
		if m.DocType == doc {
			out = append(out, m)
		}
	}
	return out
}

type bundle struct {
	app  *app.App
	flow *edi.Flow
	erp  *memerp.ERP
	db   *store.DB
	out  *outbox
}

func backends() []string {
	out := []string{"sqlite"}
	if os.Getenv(postgres.TestURLEnv) != "" {
		out = append(out, "postgres")
	}
	return out
}

func setup(t testing.TB, backend string) *bundle {
	t.Helper()
	erp := memerp.New(false)
	erp.AddCustomer("ACME", "Acme Retail")
	erp.AddCustomer("GLOBEX", "Globex Stores")
	erp.AddProduct("SKU-1", "00012345678905", waybill.MustDecimal("12.50"))
	erp.AddProduct("SKU-2", "", waybill.MustDecimal("3.10"))
	erp.AddProduct("SKU-3", "00012345678912", waybill.MustDecimal("5.00"))
	b := setupWith(t, backend, erp)
	b.erp = erp
	return b
}

// setupWith starts an app with the EDI flow of the sample partners over erp.
func setupWith(t testing.TB, backend string, erp waybill.ERP) *bundle {
	t.Helper()
	ctx := context.Background()
	var st *app.Storage
	switch backend {
	case "sqlite":
		b, err := sqlite.Open(ctx, t.TempDir())
		require.NoError(t, err)
		st = app.StorageFor(b)
	case "postgres":
		st = app.StorageFor(postgres.TestBackend(t))
	}
	cfg := config.Default()
	cfg.Listen = ""
	cfg.Pipeline.PollInterval = 10 * time.Millisecond
	cfg.Pipeline.BackoffBase = 20 * time.Millisecond
	cfg.Pipeline.BackoffMax = 100 * time.Millisecond
	cfg.Pipeline.MaxAttempts = 4
	cfg.Partners = []config.Partner{{ID: "portal-acme", Account: "ACME"}}
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := app.New(ctx, cfg, app.Options{Storage: st, ERP: erp, Logger: log})
	require.NoError(t, err)
	reg, err := partner.LoadFS(partners.FS, "partners")
	require.NoError(t, err)
	flow, err := edi.New(edi.Options{Hub: a.Hub, Partners: reg, Library: edi.NewLibrary(mappings.FS), Logger: log,
		Now: func() time.Time { return fixedNow }})
	require.NoError(t, err)
	flow.Install()
	out := &outbox{}
	a.Hub.RegisterSender(waybill.ChannelFolder, out)
	require.NoError(t, a.Start(ctx))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		a.Stop(ctx)
	})
	return &bundle{app: a, flow: flow, db: a.Storage.DB, out: out}
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func (b *bundle) eventually(t testing.TB, timeout time.Duration, cond func() bool) {
	t.Helper()
	events, cancel := b.app.Queue.Subscribe()
	defer cancel()
	deadline := time.After(timeout)
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-events:
		case <-tick.C:
		case <-deadline:
			t.Fatalf("condition not met within %s", timeout)
		}
	}
}

func (b *bundle) receive(t testing.TB, partnerID string, payload []byte) waybill.Receipt {
	t.Helper()
	rc, err := b.app.Hub.Receive(context.Background(), waybill.InboundMessage{Channel: waybill.ChannelAS2, Partner: partnerID, Payload: payload})
	require.NoError(t, err)
	return rc
}

func (b *bundle) order(t *testing.T, po string) *store.OrderRecord {
	t.Helper()
	list, err := b.db.Orders(context.Background(), store.OrderFilter{PONumber: po})
	require.NoError(t, err)
	if len(list) == 0 {
		return nil
	}
	return list[0]
}

func (b *bundle) state(t *testing.T, po string) waybill.OrderState {
	if rec := b.order(t, po); rec != nil {
		return rec.Order.State
	}
	return ""
}

func read(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return data
}

// golden compares got with testdata/name, rewriting it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(path, got, 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "missing golden file; run with -update")
	if !bytes.Equal(want, got) {
		t.Errorf("%s differs:\n--- want\n%s\n--- got\n%s", name, want, got)
	}
}

func forEachBackend(t *testing.T, fn func(t *testing.T, backend string)) {
	for _, be := range backends() {
		t.Run(be, func(t *testing.T) {
			t.Parallel()
			fn(t, be)
		})
	}
}

func TestHappyPathAcme(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		b := setup(t, backend)
		b.receive(t, "acme", read(t, "acme_850.x12"))
		b.eventually(t, 10*time.Second, func() bool { return len(b.out.byDoc("855")) == 1 && len(b.out.byDoc("997")) == 1 })
		rec := b.order(t, "PO-1001")
		require.Equal(t, waybill.OrderAccepted, rec.Order.State)
		require.Len(t, rec.Order.Lines, 2)
		require.Equal(t, "SKU-1", rec.Order.Lines[0].VendorItem, "buyer part ACME-1001 resolves through the cross-reference")
		require.Equal(t, "CA", rec.Order.Lines[1].UOM, "CS translates to CA")
		require.Equal(t, 1, b.erp.Stats().Orders)
		golden(t, "acme_happy_997.golden", b.out.byDoc("997")[0].Payload)
		golden(t, "acme_happy_855.golden", b.out.byDoc("855")[0].Payload)
	})
}

func TestHappyPathGlobex(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		b := setup(t, backend)
		b.receive(t, "globex", read(t, "globex_850.x12"))
		b.eventually(t, 10*time.Second, func() bool { return len(b.out.byDoc("855")) == 1 && len(b.out.byDoc("999")) == 1 })
		rec := b.order(t, "G-5001")
		require.Equal(t, waybill.OrderAccepted, rec.Order.State)
		require.Equal(t, "stock", rec.Order.Type, "the overlay's code table")
		require.Equal(t, "2026-12-03", rec.Order.RequestedShip.Format("2006-01-02"), "the overlay's DTM 037 rule")
		require.Equal(t, []string{"042"}, rec.Order.Notes, "the overlay's added REF DP rule")
		golden(t, "globex_happy_999.golden", b.out.byDoc("999")[0].Payload)
		golden(t, "globex_happy_855.golden", b.out.byDoc("855")[0].Payload)
	})
}

func TestUnknownItemRejectedWithLineStatus(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		b := setup(t, backend)
		in := strings.Replace(string(read(t, "acme_850.x12")), "CTT*2~", "PO1*3*1*EA*9.99**BP*NOPE-9~\nCTT*3~", 1)
		in = strings.Replace(in, "SE*12*0001", "SE*13*0001", 1)
		b.receive(t, "acme", []byte(in))
		b.eventually(t, 10*time.Second, func() bool { return len(b.out.byDoc("855")) == 1 })
		rec := b.order(t, "PO-1001")
		require.Equal(t, waybill.OrderAccepted, rec.Order.State)
		require.Len(t, rec.Order.Lines, 2, "the unknown line never reaches the ERP")
		ack := string(b.out.byDoc("855")[0].Payload)
		require.Contains(t, ack, "BAK*00*AC*PO-1001")
		require.Contains(t, ack, "ACK*IR*1*EA")
		golden(t, "acme_unknown_item_855.golden", b.out.byDoc("855")[0].Payload)
	})
}

func TestPriceMismatchHeldThenReleased(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		b := setup(t, backend)
		in := strings.Replace(string(read(t, "acme_850.x12")), "PO1*1*10*EA*12.50", "PO1*1*10*EA*13.75", 1)
		b.receive(t, "acme", []byte(in))
		b.eventually(t, 10*time.Second, func() bool {
			return b.state(t, "PO-1001") == waybill.OrderOnHold && len(b.out.byDoc("997")) == 1
		})
		require.Len(t, b.out.byDoc("997"), 1, "the 997 follows syntax validation, whatever the business checks say")
		require.Empty(t, b.out.byDoc("855"), "no 855 before the ERP accepts")
		dls, err := b.db.DeadLetters(context.Background(), store.DeadLetterFilter{})
		require.NoError(t, err)
		require.Len(t, dls, 1)
		require.Equal(t, "price_mismatch", dls[0].Reason)
		require.Contains(t, dls[0].Message, "line 1: price 13.75 differs from the agreement's 12.5")
		require.Zero(t, b.erp.Stats().Orders)
		// The fix: the agreement's price is updated in the ERP; then the operator replays.
		b.erp.AddProduct("SKU-1", "00012345678905", waybill.MustDecimal("13.75"))
		require.NoError(t, b.app.Hub.Replay(context.Background(), dls[0].ID, "operator@test"))
		b.eventually(t, 10*time.Second, func() bool { return len(b.out.byDoc("855")) == 1 })
		require.Equal(t, waybill.OrderAccepted, b.state(t, "PO-1001"))
		require.Contains(t, string(b.out.byDoc("855")[0].Payload), "PO1*1*10*EA*13.75**BP*ACME-1001")
	})
}

func TestSameInterchangeTwice(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		b := setup(t, backend)
		in := read(t, "acme_850.x12")
		b.receive(t, "acme", in)
		b.eventually(t, 10*time.Second, func() bool { return len(b.out.byDoc("855")) == 1 })
		rc := b.receive(t, "acme", in) // the same bytes: caught at receipt by digest
		require.True(t, rc.Duplicate)
		// The same ISA13 with other bytes (a resend with a new date): caught by sender + ISA13.
		again := bytes.Replace(in, []byte("*261126*1200*"), []byte("*261126*1205*"), 1)
		rc2 := b.receive(t, "acme", again)
		require.False(t, rc2.Duplicate)
		b.eventually(t, 10*time.Second, func() bool {
			m, err := b.db.Message(context.Background(), rc2.MessageID)
			return err == nil && m.State == store.MessageDuplicate && len(b.out.byDoc("855")) == 1
		})
		require.Len(t, b.out.byDoc("997"), 1)
		require.Equal(t, 1, b.erp.Stats().Orders)
	})
}

func TestSamePOFromEDIAndPortal(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		b := setup(t, backend)
		portal := []byte(`{"partner":"portal-acme","po_number":"PO-1001","lines":[{"number":"1","vendor_item":"SKU-1","quantity":"1","uom":"EA"}]}`)
		_, err := b.app.Hub.Receive(context.Background(), waybill.InboundMessage{Channel: waybill.ChannelPortal, Partner: "portal-acme",
			DocType: "order-json", Payload: portal})
		require.NoError(t, err)
		b.eventually(t, 10*time.Second, func() bool { return b.state(t, "PO-1001") == waybill.OrderAccepted })
		rc := b.receive(t, "acme", read(t, "acme_850.x12"))
		b.eventually(t, 10*time.Second, func() bool {
			m, err := b.db.Message(context.Background(), rc.MessageID)
			return err == nil && m.State == store.MessageProcessed && len(b.out.byDoc("997")) == 1
		})
		require.Equal(t, 1, b.erp.Stats().Orders, "Acme's policy rejects the second PO-1001 of account ACME")
		require.Len(t, b.out.byDoc("997"), 1, "the interchange itself was good")
		ids, err := b.db.CorrelationsFor(context.Background(), rc.CorrelationID)
		require.NoError(t, err)
		trail, err := b.db.AuditTrail(context.Background(), ids[0])
		require.NoError(t, err)
		found := false
		for _, r := range trail {
			found = found || r.Kind == "order.duplicate"
		}
		require.True(t, found, "the duplicate is in the audit trail")
	})
}

func TestPriceMismatchRejectedByPolicy(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		b := setup(t, backend)
		in := strings.Replace(string(read(t, "globex_850.x12")), "PO1|2|2|EA|5.00", "PO1|2|2|EA|4.99", 1)
		b.receive(t, "globex", []byte(in))
		b.eventually(t, 10*time.Second, func() bool { return len(b.out.byDoc("855")) == 1 && len(b.out.byDoc("999")) == 1 })
		rec := b.order(t, "G-5001")
		require.Equal(t, waybill.OrderRejected, rec.Order.State)
		require.Zero(t, b.erp.Stats().Orders, "a rejected order never reaches the ERP")
		golden(t, "globex_price_rejected_855.golden", b.out.byDoc("855")[0].Payload)
	})
}

func TestDemoTraffic(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b, err := sqlite.Open(ctx, t.TempDir())
	require.NoError(t, err)
	cfg := config.Default()
	cfg.Listen = ""
	cfg.Pipeline.PollInterval = 10 * time.Millisecond
	erp := memerp.New(false)
	a, err := app.New(ctx, cfg, app.Options{Storage: app.StorageFor(b), ERP: erp,
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	require.NoError(t, err)
	out := t.TempDir()
	flow, err := edi.InstallDemo(a.Hub, a.Log, out)
	require.NoError(t, err)
	require.NoError(t, a.Start(ctx))
	t.Cleanup(func() { a.Stop(context.Background()) })
	var buf bytes.Buffer
	require.NoError(t, flow.DemoTraffic(ctx, &buf))
	s := buf.String()
	t.Log(s)
	for _, want := range []string{"997 sent to acme", "999 sent to globex", "855 sent to acme", "855 sent to globex", "PO PO-1001 accepted, 2 lines → sale order S0000", "PO G-5001 accepted, 2 lines"} {
		require.Contains(t, s, want)
	}
}

func TestSyntaxErrorsRejectTheSetNotTheInterchange(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		b := setup(t, backend)
		// Two sets: the first misses BEG05, which Acme's guide makes mandatory; the second is good.
		good := string(read(t, "acme_850.x12"))
		start := strings.Index(good, "ST*850*0001~")
		end := strings.Index(good, "GE*1*101~")
		set := good[start:end]
		bad := strings.Replace(strings.Replace(set, "BEG*00*SA*PO-1001**20261126~", "BEG*00*SA*PO-0999~", 1), "*0001~", "*0002~", 2)
		in := good[:start] + bad + set + "GE*2*101~\nIEA*1*000000101~\n"
		b.receive(t, "acme", []byte(in))
		b.eventually(t, 10*time.Second, func() bool { return len(b.out.byDoc("997")) == 1 && len(b.out.byDoc("855")) == 1 })
		require.Nil(t, b.order(t, "PO-0999"), "a rejected set is not processed")
		require.Equal(t, waybill.OrderAccepted, b.state(t, "PO-1001"))
		golden(t, "acme_partial_997.golden", b.out.byDoc("997")[0].Payload)
	})
}

func TestUnknownShipToHeld(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		b := setup(t, backend)
		in := strings.Replace(string(read(t, "acme_850.x12")), "N1*ST*Acme DC Columbus*92*1234~", "N1*ST*Acme Store 77*92*7777~", 1)
		b.receive(t, "acme", []byte(in))
		b.eventually(t, 10*time.Second, func() bool { return b.state(t, "PO-1001") == waybill.OrderOnHold })
		dls, err := b.db.DeadLetters(context.Background(), store.DeadLetterFilter{Partner: "acme"})
		require.NoError(t, err)
		require.Len(t, dls, 1)
		require.Equal(t, "unknown_ship_to", dls[0].Reason)
		require.Contains(t, dls[0].Message, "ship-to N1*ST*92*7777 is not in the partner's location table")
	})
}

// The 997 follows syntax validation even while the ERP is down; the order follows when it is
// back (by retry, or by replaying the dead letter once the retries ran out), and nothing is sent
// twice.
func TestAckDoesNotWaitForTheERP(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		b := setup(t, backend)
		b.erp.SetDown(true)
		b.receive(t, "acme", read(t, "acme_850.x12"))
		b.eventually(t, 10*time.Second, func() bool { return len(b.out.byDoc("997")) == 1 })
		require.Empty(t, b.out.byDoc("855"))
		b.erp.SetDown(false)
		ctx := context.Background()
		b.eventually(t, 10*time.Second, func() bool {
			if len(b.out.byDoc("855")) == 1 {
				return true
			}
			dls, err := b.db.DeadLetters(ctx, store.DeadLetterFilter{Partner: "acme"})
			require.NoError(t, err)
			for _, d := range dls {
				require.NoError(t, b.app.Hub.Replay(ctx, d.ID, "operator@test"))
			}
			return false
		})
		require.Len(t, b.out.byDoc("997"), 1, "the replay does not acknowledge twice")
		require.Equal(t, 1, b.erp.Stats().Orders)
		golden(t, "acme_happy_855.golden", b.out.byDoc("855")[0].Payload)
	})
}

func TestWrongSenderDeadLetters(t *testing.T) {
	t.Parallel()
	b := setup(t, "sqlite")
	rc := b.receive(t, "globex", read(t, "acme_850.x12")) // Acme's interchange arriving on Globex's channel
	b.eventually(t, 10*time.Second, func() bool {
		m, err := b.db.Message(context.Background(), rc.MessageID)
		return err == nil && m.State == store.MessageDead
	})
	dls, err := b.db.DeadLetters(context.Background(), store.DeadLetterFilter{Partner: "globex"})
	require.NoError(t, err)
	require.Len(t, dls, 1)
	require.Equal(t, "wrong_sender", dls[0].Reason)
	require.Empty(t, b.out.byDoc("999"), "nothing is acknowledged to the wrong partner")
}
