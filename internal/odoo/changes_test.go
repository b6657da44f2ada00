package odoo

import (
	"context"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/odoo/odoosim"
)

// TestChangesLateCommit: Odoo stamps write_date at the start of a transaction, so a record can
// appear after later ones were polled. The overlap window catches it; the cursor drops repeats.
func TestChangesLateCommit(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	set := func(t time.Time) { mu.Lock(); now = t; mu.Unlock() }
	sim := odoosim.New(odoosim.Options{Version: "19.0", Now: clock})
	demo := sim.SeedDemo()
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	t.Cleanup(sim.Close)
	ctx := context.Background()
	c, err := New(ctx, Config{URL: srv.URL, APIKey: odoosim.AdminAPIKey, Protocol: ProtocolJSON2, Version: "19.0", ChangeOverlap: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	order := func(ref string) int64 {
		res, err := c.CreateOrders(ctx, []waybill.OrderDraft{{HubRef: ref, Customer: waybill.ERPRef{ID: int64(demo.Customers[0].ID)},
			Lines: []waybill.DraftLine{{Product: waybill.ERPRef{ID: int64(demo.Products[0].ID)}, Quantity: dec("1")}}}})
		if err != nil || res[0].Err != nil {
			t.Fatal(err, res)
		}
		return res[0].Order.ID
	}
	poll := func(cursor string) ([]waybill.Change, string) {
		chs, next, err := c.Changes(ctx, cursor, 10)
		if err != nil {
			t.Fatal(err)
		}
		return chs, next
	}
	cursor := ChangeCursorAt(now.Add(-time.Minute))
	set(now.Add(10 * time.Second))
	a := order("late-a")
	chs, cursor := poll(cursor)
	if len(chs) != 1 || chs[0].Ref.ID != a || chs[0].HubRef != "late-a" {
		t.Fatalf("first poll %+v", chs)
	}
	// B's transaction started 3 s before A's write but committed after the poll.
	set(now.Add(-3 * time.Second))
	b := order("late-b")
	chs, cursor = poll(cursor)
	if len(chs) != 1 || chs[0].Ref.ID != b {
		t.Fatalf("late commit not seen: %+v", chs)
	}
	chs, cursor = poll(cursor)
	if len(chs) != 0 {
		t.Fatalf("repeat: %+v", chs)
	}
	// Paging: more changes than the limit come in order over several polls, none lost.
	set(now.Add(20 * time.Second))
	want := map[int64]bool{}
	for i := 0; i < 25; i++ {
		want[order("page-"+itoa(int64(i)))] = true
	}
	for i := 0; i < 5 && len(want) > 0; i++ {
		chs, cursor = poll(cursor)
		for _, ch := range chs {
			delete(want, ch.Ref.ID)
		}
	}
	if len(want) != 0 {
		t.Errorf("%d changes never returned", len(want))
	}
	if _, _, err := c.Changes(ctx, "not a cursor", 10); waybill.Code(err) != waybill.EINVALID {
		t.Errorf("bad cursor: %v", err)
	}
}

func FuzzDecodeXMLRPCResponse(f *testing.F) {
	f.Add([]byte(`<?xml version="1.0"?><methodResponse><params><param><value><array><data><value><int>1</int></value><value><string>a</string></value></data></array></value></param></params></methodResponse>`))
	f.Add([]byte(`<methodResponse><fault><value><struct><member><name>faultCode</name><value><int>2</int></value></member><member><name>faultString</name><value>x</value></member></struct></value></fault></methodResponse>`))
	f.Add([]byte(`<methodResponse><params><param><value><struct><member><name>a</name><value><nil/></value></member></struct></value></param></params></methodResponse>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, fault, err := decodeXMLRPCResponse(b)
		if err != nil {
			return
		}
		if fault != nil {
			_ = fault.classify()
			return
		}
		// What decodes re-encodes.
		if _, err := encodeXMLRPCCall("x", []any{v}); err != nil {
			t.Fatalf("re-encoding %#v: %v", v, err)
		}
	})
}
