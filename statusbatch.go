package waybill

import "context"

// StatusBatcher is an optional capability of an ERP, found by type assertion: reading the view
// of several sale orders in the calls one would take. Change capture syncs the orders a poll
// found through it, so that a poll finding thousands of orders costs the ERP a few calls per
// batch instead of a few per order.
type StatusBatcher interface {
	// OrderStatuses returns one result per order, in the order given; an order the ERP does not
	// have gets ENOTFOUND in its result. The error is for the call as a whole.
	OrderStatuses(ctx context.Context, orders []ERPRef) ([]StatusResult, error)
}

// StatusResult is one order's answer in OrderStatuses.
type StatusResult struct {
	OrderStatus
	Err error `json:"-"`
}
