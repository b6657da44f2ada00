package hub

import (
	"context"
	"sort"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/store"
)

// Trace is everything the hub knows about one correlation id.
type Trace struct {
	CorrelationID string
	Records       []store.AuditRecord
	Messages      []*store.Message
	Orders        []*store.OrderRecord
	Events        map[string][]waybill.OrderEvent
	DeadLetters   []*store.DeadLetter
}

// Trace finds the chains a key belongs to: a PO number, a message id, a correlation id, a control
// number, an AS2 message id or an ERP reference (sale order or invoice name). Chains are returned
// oldest first.
func (h *Hub) Trace(ctx context.Context, key string) ([]Trace, error) {
	corrs, err := h.db.CorrelationsFor(ctx, key)
	if err != nil {
		return nil, err
	}
	var out []Trace
	for _, c := range corrs {
		t := Trace{CorrelationID: c, Events: map[string][]waybill.OrderEvent{}}
		if t.Records, err = h.db.AuditTrail(ctx, c); err != nil {
			return nil, err
		}
		seen := map[string]bool{}
		for _, r := range t.Records {
			for _, id := range append([]string{r.Subject}, r.Refs...) {
				if seen[id] || id == "" {
					continue
				}
				seen[id] = true
				if m, err := h.db.Message(ctx, id); err == nil && m.CorrelationID == c {
					m.Payload = nil
					t.Messages = append(t.Messages, m)
				}
			}
		}
		if t.Orders, err = h.db.Orders(ctx, store.OrderFilter{CorrelationID: c}); err != nil {
			return nil, err
		}
		for _, o := range t.Orders {
			if t.Events[o.Order.ID], err = h.db.OrderEvents(ctx, o.Order.ID); err != nil {
				return nil, err
			}
		}
		if t.DeadLetters, err = h.db.DeadLetters(ctx, store.DeadLetterFilter{AnyState: true, CorrelationID: c}); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool {
		if len(out[i].Records) == 0 || len(out[j].Records) == 0 {
			return len(out[i].Records) > 0
		}
		return out[i].Records[0].Seq < out[j].Records[0].Seq
	})
	return out, nil
}
