package telemetry

import (
	"context"

	"go.opentelemetry.io/otel/attribute"

	"github.com/waybill-hub/waybill"
)

// TraceERP wraps an ERP so that every call is a span "erp.<Method>" (with the batch size where
// there is one, and the error status). When erp also implements waybill.ChangeFeed, so does the
// result. Unwrap returns erp, for optional capabilities found by type assertion (the Odoo
// connector's BreakerState).
func TraceERP(erp waybill.ERP) waybill.ERP {
	t := &tracedERP{erp}
	if f, ok := erp.(waybill.ChangeFeed); ok {
		return &tracedFeed{tracedERP: t, feed: f}
	}
	return t
}

type tracedERP struct{ erp waybill.ERP }

var _ waybill.ERP = (*tracedERP)(nil)

// Unwrap returns the traced ERP.
func (t *tracedERP) Unwrap() waybill.ERP { return t.erp }

func call[T any](ctx context.Context, name string, n int, fn func(context.Context) (T, error)) (T, error) {
	attrs := []attribute.KeyValue{attribute.String("erp.method", name)}
	if n >= 0 {
		attrs = append(attrs, attribute.Int("erp.batch", n))
	}
	ctx, span := Start(ctx, "erp."+name, attrs...)
	v, err := fn(ctx)
	End(span, err)
	return v, err
}

func (t *tracedERP) FindCustomer(ctx context.Context, key waybill.PartyKey) (waybill.Customer, error) {
	return call(ctx, "FindCustomer", -1, func(ctx context.Context) (waybill.Customer, error) { return t.erp.FindCustomer(ctx, key) })
}

func (t *tracedERP) FindAddress(ctx context.Context, c waybill.ERPRef, key waybill.PartyKey) (waybill.ERPRef, error) {
	return call(ctx, "FindAddress", -1, func(ctx context.Context) (waybill.ERPRef, error) { return t.erp.FindAddress(ctx, c, key) })
}

func (t *tracedERP) FindProducts(ctx context.Context, keys []waybill.ProductKey) ([]waybill.ProductResult, error) {
	return call(ctx, "FindProducts", len(keys), func(ctx context.Context) ([]waybill.ProductResult, error) { return t.erp.FindProducts(ctx, keys) })
}

func (t *tracedERP) Prices(ctx context.Context, c waybill.ERPRef, reqs []waybill.PriceRequest) ([]waybill.PriceResult, error) {
	return call(ctx, "Prices", len(reqs), func(ctx context.Context) ([]waybill.PriceResult, error) { return t.erp.Prices(ctx, c, reqs) })
}

func (t *tracedERP) Stock(ctx context.Context, products []waybill.ERPRef, wh string) ([]waybill.InventoryPosition, error) {
	return call(ctx, "Stock", len(products), func(ctx context.Context) ([]waybill.InventoryPosition, error) { return t.erp.Stock(ctx, products, wh) })
}

func (t *tracedERP) CreateOrders(ctx context.Context, drafts []waybill.OrderDraft) ([]waybill.OrderResult, error) {
	return call(ctx, "CreateOrders", len(drafts), func(ctx context.Context) ([]waybill.OrderResult, error) { return t.erp.CreateOrders(ctx, drafts) })
}

func (t *tracedERP) ConfirmOrders(ctx context.Context, refs []waybill.ERPRef) ([]waybill.Confirmation, error) {
	return call(ctx, "ConfirmOrders", len(refs), func(ctx context.Context) ([]waybill.Confirmation, error) { return t.erp.ConfirmOrders(ctx, refs) })
}

func (t *tracedERP) CancelOrder(ctx context.Context, ref waybill.ERPRef) error {
	_, err := call(ctx, "CancelOrder", -1, func(ctx context.Context) (struct{}, error) { return struct{}{}, t.erp.CancelOrder(ctx, ref) })
	return err
}

func (t *tracedERP) OrderStatus(ctx context.Context, ref waybill.ERPRef) (waybill.OrderStatus, error) {
	return call(ctx, "OrderStatus", -1, func(ctx context.Context) (waybill.OrderStatus, error) { return t.erp.OrderStatus(ctx, ref) })
}

type tracedFeed struct {
	*tracedERP
	feed waybill.ChangeFeed
}

var _ waybill.ChangeFeed = (*tracedFeed)(nil)

func (t *tracedFeed) Changes(ctx context.Context, cursor string, limit int) ([]waybill.Change, string, error) {
	type res struct {
		ch  []waybill.Change
		cur string
	}
	r, err := call(ctx, "Changes", limit, func(ctx context.Context) (res, error) {
		ch, cur, err := t.feed.Changes(ctx, cursor, limit)
		return res{ch, cur}, err
	})
	return r.ch, r.cur, err
}
