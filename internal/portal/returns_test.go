package portal_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/portal"
)

// accepted places an order for the named key and returns it accepted.
func (b *bundle) accepted(t *testing.T, key, po string) orderView {
	t.Helper()
	r := b.call(t, key, "POST", "/v1/orders", order(po), "Idempotency-Key", po)
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	var o orderView
	r.json(t, &o)
	return o
}

func (b *bundle) ship(t *testing.T, o orderView, qty map[string]waybill.Decimal) {
	t.Helper()
	rec, err := b.db.Order(t.Context(), o.ID)
	require.NoError(t, err)
	b.erp.Ship(rec.Order.ERP, "UPSN", "1Z999", qty)
}

func TestReturnPartOfShipment(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, be string) {
		b := setup(t, be)
		r := newReceiver(t)
		b.subscribe(t, "acme", r, portal.EventReturnUpdated)
		o := b.accepted(t, "acme", "PO-RET")
		b.ship(t, o, map[string]waybill.Decimal{"1": waybill.MustDecimal("3")}) // 3 of 5 of line 1; nothing of line 2

		// Tracking shows the shipment with carrier and tracking number, and the shipped quantity.
		var got orderView
		b.call(t, "acme", "GET", "/v1/orders/"+o.ID, nil).json(t, &got)
		require.Len(t, got.Shipments, 1)
		require.Equal(t, "UPSN", got.Shipments[0].Carrier)
		require.Equal(t, "1Z999", got.Shipments[0].TrackingNumber)
		require.Equal(t, "3", got.Lines[0].Shipped)
		require.Equal(t, "0", got.Lines[1].Shipped)

		res := b.call(t, "acme", "POST", "/v1/returns", map[string]any{"order_id": o.ID, "reason": "damaged",
			"lines": []map[string]any{{"line_number": "1", "quantity": "2"}}})
		require.Equal(t, http.StatusCreated, res.Status, "%s", res.Body)
		var ret portal.Return
		res.json(t, &ret)
		require.Equal(t, "approved", ret.State)
		require.NotEmpty(t, ret.ERPReturn)
		evs := r.waitFor(t, 1)
		require.Equal(t, portal.EventReturnUpdated, evs[0].Type)

		// More than shipped (less what was already returned) is refused, line by line.
		res = b.call(t, "acme", "POST", "/v1/returns", map[string]any{"order_id": o.ID,
			"lines": []map[string]any{{"line_number": "1", "quantity": "2"}, {"line_number": "2", "quantity": "1"}, {"line_number": "7", "quantity": "1"}}})
		require.Equal(t, http.StatusUnprocessableEntity, res.Status)
		p := res.problem(t)
		require.Equal(t, portal.ProblemBase+portal.ProbReturnInvalid, p.Type)
		require.Len(t, p.Errors, 3)
		require.Contains(t, p.Errors[0].Message, "at most 1")

		var list struct{ Items []portal.Return }
		b.call(t, "acme", "GET", "/v1/returns?order_id="+o.ID, nil).json(t, &list)
		require.Len(t, list.Items, 1)
		g := b.call(t, "acme", "GET", "/v1/returns/"+ret.ID, nil)
		require.Equal(t, http.StatusOK, g.Status)
	})
}

func TestInvoicesAndStatement(t *testing.T) {
	t.Parallel()
	b := setup(t, "sqlite")
	o := b.accepted(t, "acme", "PO-INV")
	b.ship(t, o, map[string]waybill.Decimal{"1": waybill.MustDecimal("5"), "2": waybill.MustDecimal("12")})
	rec, err := b.db.Order(t.Context(), o.ID)
	require.NoError(t, err)
	b.erp.SetCreditLimit("ACME", waybill.MustDecimal("1000"))
	b.erp.Invoice(rec.Order.ERP, "INV/2026/0001", waybill.PaymentNotPaid, time.Now().AddDate(0, 0, -40))
	b.erp.Invoice(rec.Order.ERP, "INV/2026/0002", waybill.PaymentPaid, time.Now().AddDate(0, 0, 30))

	var list struct{ Items []portal.Invoice }
	b.call(t, "acme", "GET", "/v1/invoices", nil).json(t, &list)
	require.Len(t, list.Items, 2)
	b.call(t, "acme", "GET", "/v1/invoices?payment_state=not_paid", nil).json(t, &list)
	require.Len(t, list.Items, 1)
	require.Equal(t, "92.20", list.Items[0].Total)

	b.call(t, "acme", "GET", "/v1/invoices?payment_state=not_paid", nil).json(t, &list)
	inv := b.call(t, "acme", "GET", "/v1/invoices/"+list.Items[0].ID, nil)
	require.Equal(t, http.StatusOK, inv.Status, "%s", inv.Body)
	var one portal.Invoice
	inv.json(t, &one)
	require.Len(t, one.Lines, 2)
	require.Equal(t, "55.00", one.Lines[0].Amount)

	var st portal.Statement
	b.call(t, "acme", "GET", "/v1/statement", nil).json(t, &st)
	require.Equal(t, "92.20", st.Balance)
	require.Equal(t, "92.20", st.Overdue)
	require.Equal(t, "92.20", st.Ageing.Days60)
	require.Equal(t, "907.80", st.RemainingCredit)
	require.Equal(t, 30, st.NetDays)
	require.Len(t, st.OpenItems, 1)
}
