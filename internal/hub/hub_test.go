package hub_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/stretchr/testify/require"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/app"
	"github.com/waybill-hub/waybill/internal/config"
	"github.com/waybill-hub/waybill/internal/hub"
	"github.com/waybill-hub/waybill/internal/jobs"
	"github.com/waybill-hub/waybill/internal/memerp"
	"github.com/waybill-hub/waybill/internal/postgres"
	"github.com/waybill-hub/waybill/internal/sqlite"
	"github.com/waybill-hub/waybill/internal/store"
)

type bundle struct {
	app *app.App
	erp *memerp.ERP
	db  *store.DB
	h   *hub.Hub
}

// backends lists the store backends the pipeline tests run on: SQLite always, PostgreSQL when
// WAYBILL_TEST_DATABASE_URL is set.
func backends(t *testing.T) []string {
	out := []string{"sqlite"}
	if os.Getenv(postgres.TestURLEnv) != "" {
		out = append(out, "postgres")
	}
	return out
}

func setup(t *testing.T, backend string, partners ...config.Partner) *bundle {
	t.Helper()
	b := build(t, backend, partners...)
	require.NoError(t, b.app.Start(context.Background()))
	return b
}

// build is setup without starting the job queue.
func build(t *testing.T, backend string, partners ...config.Partner) *bundle {
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
	cfg.Partners = append([]config.Partner{{ID: "acme", Account: "ACME"}}, partners...)
	erp := memerp.New(false)
	erp.AddCustomer("ACME", "Acme Retail")
	erp.AddCustomer("GLOBEX", "Globex")
	erp.AddProduct("SKU-1", "00012345678905", waybill.MustDecimal("12.50"))
	erp.AddProduct("SKU-2", "", waybill.MustDecimal("3.10"))
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := app.New(ctx, cfg, app.Options{Storage: st, ERP: erp, Logger: log})
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		a.Stop(ctx)
	})
	return &bundle{app: a, erp: erp, db: a.Storage.DB, h: a.Hub}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// eventually waits until cond holds, re-checking whenever a job finishes (and every 25 ms, for
// conditions that do not follow a job), failing the test after timeout.
func (b *bundle) eventually(t *testing.T, timeout time.Duration, cond func() bool) {
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

func orderJSON(po string, lines ...waybill.Line) []byte {
	if len(lines) == 0 {
		lines = []waybill.Line{{Number: "1", VendorItem: "SKU-1", Quantity: waybill.MustDecimal("5"), UOM: "EA"},
			{Number: "2", VendorItem: "SKU-2", Quantity: waybill.MustDecimal("12"), UOM: "EA",
				UnitPrice: waybill.MustDecimal("3.10"), HasUnitPrice: true}}
	}
	b, _ := json.Marshal(waybill.Order{PONumber: po, Lines: lines})
	return b
}

func (b *bundle) receive(t *testing.T, partner string, payload []byte) waybill.Receipt {
	t.Helper()
	rc, err := b.h.Receive(context.Background(), waybill.InboundMessage{Channel: waybill.ChannelHTTP, Partner: partner, Payload: payload})
	require.NoError(t, err)
	return rc
}

func (b *bundle) orderByPO(t *testing.T, po string) *store.OrderRecord {
	t.Helper()
	list, err := b.db.Orders(context.Background(), store.OrderFilter{PONumber: po})
	require.NoError(t, err)
	if len(list) == 0 {
		return nil
	}
	return list[0]
}

func (b *bundle) stateOf(t *testing.T, po string) waybill.OrderState {
	if rec := b.orderByPO(t, po); rec != nil {
		return rec.Order.State
	}
	return ""
}

func forEachBackend(t *testing.T, fn func(t *testing.T, backend string)) {
	for _, be := range backends(t) {
		t.Run(be, func(t *testing.T) {
			t.Parallel()
			fn(t, be)
		})
	}
}

func TestOrderAccepted(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, be string) {
		b := setup(t, be)
		ctx := context.Background()
		rc := b.receive(t, "acme", orderJSON("PO-100"))
		require.False(t, rc.Duplicate)
		require.NotEmpty(t, rc.CorrelationID)
		b.eventually(t, 10*time.Second, func() bool { return b.stateOf(t, "PO-100") == waybill.OrderAccepted })

		rec := b.orderByPO(t, "PO-100")
		require.Equal(t, rc.CorrelationID, rec.Order.CorrelationID, "the correlation id assigned at receipt follows the order")
		require.Equal(t, "sale.order", rec.Order.ERP.Model)
		require.Equal(t, waybill.LineAccepted, rec.Order.Lines[0].Status)
		require.Equal(t, "12.5", rec.Order.Lines[0].Qty.Ordered.Add(waybill.MustDecimal("7.5")).String())
		evs, err := b.db.OrderEvents(ctx, rec.Order.ID)
		require.NoError(t, err)
		var path []string
		for _, e := range evs {
			path = append(path, fmt.Sprintf("%s→%s by %s", e.From, e.To, e.Source))
			require.Equal(t, rc.CorrelationID, e.CorrelationID)
		}
		require.Equal(t, []string{"→received by hub", "received→validated by hub", "validated→accepted by erp"}, path)
		st := b.erp.Stats()
		require.Equal(t, 1, st.Orders)
		require.Equal(t, 1, st.Confirmed)

		for _, key := range []string{"PO-100", rc.MessageID, rc.CorrelationID, rec.Order.ERP.Name} {
			traces, err := b.h.Trace(ctx, key)
			require.NoError(t, err)
			require.Len(t, traces, 1, "trace %s", key)
			var kinds []string
			for _, r := range traces[0].Records {
				kinds = append(kinds, r.Kind)
			}
			require.Equal(t, []string{"message.received", "order.received", "erp.order"}, kinds, "trace %s", key)
		}
	})
}

func TestDuplicatePayloadNotProcessedTwice(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, be string) {
		b := setup(t, be)
		first := b.receive(t, "acme", orderJSON("PO-200"))
		second := b.receive(t, "acme", orderJSON("PO-200"))
		require.True(t, second.Duplicate)
		require.Equal(t, first.MessageID, second.DuplicateOf)
		b.eventually(t, 10*time.Second, func() bool { return b.stateOf(t, "PO-200") == waybill.OrderAccepted })
		list, err := b.db.Orders(context.Background(), store.OrderFilter{PONumber: "PO-200"})
		require.NoError(t, err)
		require.Len(t, list, 1)
		require.Equal(t, 1, b.erp.Stats().Orders)
	})
}

func TestDuplicatePOPolicies(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, be string) {
		b := setup(t, be, config.Partner{ID: "flagger", Account: "GLOBEX", DuplicatePolicy: "flag"})
		ctx := context.Background()
		// reject (default): the second PO with the same number is recorded and dropped.
		b.receive(t, "acme", orderJSON("PO-300"))
		b.eventually(t, 10*time.Second, func() bool { return b.stateOf(t, "PO-300") == waybill.OrderAccepted })
		other := orderJSON("PO-300", waybill.Line{Number: "1", VendorItem: "SKU-2", Quantity: waybill.MustDecimal("1"), UOM: "EA"})
		rc := b.receive(t, "acme", other)
		require.False(t, rc.Duplicate, "another payload is not a transport duplicate")
		b.eventually(t, 10*time.Second, func() bool {
			m, err := b.db.Message(ctx, rc.MessageID)
			return err == nil && m.State == store.MessageProcessed
		})
		list, err := b.db.Orders(ctx, store.OrderFilter{PONumber: "PO-300"})
		require.NoError(t, err)
		require.Len(t, list, 1)
		traces, err := b.h.Trace(ctx, rc.CorrelationID)
		require.NoError(t, err)
		require.Equal(t, "order.duplicate", traces[0].Records[len(traces[0].Records)-1].Kind)

		// flag: the second one waits on hold, as a dead letter an operator can replay.
		b.receive(t, "flagger", orderJSON("PO-301"))
		b.eventually(t, 10*time.Second, func() bool { return b.stateOf(t, "PO-301") == waybill.OrderAccepted })
		b.receive(t, "flagger", other[:0:0])
		rc = b.receive(t, "flagger", orderJSON("PO-301", waybill.Line{Number: "1", VendorItem: "SKU-1", Quantity: waybill.MustDecimal("2"), UOM: "EA"}))
		b.eventually(t, 10*time.Second, func() bool {
			dls, _ := b.db.DeadLetters(ctx, store.DeadLetterFilter{Reason: "duplicate_po"})
			return len(dls) == 1
		})
		list, err = b.db.Orders(ctx, store.OrderFilter{CorrelationID: rc.CorrelationID})
		require.NoError(t, err)
		require.Len(t, list, 1)
		require.Equal(t, waybill.OrderOnHold, list[0].Order.State)
	})
}

func TestUnknownItemDeadLettersThenReplays(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, be string) {
		b := setup(t, be)
		ctx := context.Background()
		rc := b.receive(t, "acme", orderJSON("PO-400", waybill.Line{Number: "1", VendorItem: "NEW-9", Quantity: waybill.MustDecimal("3"), UOM: "EA"}))
		var dl *store.DeadLetter
		b.eventually(t, 10*time.Second, func() bool {
			dls, err := b.db.DeadLetters(ctx, store.DeadLetterFilter{Partner: "acme"})
			require.NoError(t, err)
			if len(dls) == 1 {
				dl = dls[0]
			}
			return dl != nil
		})
		require.Equal(t, "unknown_item", dl.Reason)
		require.Equal(t, "not_found", dl.Code)
		require.Equal(t, rc.CorrelationID, dl.CorrelationID)
		require.Contains(t, dl.Message, "NEW-9")
		require.Contains(t, dl.Location, `"line":"1"`)
		require.Equal(t, 1, dl.Attempts, "a permanent error is not retried")
		require.Equal(t, waybill.OrderOnHold, b.stateOf(t, "PO-400"))

		b.erp.AddProduct("NEW-9", "", waybill.MustDecimal("1"))
		require.NoError(t, b.h.Replay(ctx, dl.ID, "alice"))
		require.Equal(t, waybill.ECONFLICT, waybill.Code(b.h.Replay(ctx, dl.ID, "alice")), "replayed once only")
		b.eventually(t, 10*time.Second, func() bool { return b.stateOf(t, "PO-400") == waybill.OrderAccepted })
		rec := b.orderByPO(t, "PO-400")
		require.Equal(t, rc.CorrelationID, rec.Order.CorrelationID)
		traces, err := b.h.Trace(ctx, "PO-400")
		require.NoError(t, err)
		var kinds []string
		for _, r := range traces[0].Records {
			kinds = append(kinds, r.Kind)
		}
		require.Equal(t, []string{"message.received", "order.received", "job.dead_letter", "dlq.replay", "erp.order"}, kinds)
	})
}

func TestTransientERPFailureRetries(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, be string) {
		b := setup(t, be)
		b.erp.SetDown(true)
		b.receive(t, "acme", orderJSON("PO-500"))
		b.eventually(t, 10*time.Second, func() bool { return b.erp.Stats().Calls >= 2 })
		require.Equal(t, waybill.OrderValidated, b.stateOf(t, "PO-500"), "the order waits, validated, while the ERP is down")
		b.erp.SetDown(false)
		b.eventually(t, 10*time.Second, func() bool { return b.stateOf(t, "PO-500") == waybill.OrderAccepted })
		require.Equal(t, 1, b.erp.Stats().Orders)
	})
}

func TestInvalidOrderRejected(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, be string) {
		b := setup(t, be)
		b.receive(t, "acme", orderJSON("PO-600", waybill.Line{Number: "1", VendorItem: "SKU-1", Quantity: waybill.MustDecimal("0"), UOM: "EA"}))
		b.eventually(t, 10*time.Second, func() bool { return b.stateOf(t, "PO-600") == waybill.OrderRejected })
		evs, err := b.db.OrderEvents(context.Background(), b.orderByPO(t, "PO-600").Order.ID)
		require.NoError(t, err)
		require.Contains(t, evs[len(evs)-1].Reason, "line 1: quantity must be positive")
		require.Equal(t, 0, b.erp.Stats().Calls, "nothing reaches the ERP")
	})
}

func TestBadJSONDeadLettersMessage(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, be string) {
		b := setup(t, be)
		ctx := context.Background()
		rc := b.receive(t, "acme", []byte(`{"po_number": "PO-700", "lines": [}`))
		b.eventually(t, 10*time.Second, func() bool {
			m, err := b.db.Message(ctx, rc.MessageID)
			return err == nil && m.State == store.MessageDead
		})
		dls, err := b.db.DeadLetters(ctx, store.DeadLetterFilter{})
		require.NoError(t, err)
		require.Len(t, dls, 1)
		require.Equal(t, "json_syntax", dls[0].Reason)
		require.Equal(t, rc.MessageID, dls[0].MessageID)
		m, err := b.db.Message(ctx, rc.MessageID)
		require.NoError(t, err)
		require.NotEmpty(t, m.Payload, "the bad message is kept for replay")
	})
}

func TestPanicDeadLettersAndHubKeepsGoing(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, be string) {
		b := setup(t, be)
		ctx := context.Background()
		b.h.RegisterDecoder("boom", func(context.Context, *store.Message, waybill.Partner) ([]*waybill.Order, error) {
			panic("decoder exploded")
		})
		rc, err := b.h.Receive(ctx, waybill.InboundMessage{Channel: waybill.ChannelHTTP, Partner: "acme", DocType: "boom", Payload: []byte("x")})
		require.NoError(t, err)
		b.receive(t, "acme", orderJSON("PO-800"))
		b.eventually(t, 10*time.Second, func() bool { return b.stateOf(t, "PO-800") == waybill.OrderAccepted })
		b.eventually(t, 10*time.Second, func() bool {
			dls, _ := b.db.DeadLetters(ctx, store.DeadLetterFilter{Reason: "panic"})
			return len(dls) == 1
		})
		dls, err := b.db.DeadLetters(ctx, store.DeadLetterFilter{Reason: "panic"})
		require.NoError(t, err)
		require.Contains(t, dls[0].Message, "decoder exploded")
		require.Equal(t, rc.CorrelationID, dls[0].CorrelationID)
	})
}

func TestAuditChainVerifiesAfterTraffic(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, be string) {
		b := setup(t, be)
		ctx := context.Background()
		for i := 0; i < 20; i++ {
			b.receive(t, "acme", orderJSON(fmt.Sprintf("PO-9%02d", i)))
		}
		b.eventually(t, 20*time.Second, func() bool {
			n, _ := b.db.CountOrdersByState(ctx)
			return n[waybill.OrderAccepted] == 20
		})
		_, err := b.db.SealAudit(ctx)
		require.NoError(t, err)
		rep, err := b.db.VerifyAudit(ctx)
		require.NoError(t, err)
		require.True(t, rep.OK(), "%+v", rep.Problems)
		require.GreaterOrEqual(t, rep.Checked, int64(60))
	})
}

type recordingSender struct {
	got  chan waybill.OutboundMessage
	fail int
}

func (s *recordingSender) Send(ctx context.Context, m waybill.OutboundMessage) (waybill.SendResult, error) {
	if s.fail > 0 {
		s.fail--
		return waybill.SendResult{}, waybill.Errorf(waybill.EUNAVAILABLE, "partner_down", "partner endpoint refused the connection")
	}
	s.got <- m
	return waybill.SendResult{TransportID: "remote-" + m.ID, Meta: map[string]string{"mdn": "processed"}, At: time.Now()}, nil
}

func TestEmitDeliversOnceAfterCommit(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, be string) {
		b := setup(t, be)
		ctx := context.Background()
		s := &recordingSender{got: make(chan waybill.OutboundMessage, 4), fail: 1}
		b.h.RegisterSender(waybill.ChannelAS2, s)
		// The order's acceptance emits an acknowledgement in the accepting transaction.
		b.h.OnAccepted(func(ctx context.Context, tx *store.Tx, q jobs.Queue, o *waybill.Order) error {
			_, err := b.h.Emit(ctx, tx, &waybill.OutboundMessage{CorrelationID: o.CorrelationID, Partner: o.Partner,
				Channel: waybill.ChannelAS2, DocType: "855", Payload: []byte("ack " + o.PONumber)}, o.PONumber)
			return err
		})
		b.receive(t, "acme", orderJSON("PO-E1"))
		var m waybill.OutboundMessage
		select {
		case m = <-s.got:
		case <-time.After(10 * time.Second):
			t.Fatal("the acknowledgement was not delivered")
		}
		require.Equal(t, "ack PO-E1", string(m.Payload))
		b.eventually(t, 10*time.Second, func() bool {
			stored, err := b.db.Message(ctx, m.ID)
			return err == nil && stored.State == store.MessageSent
		})
		stored, err := b.db.Message(ctx, m.ID)
		require.NoError(t, err)
		require.Equal(t, "remote-"+m.ID, stored.TransportID)
		require.Equal(t, "processed", stored.Meta["mdn"])
		traces, err := b.h.Trace(ctx, "PO-E1")
		require.NoError(t, err)
		kinds := []string{}
		for _, r := range traces[0].Records {
			kinds = append(kinds, r.Kind)
		}
		require.Equal(t, []string{"message.received", "order.received", "erp.order", "outbound.queued", "outbound.sent"}, kinds)
		select {
		case extra := <-s.got:
			t.Fatalf("delivered twice: %s", extra.ID)
		default:
		}
	})
}

// TestProcessRerunSubmitsLeftoverOrders covers a hub that died after recording a message's
// orders and before submitting them: the rescued process_message job finds the message processed
// and has each order still validated submitted.
func TestProcessRerunSubmitsLeftoverOrders(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, be string) {
		b := setup(t, be)
		ctx := context.Background()
		msg := &store.Message{ID: store.NewID("msg"), CorrelationID: store.NewID("cor"), Direction: store.Inbound,
			Channel: waybill.ChannelHTTP, Partner: "acme", DocType: "order", Digest: "leftover", Payload: []byte("{}"),
			State: store.MessageProcessed, ReceivedAt: time.Now()}
		o := &waybill.Order{ID: store.NewID("ord"), CorrelationID: msg.CorrelationID, Partner: "acme", Account: "ACME",
			Channel: waybill.ChannelHTTP, PONumber: "PO-LEFT", Currency: "USD", State: waybill.OrderValidated,
			Lines: []waybill.Line{{Number: "1", VendorItem: "SKU-1", Quantity: waybill.MustDecimal("2"), UOM: "EA",
				Qty: waybill.LineQty{Ordered: waybill.MustDecimal("2")}}}}
		require.NoError(t, b.db.InTx(ctx, func(tx *store.Tx) error {
			if err := tx.InsertMessage(ctx, msg); err != nil {
				return err
			}
			return tx.InsertOrder(ctx, o, msg.ID)
		}))
		require.NoError(t, b.app.Queue.Insert(ctx, hub.ProcessMessage{MessageID: msg.ID, CorrelationID: msg.CorrelationID, Partner: "acme"}, nil))
		b.eventually(t, 10*time.Second, func() bool { return b.stateOf(t, "PO-LEFT") == waybill.OrderAccepted })
		require.Equal(t, 1, b.erp.Stats().Orders)
	})
}

// TestSyncBatchHandsFailuresToJobsOfTheirOwn syncs two orders in one batch, one of which the ERP
// no longer has: the other is synced, and the missing one gets a sync_order job of its own,
// which dead-letters it with the ERP's reason.
func TestSyncBatchHandsFailuresToJobsOfTheirOwn(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, be string) {
		b := setup(t, be)
		ctx := context.Background()
		b.receive(t, "acme", orderJSON("PO-SYNC-1"))
		b.eventually(t, 10*time.Second, func() bool { return b.stateOf(t, "PO-SYNC-1") == waybill.OrderAccepted })
		good := b.orderByPO(t, "PO-SYNC-1")

		gone := &waybill.Order{ID: store.NewID("ord"), CorrelationID: store.NewID("cor"), Partner: "acme", Account: "ACME",
			Channel: waybill.ChannelHTTP, PONumber: "PO-SYNC-GONE", Currency: "USD", State: waybill.OrderAccepted,
			ERP: waybill.ERPRef{Model: "sale.order", ID: 987654, Name: "S-GONE"}}
		require.NoError(t, b.db.InTx(ctx, func(tx *store.Tx) error { return tx.InsertOrder(ctx, gone, "") }))

		require.NoError(t, b.app.Queue.Insert(ctx, hub.SyncOrders{Orders: []hub.SyncOrder{
			{OrderID: gone.ID, CorrelationID: gone.CorrelationID, Partner: "acme"},
			{OrderID: good.Order.ID, CorrelationID: good.Order.CorrelationID, Partner: "acme"},
		}}, nil))
		var dl *store.DeadLetter
		b.eventually(t, 10*time.Second, func() bool {
			dls, err := b.db.DeadLetters(ctx, store.DeadLetterFilter{Partner: "acme"})
			require.NoError(t, err)
			for _, d := range dls {
				if d.OrderID == gone.ID {
					dl = d
				}
			}
			return dl != nil
		})
		require.Equal(t, hub.SyncOrder{}.Kind(), dl.JobKind)
		require.Equal(t, "erp_missing", dl.Reason)
		dls, err := b.db.DeadLetters(ctx, store.DeadLetterFilter{Partner: "acme"})
		require.NoError(t, err)
		require.Len(t, dls, 1, "the order the ERP has was synced in the batch, not handed on")
		require.Equal(t, waybill.OrderAccepted, b.stateOf(t, "PO-SYNC-1"), "the in-memory ERP reports nothing new")
	})
}

// TestConcurrentReceipts sends receipts at once, copies of some among them, so that they are
// stored in batches: each distinct payload is stored once and processed once, every copy is
// answered as a duplicate of it, and each order keeps the correlation id of its receipt.
func TestConcurrentReceipts(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, be string) {
		b := setup(t, be)
		const distinct, copies = 30, 3
		rcs := make([]waybill.Receipt, distinct*copies)
		errs := make([]error, len(rcs))
		var wg sync.WaitGroup
		for i := range rcs {
			wg.Go(func() {
				rcs[i], errs[i] = b.h.Receive(context.Background(), waybill.InboundMessage{Channel: waybill.ChannelHTTP,
					Partner: "acme", Payload: orderJSON(fmt.Sprintf("PO-C%02d", i%distinct))})
			})
		}
		wg.Wait()
		originals := map[string]waybill.Receipt{} // by PO
		for i, rc := range rcs {
			require.NoError(t, errs[i])
			if !rc.Duplicate {
				po := fmt.Sprintf("PO-C%02d", i%distinct)
				_, seen := originals[po]
				require.False(t, seen, "%s stored twice", po)
				originals[po] = rc
			}
		}
		require.Len(t, originals, distinct)
		for i, rc := range rcs {
			if rc.Duplicate {
				require.Equal(t, originals[fmt.Sprintf("PO-C%02d", i%distinct)].MessageID, rc.DuplicateOf)
			}
		}
		b.eventually(t, 20*time.Second, func() bool {
			c, err := b.db.CountOrdersByState(context.Background())
			require.NoError(t, err)
			return c[waybill.OrderAccepted] == distinct
		})
		for po, rc := range originals {
			rec := b.orderByPO(t, po)
			require.Equal(t, rc.CorrelationID, rec.Order.CorrelationID, "%s", po)
		}
		require.Equal(t, distinct, b.erp.Stats().Orders)
	})
}

// TestFairShareInBatches receives a burst from one partner while the workers are stopped: the
// first fair-share of its process_message jobs wait at normal priority and most of the rest
// behind, although most of the receipts are stored in batches.
func TestFairShareInBatches(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, be string) {
		ctx := context.Background()
		var st *app.Storage
		if be == "sqlite" {
			bk, err := sqlite.Open(ctx, t.TempDir())
			require.NoError(t, err)
			st = app.StorageFor(bk)
		} else {
			st = app.StorageFor(postgres.TestBackend(t))
		}
		cfg := config.Default()
		cfg.Listen = ""
		cfg.Pipeline.FairShare = 5
		cfg.Partners = []config.Partner{{ID: "acme", Account: "ACME"}}
		a, err := app.New(ctx, cfg, app.Options{Storage: st, ERP: memerp.New(true),
			Logger: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))})
		require.NoError(t, err)
		t.Cleanup(func() { a.Hub.Close(); a.Storage.DB.Close() })
		const n = 40
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				_, err := a.Hub.Receive(ctx, waybill.InboundMessage{Channel: waybill.ChannelHTTP, Partner: "acme",
					Payload: orderJSON(fmt.Sprintf("PO-F%02d", i))})
				require.NoError(t, err)
			})
		}
		wg.Wait()
		// Messages stored together share a process_messages job, one for each priority.
		argsText := "args::text"
		if be == "sqlite" {
			argsText = "json(args)" // stored as SQLite's binary JSON
		}
		rows, err := a.Storage.DB.Backend().Query(ctx, `SELECT priority, kind, `+argsText+` FROM river_job WHERE kind IN ('process_message', 'process_messages')`)
		require.NoError(t, err)
		defer rows.Close()
		got := map[int]int{} // messages by priority
		for rows.Next() {
			var p int
			var kind string
			var args []byte
			require.NoError(t, rows.Scan(&p, &kind, &args))
			if kind == "process_message" {
				got[p]++
				continue
			}
			var batch hub.ProcessMessages
			require.NoError(t, json.Unmarshal(args, &batch))
			got[p] += len(batch.Messages)
		}
		require.NoError(t, rows.Err())
		// Receipts stored at the same time in different transactions do not see each other, so a
		// few more than the fair share may keep normal priority; none of the first five is held back.
		require.Equal(t, n, got[1]+got[3], "priorities: %v", got)
		require.GreaterOrEqual(t, got[1], 5, "priorities: %v", got)
		require.GreaterOrEqual(t, got[3], n/2, "priorities: %v", got)
	})
}

// TestPanicInBatchHitsOnlyItsOrder makes the acceptance of one order panic while others are
// accepted with it: that order alone is dead-lettered (and put on hold), the others are accepted.
func TestPanicInBatchHitsOnlyItsOrder(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, be string) {
		b := setup(t, be)
		ctx := context.Background()
		b.h.OnAccepted(func(_ context.Context, _ *store.Tx, _ jobs.Queue, o *waybill.Order) error {
			if o.PONumber == "PO-P03" {
				panic("hook exploded")
			}
			return nil
		})
		const n = 12
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { b.receive(t, "acme", orderJSON(fmt.Sprintf("PO-P%02d", i))) })
		}
		wg.Wait()
		b.eventually(t, 20*time.Second, func() bool {
			c, err := b.db.CountOrdersByState(ctx)
			require.NoError(t, err)
			return c[waybill.OrderAccepted] == n-1 && c[waybill.OrderOnHold] == 1
		})
		require.Equal(t, waybill.OrderOnHold, b.stateOf(t, "PO-P03"))
		dls, err := b.db.DeadLetters(ctx, store.DeadLetterFilter{Reason: "panic"})
		require.NoError(t, err)
		require.Len(t, dls, 1)
		require.Equal(t, b.orderByPO(t, "PO-P03").Order.ID, dls[0].OrderID)
	})
}

// TestBatchJobSettlesEachMessage runs one process_messages job over five messages: two orders,
// one whose decoder panics, one that is not JSON and one whose decoder first fails with a passing
// fault. Each ends as it would have in a job of its own: the orders are accepted, the panic and
// the bad JSON are dead-lettered alone (as process_message jobs, replayable), and the passing
// fault is retried by a job of its own.
func TestBatchJobSettlesEachMessage(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, be string) {
		b := build(t, be)
		ctx := context.Background()
		var exploding atomic.Bool
		exploding.Store(true)
		b.h.RegisterDecoder("boom", func(context.Context, *store.Message, waybill.Partner) ([]*waybill.Order, error) {
			if exploding.Load() {
				panic("decoder exploded")
			}
			return []*waybill.Order{{PONumber: "PO-B4", Lines: []waybill.Line{{Number: "1", VendorItem: "SKU-1", Quantity: waybill.MustDecimal("1"), UOM: "EA"}}}}, nil
		})
		var flakyCalls atomic.Int32
		b.h.RegisterDecoder("flaky", func(context.Context, *store.Message, waybill.Partner) ([]*waybill.Order, error) {
			if flakyCalls.Add(1) == 1 {
				return nil, waybill.Errorf(waybill.EUNAVAILABLE, "flaky", "not this time")
			}
			return []*waybill.Order{{PONumber: "PO-B3", Lines: []waybill.Line{{Number: "1", VendorItem: "SKU-2", Quantity: waybill.MustDecimal("2"), UOM: "EA"}}}}, nil
		})
		in := []waybill.InboundMessage{
			{Payload: orderJSON("PO-B1")},
			{Payload: orderJSON("PO-B2")},
			{DocType: "boom", Payload: []byte("boom")},
			{Payload: []byte(`{"po_number": "PO-B5", "lines": [}`)},
			{DocType: "flaky", Payload: []byte("flaky")},
		}
		var batch hub.ProcessMessages
		for _, m := range in {
			m.Channel, m.Partner = waybill.ChannelHTTP, "acme"
			rc, err := b.h.Receive(ctx, m)
			require.NoError(t, err)
			batch.Messages = append(batch.Messages, hub.ProcessMessage{MessageID: rc.MessageID, CorrelationID: rc.CorrelationID, Partner: "acme"})
		}
		// The receipts each enqueued a job of their own; one job takes all five instead.
		_, err := b.db.Backend().Exec(ctx, `DELETE FROM river_job`)
		require.NoError(t, err)
		require.NoError(t, b.app.Queue.Insert(ctx, batch, nil))
		require.NoError(t, b.app.Start(ctx))

		b.eventually(t, 20*time.Second, func() bool {
			dls, err := b.db.DeadLetters(ctx, store.DeadLetterFilter{})
			require.NoError(t, err)
			return b.stateOf(t, "PO-B1") == waybill.OrderAccepted && b.stateOf(t, "PO-B2") == waybill.OrderAccepted &&
				b.stateOf(t, "PO-B3") == waybill.OrderAccepted && len(dls) == 2
		})
		require.Equal(t, int32(2), flakyCalls.Load(), "the passing fault was retried once")
		dls, err := b.db.DeadLetters(ctx, store.DeadLetterFilter{})
		require.NoError(t, err)
		byReason := map[string]*store.DeadLetter{}
		for _, d := range dls {
			byReason[d.Reason] = d
			require.Equal(t, "process_message", d.JobKind, "dead-lettered as the message's own job")
		}
		require.Contains(t, byReason, "panic")
		require.Contains(t, byReason, "json_syntax")
		require.Equal(t, batch.Messages[2].MessageID, byReason["panic"].MessageID)
		require.Contains(t, byReason["panic"].Message, "decoder exploded")
		require.Equal(t, batch.Messages[3].MessageID, byReason["json_syntax"].MessageID)
		for _, i := range []int{2, 3} {
			m, err := b.db.Message(ctx, batch.Messages[i].MessageID)
			require.NoError(t, err)
			require.Equal(t, store.MessageDead, m.State)
		}

		// Fixed, the panicking message replays alone into an order.
		exploding.Store(false)
		require.NoError(t, b.h.Replay(ctx, byReason["panic"].ID, "tester"))
		b.eventually(t, 20*time.Second, func() bool { return b.stateOf(t, "PO-B4") == waybill.OrderAccepted })
		require.Equal(t, batch.Messages[2].CorrelationID, b.orderByPO(t, "PO-B4").Order.CorrelationID)
	})
}

// TestCommitReportedLostStillSubmits makes the shared transaction that records a message commit
// and then report a failure, as a connection lost at COMMIT does: the job, finding its message
// processed when it records it alone, must still see its order submitted.
func TestCommitReportedLostStillSubmits(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	inner, err := sqlite.Open(ctx, t.TempDir())
	require.NoError(t, err)
	lossy := &lossyCommits{Backend: inner, match: func(q string) bool { return strings.HasPrefix(q, "UPDATE messages SET state") }}
	db := store.New(lossy)
	drv := riversqlite.New(inner.DB())
	st := &app.Storage{DB: db,
		NewQueue:     func(w *river.Workers, c jobs.Config) (jobs.Queue, error) { return jobs.NewRiverQueue(db, drv, w, c) },
		MigrateQueue: func(ctx context.Context) error { return jobs.Migrate(ctx, drv) }}
	cfg := config.Default()
	cfg.Listen = ""
	cfg.Pipeline.PollInterval = 10 * time.Millisecond
	cfg.Pipeline.BackoffBase, cfg.Pipeline.BackoffMax = 20*time.Millisecond, 100*time.Millisecond
	cfg.Audit.SealInterval = time.Hour
	cfg.Partners = []config.Partner{{ID: "acme", Account: "ACME"}}
	a, err := app.New(ctx, cfg, app.Options{Storage: st, ERP: memerp.New(true),
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	require.NoError(t, err)
	a.Hub.RegisterDecoder("lossy", func(context.Context, *store.Message, waybill.Partner) ([]*waybill.Order, error) {
		lossy.armed.Store(true) // the next commit that claims a message reports a failure
		return []*waybill.Order{{PONumber: "PO-LOST", Lines: []waybill.Line{{Number: "1", VendorItem: "SKU-1", Quantity: waybill.MustDecimal("2"), UOM: "EA"}}}}, nil
	})
	require.NoError(t, a.Start(ctx))
	defer a.Stop(context.Background())
	b := &bundle{app: a, db: db, h: a.Hub}
	_, err = a.Hub.Receive(ctx, waybill.InboundMessage{Channel: waybill.ChannelHTTP, Partner: "acme", DocType: "lossy", Payload: []byte("x")})
	require.NoError(t, err)
	b.eventually(t, 20*time.Second, func() bool { return b.stateOf(t, "PO-LOST") == waybill.OrderAccepted })
	require.True(t, lossy.fired.Load(), "the recording's commit reported a failure it did not have")
}

// TestReceiptBatchCommitReportedLost makes a batch of receipts commit and then report a failure:
// its receipts are answered as stored, not stored again alone as duplicates of themselves.
func TestReceiptBatchCommitReportedLost(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	inner, err := sqlite.Open(ctx, t.TempDir())
	require.NoError(t, err)
	lossy := &lossyCommits{Backend: inner, match: func(q string) bool {
		return strings.HasPrefix(q, "INSERT INTO messages") && strings.Contains(q, "), (") // several messages: a batch
	}}
	lossy.armed.Store(true)
	db := store.New(lossy)
	require.NoError(t, db.Migrate(ctx))
	h := hub.New(hub.Config{DB: db, Partners: hub.PartnerMap{"acme": {ID: "acme", Account: "ACME"}}})
	defer h.Close()
	drv := riversqlite.New(inner.DB())
	require.NoError(t, jobs.Migrate(ctx, drv))
	q, err := jobs.NewRiverQueue(db, drv, nil, jobs.Default())
	require.NoError(t, err)
	h.Attach(q)
	// Receipts at once until a batch of them is stored (a lone one goes alone at first).
	var all []waybill.Receipt
	for round := 0; round < 50 && !lossy.fired.Load(); round++ {
		rcs := make([]waybill.Receipt, 16)
		errs := make([]error, len(rcs))
		var wg sync.WaitGroup
		for i := range rcs {
			wg.Go(func() {
				rcs[i], errs[i] = h.Receive(ctx, waybill.InboundMessage{Channel: waybill.ChannelHTTP, Partner: "acme",
					Payload: orderJSON(fmt.Sprintf("PO-R%02d-%02d", round, i))})
			})
		}
		wg.Wait()
		require.NoError(t, errors.Join(errs...))
		all = append(all, rcs...)
	}
	require.True(t, lossy.fired.Load(), "no batch of receipts formed")
	ids := map[string]bool{}
	for _, rc := range all {
		require.False(t, rc.Duplicate, "a receipt answered as a duplicate of itself")
		ids[rc.MessageID] = true
	}
	require.Len(t, ids, len(all))
	n, err := db.CountMessages(ctx)
	require.NoError(t, err)
	require.EqualValues(t, len(all), n["in/received"], "one message stored per receipt: %v", n)
}

// lossyCommits is a store backend whose next transaction with a statement that match accepts,
// once armed, commits and then reports that the commit failed.
type lossyCommits struct {
	*sqlite.Backend
	match        func(q string) bool
	armed, fired atomic.Bool
}

func (l *lossyCommits) Begin(ctx context.Context) (store.TxExecutor, error) {
	tx, err := l.Backend.Begin(ctx)
	if err != nil {
		return nil, err
	}
	return &lossyTx{TxExecutor: tx, l: l}, nil
}

type lossyTx struct {
	store.TxExecutor
	l       *lossyCommits
	matched bool
}

func (t *lossyTx) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	t.matched = t.matched || t.l.match(q)
	return t.TxExecutor.Exec(ctx, q, args...)
}

func (t *lossyTx) Query(ctx context.Context, q string, args ...any) (store.Rows, error) {
	t.matched = t.matched || t.l.match(q)
	return t.TxExecutor.Query(ctx, q, args...)
}

func (t *lossyTx) Commit(ctx context.Context) error {
	if err := t.TxExecutor.Commit(ctx); err != nil {
		return err
	}
	if t.matched && t.l.armed.CompareAndSwap(true, false) {
		t.l.fired.Store(true)
		return errors.New("connection lost at COMMIT")
	}
	return nil
}
