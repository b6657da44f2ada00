package edi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/odoo"
	"github.com/waybill-hub/waybill/internal/store"
)

// The scenarios of the order-to-cash flow that the in-memory tests cover, run again through the
// Odoo connector against the Odoo simulator: the assertions read Odoo's own records.

// saleOrders returns Odoo's sale orders for a customer PO number.
func saleOrders(t *testing.T, b *bundle, po string) []map[string]any {
	t.Helper()
	c := odooOf(b)
	rs, err := c.SearchRead(context.Background(), "sale.order", []any{[]any{"client_order_ref", "=", po}}, []string{"name", "state"}, nil)
	require.NoError(t, err)
	return rs
}

func TestScenariosOdooSim(t *testing.T) {
	t.Parallel()
	acme850 := func(t *testing.T) []byte {
		// Odoo has no case unit unless one is configured: line 2 is ordered in units.
		return []byte(strings.Replace(string(read(t, "acme_850.x12")), "PO1*2*4*CS*", "PO1*2*4*EA*", 1))
	}
	forEachBackend(t, func(t *testing.T, backend string) {
		t.Run("price mismatch held, fixed in Odoo, replayed", func(t *testing.T) {
			c, _ := odooERP(t)
			b := setupWith(t, backend, c)
			b.receive(t, "acme", []byte(strings.Replace(string(acme850(t)), "PO1*1*10*EA*12.50", "PO1*1*10*EA*13.75", 1)))
			b.eventually(t, 20*time.Second, func() bool {
				return b.state(t, "PO-1001") == waybill.OrderOnHold && len(b.out.byDoc("997")) == 1
			})
			require.Empty(t, saleOrders(t, b, "PO-1001"), "nothing reaches Odoo while the order is held")
			dls, err := b.db.DeadLetters(context.Background(), store.DeadLetterFilter{Reason: "price_mismatch"})
			require.NoError(t, err)
			require.Len(t, dls, 1)
			// The fix, in Odoo: the product's price. The replay sees it at once (no stale cache).
			ps, err := c.SearchRead(context.Background(), "product.product", []any{[]any{"default_code", "=", "SKU-1"}}, []string{"id"}, nil)
			require.NoError(t, err)
			require.NoError(t, c.Write(context.Background(), "product.product", []int64{odooID(ps[0]["id"])}, map[string]any{"list_price": 13.75}))
			require.NoError(t, b.app.Hub.Replay(context.Background(), dls[0].ID, "operator@test"))
			b.eventually(t, 20*time.Second, func() bool { return len(b.out.byDoc("855")) == 1 })
			require.Len(t, saleOrders(t, b, "PO-1001"), 1)
			require.Contains(t, string(b.out.byDoc("855")[0].Payload), "PO1*1*10*EA*13.75**BP*ACME-1001")
		})
		t.Run("same interchange twice, and the same PO from another channel", func(t *testing.T) {
			c, _ := odooERP(t)
			b := setupWith(t, backend, c)
			in := acme850(t)
			b.receive(t, "acme", in)
			b.eventually(t, 20*time.Second, func() bool { return len(b.out.byDoc("855")) == 1 })
			require.True(t, b.receive(t, "acme", in).Duplicate, "the same bytes are a duplicate at receipt")
			again := b.receive(t, "acme", bytes.Replace(in, []byte("*261126*1200*"), []byte("*261126*1205*"), 1))
			// The portal channel of the same customer account sends the same PO number.
			web, _ := json.Marshal(waybill.Order{PONumber: "PO-1001", Lines: []waybill.Line{{Number: "1", VendorItem: "SKU-1", Quantity: waybill.MustDecimal("1"), UOM: "EA"}}})
			other, err := b.app.Hub.Receive(context.Background(), waybill.InboundMessage{Channel: waybill.ChannelPortal, Partner: "portal-acme", Payload: web})
			require.NoError(t, err)
			b.eventually(t, 20*time.Second, func() bool {
				m1, err1 := b.db.Message(context.Background(), again.MessageID)
				m2, err2 := b.db.Message(context.Background(), other.MessageID)
				return err1 == nil && err2 == nil && m1.State != store.MessageReceived && m2.State != store.MessageReceived
			})
			require.Len(t, saleOrders(t, b, "PO-1001"), 1, "one sale order in Odoo, whatever was resent")
			require.Len(t, b.out.byDoc("855"), 1)
			require.Len(t, b.out.byDoc("997"), 1, "a resent interchange is not acknowledged twice")
		})
		t.Run("Odoo down for a while in the middle", func(t *testing.T) {
			c, sim := odooERP(t)
			b := setupWith(t, backend, c)
			sim.Faults().Down()
			b.receive(t, "acme", acme850(t))
			b.eventually(t, 20*time.Second, func() bool { return len(b.out.byDoc("997")) == 1 })
			// Validation needs Odoo's master data: the message waits, retried (and, once the
			// connector's breaker opens, snoozed without spending its retries), with its 997 sent.
			require.Empty(t, b.out.byDoc("855"))
			require.NotEqual(t, waybill.OrderAccepted, b.state(t, "PO-1001"))
			// Long enough for the connector's circuit breaker to open: from then on the job waits
			// for Odoo instead of spending its retries (it would be dead-lettered otherwise).
			b.eventually(t, 30*time.Second, func() bool { return c.BreakerState() == odoo.BreakerOpen })
			dls, err := b.db.DeadLetters(context.Background(), store.DeadLetterFilter{})
			require.NoError(t, err)
			require.Empty(t, dls, "an outage is not a dead letter")
			sim.Faults().Up()
			b.eventually(t, 90*time.Second, func() bool { return len(b.out.byDoc("855")) == 1 })
			require.Len(t, saleOrders(t, b, "PO-1001"), 1, "nothing doubled in Odoo")
			require.Equal(t, "sale", saleOrders(t, b, "PO-1001")[0]["state"])
			require.Len(t, b.out.byDoc("997"), 1)
		})
	})
}

func odooOf(b *bundle) *odoo.Client { return b.app.ERP.(*odoo.Client) }
