package waybill

import (
	"fmt"
	"time"
)

// OrderState is a state of the order lifecycle. The main line runs received → validated →
// accepted → allocated → fulfilled → shipped → invoiced → closed; rejected, cancelled and on_hold
// leave it. Each transition has one owner (see Transitions).
type OrderState string

const (
	// OrderReceived: the raw message is durable in the hub. Next: validated, on_hold, rejected.
	OrderReceived OrderState = "received"
	// OrderValidated: syntax, partner rules and cross-references (customer, ship-to, items, UOM)
	// passed. Next: accepted by the ERP, or rejected, on_hold, cancelled.
	OrderValidated OrderState = "validated"
	// OrderAccepted: the ERP created and confirmed the sale order (its prices, tax and credit
	// decisions stand). Edits now need a change request. Next: allocated.
	OrderAccepted OrderState = "accepted"
	// OrderAllocated: the ERP reserved the stock; the delivery is ready. Next: fulfilled.
	OrderAllocated OrderState = "allocated"
	// OrderFulfilled: picked and packed; the delivery is done in the ERP. Next: shipped.
	OrderFulfilled OrderState = "fulfilled"
	// OrderShipped: carrier, tracking and ship date are known and the ship notice (856, portal
	// update) was sent. Next: invoiced.
	OrderShipped OrderState = "shipped"
	// OrderInvoiced: the invoice is posted in the ERP and published (810, portal). Next: closed.
	OrderInvoiced OrderState = "invoiced"
	// OrderClosed: the invoice is paid or the order settled. Final.
	OrderClosed OrderState = "closed"
	// OrderRejected: refused by validation or by the ERP; the customer was told why. Final.
	OrderRejected OrderState = "rejected"
	// OrderCancelled: cancelled by the customer before acceptance, or in the ERP. Final.
	OrderCancelled OrderState = "cancelled"
	// OrderOnHold: an exception awaits a person (price mismatch, unknown item under a hold policy).
	// Next: validated once released after a fix, or rejected, cancelled.
	OrderOnHold OrderState = "on_hold"
)

// OrderStates lists every state in lifecycle order, then the states that leave the main line.
var OrderStates = []OrderState{
	OrderReceived, OrderValidated, OrderAccepted, OrderAllocated, OrderFulfilled, OrderShipped,
	OrderInvoiced, OrderClosed, OrderRejected, OrderCancelled, OrderOnHold,
}

// Final reports whether no transition leaves s.
func (s OrderState) Final() bool {
	return s == OrderClosed || s == OrderRejected || s == OrderCancelled
}

// Valid reports whether s is a known state.
func (s OrderState) Valid() bool {
	for _, k := range OrderStates {
		if k == s {
			return true
		}
	}
	return false
}

// Owner is who may move an order across a transition.
type Owner string

const (
	OwnerHub       Owner = "hub"       // The hub itself: channels, validation, policy.
	OwnerERP       Owner = "erp"       // The ERP (Odoo), seen through its API or change capture.
	OwnerWarehouse Owner = "warehouse" // A warehouse system reporting pick and pack.
	OwnerCarrier   Owner = "carrier"   // A carrier reporting shipment milestones.
	OwnerPayment   Owner = "payment"   // A finance system (or the ERP) reporting payment.
)

// Transition is one allowed move of the lifecycle and who may make it.
type Transition struct {
	From, To OrderState
	Owners   []Owner
}

// Transitions is the lifecycle table. Anything not listed is illegal.
var Transitions = []Transition{
	{OrderReceived, OrderValidated, []Owner{OwnerHub}},
	{OrderReceived, OrderRejected, []Owner{OwnerHub}},
	{OrderReceived, OrderOnHold, []Owner{OwnerHub}},
	{OrderReceived, OrderCancelled, []Owner{OwnerHub}},
	{OrderValidated, OrderAccepted, []Owner{OwnerERP}},
	{OrderValidated, OrderRejected, []Owner{OwnerHub, OwnerERP}},
	{OrderValidated, OrderOnHold, []Owner{OwnerHub}},
	{OrderValidated, OrderCancelled, []Owner{OwnerHub}},
	{OrderOnHold, OrderValidated, []Owner{OwnerHub}},
	{OrderOnHold, OrderRejected, []Owner{OwnerHub}},
	{OrderOnHold, OrderCancelled, []Owner{OwnerHub}},
	{OrderAccepted, OrderAllocated, []Owner{OwnerERP}},
	{OrderAccepted, OrderCancelled, []Owner{OwnerERP}},
	{OrderAllocated, OrderFulfilled, []Owner{OwnerERP, OwnerWarehouse}},
	{OrderAllocated, OrderCancelled, []Owner{OwnerERP}},
	{OrderFulfilled, OrderShipped, []Owner{OwnerERP, OwnerCarrier}},
	{OrderShipped, OrderInvoiced, []Owner{OwnerERP}},
	{OrderInvoiced, OrderClosed, []Owner{OwnerPayment, OwnerERP, OwnerHub}},
}

var transitionIndex = func() map[[2]OrderState][]Owner {
	m := make(map[[2]OrderState][]Owner, len(Transitions))
	for _, t := range Transitions {
		m[[2]OrderState{t.From, t.To}] = t.Owners
	}
	return m
}()

// TransitionError reports a transition the lifecycle does not allow, or one made by an owner that
// does not own it.
type TransitionError struct {
	Order    string
	From, To OrderState
	By       Owner
	Reason   string // "not a transition", "not the owner"
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("order %s: illegal transition %s → %s by %s: %s", e.Order, e.From, e.To, e.By, e.Reason)
}

// Code makes a TransitionError a coded error: ECONFLICT, since the order is not where the caller
// thought it was.
func (e *TransitionError) Code() ErrorCode { return ECONFLICT }

// CheckTransition returns a *TransitionError unless by may move an order from from to to.
func CheckTransition(order string, from, to OrderState, by Owner) error {
	owners, ok := transitionIndex[[2]OrderState{from, to}]
	if !ok {
		return &TransitionError{Order: order, From: from, To: to, By: by, Reason: "not a transition"}
	}
	for _, o := range owners {
		if o == by {
			return nil
		}
	}
	return &TransitionError{Order: order, From: from, To: to, By: by, Reason: "not the owner"}
}

// mainLine is the order of the states the ERP moves an order through.
var mainLine = []OrderState{OrderAccepted, OrderAllocated, OrderFulfilled, OrderShipped, OrderInvoiced, OrderClosed}

// PathTo returns the main-line states between from (exclusive) and to (inclusive) when to lies
// ahead of from on the main line, so that a change capture that sees an order already fulfilled
// records allocated and fulfilled in turn. It returns nil when to is not ahead of from.
func PathTo(from, to OrderState) []OrderState {
	fi, ti := -1, -1
	for i, s := range mainLine {
		if s == from {
			fi = i
		}
		if s == to {
			ti = i
		}
	}
	if fi < 0 || ti <= fi {
		return nil
	}
	return append([]OrderState(nil), mainLine[fi+1:ti+1]...)
}

// OrderEvent is one stored transition: the order's history is the list of its events.
type OrderEvent struct {
	Seq           int64      `json:"seq"`
	OrderID       string     `json:"order_id"`
	From          OrderState `json:"from"`
	To            OrderState `json:"to"`
	Source        Owner      `json:"source"`
	Actor         string     `json:"actor"` // job kind, operator name, "odoo change capture", ...
	Reason        string     `json:"reason,omitempty"`
	At            time.Time  `json:"at"`
	CorrelationID string     `json:"correlation_id"`
}
