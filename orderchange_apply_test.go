package waybill_test

import (
	"testing"

	"github.com/waybill-hub/waybill"
)

func TestChangeRefusal(t *testing.T) {
	t.Parallel()
	so := waybill.ERPRef{Model: "sale.order", ID: 7, Name: "S00007"}
	for _, tc := range []struct {
		state waybill.OrderState
		erp   waybill.ERPRef
		want  string
	}{
		{waybill.OrderAccepted, so, ""},
		{waybill.OrderAllocated, so, "order PO-1 is allocated; the stock is reserved, so changes are refused"},
		{waybill.OrderShipped, so, "order PO-1 is shipped; the stock is reserved, so changes are refused"},
		{waybill.OrderCancelled, so, "order PO-1 is cancelled"},
		{waybill.OrderValidated, waybill.ERPRef{}, "order PO-1 is not accepted by the ERP yet (it is validated); send the change again later"},
	} {
		o := &waybill.Order{PONumber: "PO-1", State: tc.state, ERP: tc.erp}
		if got := o.ChangeRefusal(); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.state, got, tc.want)
		}
	}
}

func TestFollowERPLines(t *testing.T) {
	t.Parallel()
	d := waybill.MustDecimal
	line := func(n string, qty string, erpID int64) waybill.Line {
		return waybill.Line{Number: n, Quantity: d(qty), Status: waybill.LineAccepted, ERPLine: waybill.ERPRef{ID: erpID},
			Qty: waybill.LineQty{Ordered: d(qty), Accepted: d(qty)}}
	}
	o := &waybill.Order{Lines: []waybill.Line{line("1", "5", 11), line("2", "12", 12), line("3", "4", 13), line("4", "1", 14)}}
	changes := []waybill.LineChange{o.Lines[0].NewChange(), o.Lines[1].NewChange(), o.Lines[2].NewChange()}
	changes[0].Quantity = d("9")
	changes[1].Cancel = true
	changes[2].Quantity = d("0")
	erp := []waybill.ERPLine{
		{LineNumber: "1", Quantity: d("9"), UnitPrice: d("11")},
		{Ref: waybill.ERPRef{ID: 12}, Quantity: d("0")},
		{Ref: waybill.ERPRef{ID: 13}, Quantity: d("0")}, // matched by the sale order line
		{LineNumber: "4", Quantity: d("3")},             // no change names it: left alone
	}
	o.FollowERPLines(erp, changes)
	for _, tc := range []struct {
		n                     string
		qty, accepted, cancel string
		status                waybill.LineStatus
	}{
		{"1", "9", "9", "0", waybill.LineAccepted},
		{"2", "12", "0", "12", waybill.LineRejected},
		{"3", "4", "0", "4", waybill.LineRejected},
		{"4", "1", "1", "0", waybill.LineAccepted},
	} {
		l := o.LineByNumber(tc.n)
		got := [4]string{l.Quantity.String(), l.Qty.Accepted.String(), l.Qty.Cancelled.String(), string(l.Status)}
		want := [4]string{tc.qty, tc.accepted, tc.cancel, string(tc.status)}
		if got != want {
			t.Errorf("line %s: got %v, want %v", tc.n, got, want)
		}
	}
	if !o.Lines[0].HasUnitPrice || o.Lines[0].UnitPrice.String() != "11" {
		t.Errorf("line 1 takes the ERP's price: %+v", o.Lines[0])
	}
}
