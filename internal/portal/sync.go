package portal

import (
	"context"
	"slices"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/jobs"
	"github.com/waybill-hub/waybill/internal/store"
)

var mainLine = []waybill.OrderState{waybill.OrderAccepted, waybill.OrderAllocated, waybill.OrderFulfilled, waybill.OrderShipped,
	waybill.OrderInvoiced, waybill.OrderClosed}

func rank(st waybill.OrderState) int { return slices.Index(mainLine, st) }

// OnSync runs in the transaction that applies an ERP sync to an order (the hub's change capture),
// after its transitions: it queues order.shipped when the order reached shipped, order.delivered
// when every line is delivered in full, and order.invoiced when it reached invoiced.
func (s *Server) OnSync(ctx context.Context, tx *store.Tx, _ jobs.Queue, o *waybill.Order, st waybill.OrderStatus, from waybill.OrderState) error {
	if o.Account == "" {
		return nil
	}
	before, now := rank(from), rank(o.State)
	if now < 0 || now <= before {
		return nil
	}
	rec := &store.OrderRecord{Order: o, CreatedAt: s.now(), UpdatedAt: s.now()}
	view := s.view(ctx, rec, false, false)
	view.Shipments = shipments(&st)
	crossed := func(to waybill.OrderState) bool { return before < rank(to) && now >= rank(to) }
	if crossed(waybill.OrderShipped) {
		if err := s.Publish(ctx, tx, o.Account, EventOrderShipped, view); err != nil {
			return err
		}
		if st.DeliveryStatus == "full" {
			if err := s.Publish(ctx, tx, o.Account, EventOrderDelivered, view); err != nil {
				return err
			}
		}
	}
	if crossed(waybill.OrderInvoiced) {
		return s.Publish(ctx, tx, o.Account, EventOrderInvoiced, view)
	}
	return nil
}
