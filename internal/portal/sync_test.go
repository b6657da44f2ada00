package portal_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/stretchr/testify/require"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/portal"
	"github.com/waybill-hub/waybill/internal/store"
)

// TestSyncEvents: when change capture moves an order to shipped and then invoiced, the account's
// subscribers hear order.shipped, order.delivered and order.invoiced, in that transaction.
func TestSyncEvents(t *testing.T) {
	t.Parallel()
	b := setup(t, "sqlite")
	r := newReceiver(t)
	b.subscribe(t, "acme", r, portal.EventOrderShipped, portal.EventOrderDelivered, portal.EventOrderInvoiced)
	o := b.accepted(t, "acme", "PO-SYNC")
	ctx := context.Background()
	rec, err := b.db.Order(ctx, o.ID)
	require.NoError(t, err)
	st := waybill.OrderStatus{DeliveryStatus: "full", Deliveries: []waybill.Delivery{{Ref: waybill.ERPRef{Name: "WH/OUT/1"}, State: "done",
		Carrier: "UPSN", TrackingRef: "1Z1", DoneAt: time.Now()}}}
	require.NoError(t, b.db.InTx(ctx, func(tx *store.Tx) error {
		rec.Order.State = waybill.OrderShipped
		return b.portal.OnSync(ctx, tx, nil, rec.Order, st, waybill.OrderAccepted)
	}))
	evs := r.waitFor(t, 2) // delivered concurrently: in any order
	require.ElementsMatch(t, []string{portal.EventOrderShipped, portal.EventOrderDelivered}, []string{evs[0].Type, evs[1].Type})
	require.Contains(t, string(evs[0].Data), "1Z1")
	require.NoError(t, b.db.InTx(ctx, func(tx *store.Tx) error {
		rec.Order.State = waybill.OrderInvoiced
		return b.portal.OnSync(ctx, tx, nil, rec.Order, st, waybill.OrderShipped)
	}))
	evs = r.waitFor(t, 3)
	require.Equal(t, portal.EventOrderInvoiced, evs[2].Type)
	// A sync that moves nothing forward says nothing.
	require.NoError(t, b.db.InTx(ctx, func(tx *store.Tx) error {
		return b.portal.OnSync(ctx, tx, nil, rec.Order, st, waybill.OrderInvoiced)
	}))
}

func TestDeprecationHeaders(t *testing.T) {
	t.Parallel()
	b := setup(t, "sqlite")
	op := huma.Operation{OperationID: "old-thing", Method: http.MethodGet, Path: "/v1/old-thing", Metadata: map[string]any{"scope": portal.ScopeCatalogRead},
		Security: []map[string][]string{{"apiKey": {portal.ScopeCatalogRead}}}}
	portal.Deprecate(&op, time.Unix(1767225600, 0), time.Date(2027, 7, 1, 0, 0, 0, 0, time.UTC))
	huma.Register(b.portal.API(), op, func(ctx context.Context, _ *struct{}) (*struct{}, error) { return nil, nil })
	req, _ := http.NewRequest(http.MethodGet, b.url+"/v1/old-thing", nil)
	req.Header.Set("Authorization", "Bearer "+b.keys["acme"])
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusNoContent, res.StatusCode)
	require.Equal(t, "@1767225600", res.Header.Get("Deprecation"))
	require.Equal(t, "Thu, 01 Jul 2027 00:00:00 GMT", res.Header.Get("Sunset"))
	require.Contains(t, res.Header.Get("Link"), `rel="deprecation"`)
}
