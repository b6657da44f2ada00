package portal

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/conditional"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/store"
)

// OrderRequest is the body of POST /v1/orders.
type OrderRequest struct {
	PONumber          string             `json:"po_number" minLength:"1" maxLength:"64" doc:"The customer's purchase order number; unique per account"`
	PODate            time.Time          `json:"po_date,omitzero" required:"false"`
	RequestedDelivery time.Time          `json:"requested_delivery,omitzero" required:"false"`
	ShipTo            *ShipTo            `json:"ship_to,omitempty" doc:"Delivery address; the account's default when absent"`
	Notes             string             `json:"notes,omitempty" maxLength:"2000"`
	AllowBackorder    *bool              `json:"allow_backorder,omitempty" doc:"Accept lines beyond availability as backorders (default true); false rejects them"`
	Lines             []OrderLineRequest `json:"lines" minItems:"1" maxItems:"500"`
}

// ShipTo is a delivery address.
type ShipTo struct {
	Code       string   `json:"code,omitempty" doc:"The account's own address code"`
	Name       string   `json:"name,omitempty"`
	Lines      []string `json:"lines,omitempty"`
	City       string   `json:"city,omitempty"`
	Region     string   `json:"region,omitempty"`
	PostalCode string   `json:"postal_code,omitempty"`
	Country    string   `json:"country,omitempty" pattern:"^[A-Z]{2}$"`
}

const decimalPattern = `^[0-9]{1,12}(\.[0-9]{1,6})?$`

// OrderLineRequest is one line of an OrderRequest.
type OrderLineRequest struct {
	LineNumber string `json:"line_number,omitempty" maxLength:"20" doc:"Defaults to the line's position (1, 2, ...)"`
	SKU        string `json:"sku" minLength:"1" maxLength:"64"`
	Quantity   string `json:"quantity" pattern:"^[0-9]{1,12}(\\.[0-9]{1,6})?$" doc:"Decimal string" example:"10"`
	UOM        string `json:"uom,omitempty" maxLength:"8"`
	UnitPrice  string `json:"unit_price,omitempty" pattern:"^[0-9]{1,12}(\\.[0-9]{1,6})?$" doc:"The net price the customer expects; a different price rejects the line"`
}

// Order is an order as the portal shows it.
type Order struct {
	ID             string          `json:"id"`
	PONumber       string          `json:"po_number"`
	Account        string          `json:"account"`
	Channel        string          `json:"channel"`
	State          string          `json:"state" enum:"received,validated,accepted,allocated,fulfilled,shipped,invoiced,closed,rejected,cancelled,on_hold"`
	StatusURL      string          `json:"status_url"`
	ERPOrder       string          `json:"erp_order,omitempty" doc:"The ERP's sale order number, once accepted"`
	Currency       string          `json:"currency"`
	Total          string          `json:"total,omitempty" doc:"Untaxed total of the accepted lines"`
	Reasons        []string        `json:"reasons,omitempty" doc:"Why the order was rejected or is held"`
	Lines          []OrderLine     `json:"lines"`
	History        []OrderEvent    `json:"history,omitempty"`
	Shipments      []Shipment      `json:"shipments,omitempty"`
	ChangeRequests []ChangeRequest `json:"change_requests,omitempty"`
	TrackingStale  bool            `json:"tracking_unavailable,omitempty" doc:"The ERP could not be asked for shipments just now"`
	CreatedAt      time.Time       `json:"created_at"`
	UpdatedAt      time.Time       `json:"updated_at"`
}

// OrderLine is a line with what happened to its quantity.
type OrderLine struct {
	LineNumber   string    `json:"line_number"`
	SKU          string    `json:"sku"`
	Quantity     string    `json:"quantity"`
	UOM          string    `json:"uom"`
	UnitPrice    string    `json:"unit_price,omitempty"`
	Subtotal     string    `json:"subtotal,omitempty"`
	Status       string    `json:"status,omitempty" doc:"accepted, price_changed, quantity_changed, backordered, rejected"`
	Accepted     string    `json:"accepted"`
	Backordered  string    `json:"backordered"`
	Shipped      string    `json:"shipped"`
	PromisedDate time.Time `json:"promised_date,omitzero" required:"false" doc:"When the line is expected to ship"`
}

// OrderEvent is one step of an order's history.
type OrderEvent struct {
	From   string    `json:"from,omitempty"`
	To     string    `json:"to"`
	At     time.Time `json:"at"`
	Reason string    `json:"reason,omitempty"`
}

// Shipment is a delivery of the order with its carrier and tracking.
type Shipment struct {
	ID             string          `json:"id"`
	State          string          `json:"state"`
	Carrier        string          `json:"carrier,omitempty"`
	TrackingNumber string          `json:"tracking_number,omitempty"`
	ShippedAt      time.Time       `json:"shipped_at,omitzero" required:"false"`
	ScheduledAt    time.Time       `json:"scheduled_at,omitzero" required:"false"`
	Backorder      bool            `json:"backorder,omitempty"`
	Lines          []ShipmentLine  `json:"lines"`
	Events         []ShipmentEvent `json:"events"`
}

// ShipmentLine is a quantity of a product in a shipment.
type ShipmentLine struct {
	SKU      string `json:"sku"`
	Quantity string `json:"quantity" doc:"Quantity shipped (done); the demand while not shipped"`
	Done     bool   `json:"done"`
}

// ShipmentEvent is a tracking milestone.
type ShipmentEvent struct {
	Status string    `json:"status"`
	At     time.Time `json:"at"`
}

// ChangeRequest is a request to change or cancel an accepted order, and its decision: the ERP
// applied it (accepted) or it was refused, with the reason.
type ChangeRequest struct {
	ID        string             `json:"id"`
	Kind      string             `json:"kind" enum:"cancel,change"`
	State     string             `json:"state" enum:"requested,accepted,refused" doc:"requested until the ERP applied it (accepted) or it was refused"`
	Reason    string             `json:"reason,omitempty" doc:"Why it was refused; for an accepted change, the parts of it that were not applied"`
	Lines     []OrderLineRequest `json:"lines,omitempty" doc:"The lines asked for (kind change)"`
	CreatedAt time.Time          `json:"created_at"`
	DecidedAt time.Time          `json:"decided_at,omitzero" required:"false" doc:"When it was accepted or refused"`
}

type createOrderInput struct {
	AccountParam
	IdempotencyKey string `header:"Idempotency-Key" required:"true" minLength:"1" maxLength:"255" doc:"Unique per order; a retry with the same key and body returns the first result for 24 hours"`
	Body           OrderRequest
}

type orderOutput struct {
	Status   int
	Location string `header:"Location"`
	ETag     string `header:"ETag"`
	Replayed string `header:"Idempotent-Replayed"`
	Body     Order
}

func (s *Server) createOrder(ctx context.Context, in *createOrderInput) (*orderOutput, error) {
	p := principal(ctx)
	body, _ := json.Marshal(in.Body)
	sum := sha256.Sum256(append([]byte(p.Account+"\x00"), body...))
	rec := &store.Idempotency{KeyID: p.Key.ID, IdemKey: in.IdempotencyKey, BodyHash: hex.EncodeToString(sum[:]), Account: p.Account}
	prev, err := s.db.ClaimIdempotency(ctx, rec, s.now().Add(-s.cfg.IdempotencyTTL))
	if err != nil {
		return nil, fromErr(waybill.Unavailable(err, "claiming idempotency key"))
	}
	if prev != nil {
		return s.replay(ctx, p, prev, rec.BodyHash)
	}
	out, err := s.submit(ctx, p, in, body)
	if err != nil && waybill.Code(err) == waybill.EUNAVAILABLE {
		_ = s.db.ReleaseIdempotency(context.WithoutCancel(ctx), p.Key.ID, in.IdempotencyKey)
	}
	return out, err
}

// replay answers a request whose Idempotency-Key was seen before.
func (s *Server) replay(ctx context.Context, p *Principal, prev *store.Idempotency, hash string) (*orderOutput, error) {
	if prev.BodyHash != hash || prev.Account != p.Account {
		return nil, problem(http.StatusConflict, ProbIdempotencyConflict, "this Idempotency-Key was used with another request body")
	}
	if prev.Status != 0 {
		if prev.Status >= 400 {
			var em huma.ErrorModel
			if err := json.Unmarshal(prev.Response, &em); err != nil {
				return nil, fromErr(err)
			}
			return nil, &em
		}
		var o Order
		if err := json.Unmarshal(prev.Response, &o); err != nil {
			return nil, fromErr(err)
		}
		return &orderOutput{Status: prev.Status, Location: o.StatusURL, Replayed: "true", Body: o}, nil
	}
	if prev.CorrelationID == "" {
		return nil, problem(http.StatusConflict, ProbConflict, "a request with this Idempotency-Key is still being processed; retry shortly")
	}
	out, err := s.respond(ctx, p, prev.KeyID, prev.IdemKey, prev.CorrelationID, prev.MessageID, "")
	if out != nil {
		out.Replayed = "true"
	}
	return out, err
}

func (s *Server) submit(ctx context.Context, p *Principal, in *createOrderInput, body []byte) (*orderOutput, error) {
	env := envelope{Account: p.Account, KeyID: p.Key.ID, IdempotencyKey: in.IdempotencyKey, ReceivedAt: s.now(), Request: body}
	details, err := s.prevalidate(ctx, p.Account, &in.Body, &env)
	if err != nil {
		s.log.Info("order taken without pre-validation", "account", p.Account, "po_number", in.Body.PONumber, "error", err)
	}
	if len(details) > 0 {
		perr := problem(http.StatusUnprocessableEntity, ProbOrderRejected,
			fmt.Sprintf("order %s was rejected: %d line(s) cannot be accepted", in.Body.PONumber, len(details)), details...)
		s.finish(ctx, p.Key.ID, in.IdempotencyKey, http.StatusUnprocessableEntity, perr)
		s.auditRejected(ctx, p, &in.Body, details)
		return nil, perr
	}
	payload, _ := json.Marshal(env)
	rc, err := s.hub.Receive(ctx, waybill.InboundMessage{Channel: waybill.ChannelPortal, Partner: p.Key.Client, DocType: DocPortalOrder,
		TransportID: p.Key.ID + ":" + in.IdempotencyKey, ContentType: "application/json", Payload: payload,
		Meta: map[string]string{"account": p.Account, "key_id": p.Key.ID}})
	if err != nil {
		return nil, fromErr(err)
	}
	msgID, corr := rc.MessageID, rc.CorrelationID
	if rc.Duplicate {
		orig, err := s.db.Message(ctx, rc.DuplicateOf)
		if err != nil {
			return nil, fromErr(err)
		}
		msgID, corr = orig.ID, orig.CorrelationID
	}
	// The message is recorded on the idempotency key while the order is processed, not before:
	// the write does not depend on the order, and the answer still waits for it, so a replay
	// after any answer finds the message.
	recorded := make(chan struct{})
	go func() {
		defer close(recorded)
		if err := s.db.SetIdempotencyMessage(context.WithoutCancel(ctx), p.Key.ID, in.IdempotencyKey, msgID, corr); err != nil {
			s.log.Warn("recording idempotency message", "error", err, "correlation_id", corr)
		}
	}()
	defer func() { <-recorded }()
	return s.respond(ctx, p, p.Key.ID, in.IdempotencyKey, corr, msgID, in.Body.PONumber)
}

// respond waits (bounded) for the order of a received message to be decided and answers with it.
func (s *Server) respond(ctx context.Context, p *Principal, keyID, idemKey, corr, msgID, po string) (*orderOutput, error) {
	rec, msgState, err := s.awaitOrder(ctx, corr, msgID)
	if err != nil {
		return nil, fromErr(err)
	}
	if rec == nil {
		switch msgState {
		case store.MessageProcessed: // no order came out: a purchase order number seen before
			perr := problem(http.StatusConflict, ProbConflict, "this purchase order number was already received for the account")
			s.finish(ctx, keyID, idemKey, http.StatusConflict, perr)
			return nil, perr
		case store.MessageDead:
			perr := problem(http.StatusUnprocessableEntity, ProbOrderRejected, "the order could not be read")
			s.finish(ctx, keyID, idemKey, http.StatusUnprocessableEntity, perr)
			return nil, perr
		}
		// Stored, not yet processed: the order has no id yet; the list finds it by PO number.
		loc := "/v1/orders?po_number=" + url.QueryEscape(po)
		return &orderOutput{Status: http.StatusAccepted, Location: loc, Body: Order{State: string(waybill.OrderReceived), PONumber: po,
			StatusURL: loc, Account: p.Account, Channel: string(waybill.ChannelPortal), Lines: []OrderLine{}}}, nil
	}
	if rec.Order.Account != p.Account {
		return nil, notFound("order")
	}
	view := s.view(ctx, rec, true, false)
	out := &orderOutput{Location: view.StatusURL, ETag: orderETag(rec), Body: view}
	switch st := rec.Order.State; {
	case st == waybill.OrderRejected, st == waybill.OrderOnHold:
		name := ProbOrderRejected
		if st == waybill.OrderOnHold {
			name = ProbOrderOnHold
		}
		var details []*huma.ErrorDetail
		for _, r := range view.Reasons {
			details = append(details, &huma.ErrorDetail{Message: r, Location: "body"})
		}
		perr := problem(http.StatusUnprocessableEntity, name, fmt.Sprintf("order %s (%s) was not accepted: %s", rec.Order.ID,
			rec.Order.PONumber, strings.Join(view.Reasons, "; ")), details...)
		if st == waybill.OrderRejected {
			s.finish(ctx, keyID, idemKey, http.StatusUnprocessableEntity, perr)
		}
		s.publishRejected(ctx, rec, view)
		return nil, perr
	case st == waybill.OrderReceived, st == waybill.OrderValidated:
		out.Status = http.StatusAccepted // the ERP has not answered yet; the job keeps trying
	case st == waybill.OrderCancelled:
		out.Status = http.StatusOK
	default:
		out.Status = http.StatusCreated
		b, _ := json.Marshal(view)
		_ = s.db.FinishIdempotency(context.WithoutCancel(ctx), keyID, idemKey, out.Status, b)
	}
	return out, nil
}

func (s *Server) finish(ctx context.Context, keyID, idemKey string, status int, v any) {
	b, _ := json.Marshal(v)
	if err := s.db.FinishIdempotency(context.WithoutCancel(ctx), keyID, idemKey, status, b); err != nil {
		s.log.Warn("recording idempotent response", "error", err)
	}
}

// awaitOrder waits until the order made from a message is decided (accepted or beyond, rejected,
// on hold, cancelled) or OrderWait passes. It returns the order (nil when none was made yet or
// none will be) and the message's state.
func (s *Server) awaitOrder(ctx context.Context, corr, msgID string) (*store.OrderRecord, store.MessageState, error) {
	deadline := time.NewTimer(s.cfg.OrderWait)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond) // other replicas do not signal this one
	defer tick.Stop()
	sig := s.wait.listen(corr)
	defer s.wait.unlisten(corr, sig)
	for {
		gen := s.wait.generation()
		recs, err := s.db.OrdersByCorrelation(ctx, corr)
		if err != nil {
			return nil, "", err
		}
		var msgState store.MessageState
		if len(recs) > 0 {
			if decided(recs[0].Order.State) {
				return recs[0], "", nil
			}
		} else if msgID != "" {
			m, err := s.db.Message(ctx, msgID)
			if err != nil {
				return nil, "", err
			}
			msgState = m.State
			if msgState == store.MessageProcessed || msgState == store.MessageDead {
				// processed without an order: look once more, the order may have committed since
				if recs, err = s.db.OrdersByCorrelation(ctx, corr); err == nil && len(recs) > 0 {
					continue
				}
				return nil, msgState, nil
			}
		}
		select {
		case <-sig:
		case <-gen:
		case <-tick.C:
		case <-deadline.C:
			if len(recs) > 0 {
				return recs[0], "", nil
			}
			return nil, msgState, nil
		case <-ctx.Done():
			return nil, "", ctx.Err()
		}
	}
}

func decided(st waybill.OrderState) bool {
	return st != waybill.OrderReceived && st != waybill.OrderValidated
}

func orderETag(rec *store.OrderRecord) string { return `"v` + strconv.Itoa(rec.Version) + `"` }

// prevalidate checks the request against the account's catalog, prices, quantity rules and
// availability. It returns one detail per refused line (located at body.lines[i]...), and fills
// env with backorder quantities and catalog units. An error means the checks could not run (the
// ERP is unreachable and nothing is cached): the order is taken anyway and the ERP decides.
func (s *Server) prevalidate(ctx context.Context, account string, req *OrderRequest, env *envelope) ([]*huma.ErrorDetail, error) {
	var details []*huma.ErrorDetail
	add := func(i int, field, format string, args ...any) {
		details = append(details, &huma.ErrorDetail{Location: fmt.Sprintf("body.lines[%d].%s", i, field), Message: fmt.Sprintf(format, args...)})
	}
	seen := map[string]bool{}
	for i, l := range req.Lines {
		num := l.LineNumber
		if num == "" {
			num = strconv.Itoa(i + 1)
		}
		if seen[num] {
			add(i, "line_number", "line number %s appears twice", num)
		}
		seen[num] = true
	}
	ac, err := s.cat.catalog(ctx, account)
	if err != nil {
		var he huma.StatusError
		if errors.As(err, &he) && he.GetStatus() == http.StatusNotImplemented {
			return details, nil
		}
		return details, err
	}
	items := make([]waybill.CatalogItem, 0, len(req.Lines))
	idx := make([]int, 0, len(req.Lines))
	env.Backordered = map[string]string{}
	for i, l := range req.Lines {
		num := l.LineNumber
		if num == "" {
			num = strconv.Itoa(i + 1)
		}
		it, ok := ac.item(l.SKU)
		if !ok {
			add(i, "sku", "line %s: %s is not in the account's catalog", num, l.SKU)
			continue
		}
		qty, err := waybill.ParseDecimal(l.Quantity)
		if err != nil || qty.Sign() <= 0 {
			add(i, "quantity", "line %s: quantity must be a positive decimal", num)
			continue
		}
		switch {
		case !it.MinQty.IsZero() && qty.Cmp(it.MinQty) < 0:
			add(i, "quantity", "line %s: the minimum quantity of %s is %s", num, l.SKU, it.MinQty)
		case !it.MaxQty.IsZero() && qty.Cmp(it.MaxQty) > 0:
			add(i, "quantity", "line %s: the maximum quantity of %s is %s", num, l.SKU, it.MaxQty)
		case !it.Multiple.IsZero() && !qty.Div(it.Multiple).Round(0).Mul(it.Multiple).Sub(qty).IsZero():
			add(i, "quantity", "line %s: %s is sold in multiples of %s", num, l.SKU, it.Multiple)
		}
		if l.UnitPrice != "" {
			want, err := waybill.ParseDecimal(l.UnitPrice)
			if price, ok := it.PriceFor(qty); ok && (err != nil || want.Cmp(price.UnitPrice) != 0) {
				add(i, "unit_price", "line %s: the account's price of %s for %s is %s %s, not %s", num, l.SKU, qty, price.UnitPrice,
					price.Currency, l.UnitPrice)
			}
		}
		items, idx = append(items, it), append(idx, i)
	}
	if len(items) == 0 {
		return details, nil
	}
	pos, err := s.cat.availability(ctx, items, "")
	if err != nil {
		return details, err
	}
	allow := req.AllowBackorder == nil || *req.AllowBackorder
	for j, i := range idx {
		l := req.Lines[i]
		num := l.LineNumber
		if num == "" {
			num = strconv.Itoa(i + 1)
		}
		qty, _ := waybill.ParseDecimal(l.Quantity)
		free := pos[j].pos.FreeToPromise
		if free.Sign() < 0 {
			free = waybill.Zero
		}
		if qty.Cmp(free) > 0 {
			if !allow {
				add(i, "quantity", "line %s: only %s of %s available and backorders are not allowed", num, free, l.SKU)
				continue
			}
			env.Backordered[num] = qty.Sub(free).String()
		}
	}
	return details, nil
}

func (s *Server) auditRejected(ctx context.Context, p *Principal, req *OrderRequest, details []*huma.ErrorDetail) {
	msgs := make([]string, len(details))
	for i, d := range details {
		msgs[i] = d.Message
	}
	corr := store.NewID("cor")
	err := s.db.InTx(context.WithoutCancel(ctx), func(tx *store.Tx) error {
		if err := tx.Audit(ctx, store.AuditRecord{Kind: "portal.order.rejected", CorrelationID: corr, Partner: p.Key.Client,
			Subject: req.PONumber, Actor: "portal key " + p.Key.ID, Summary: "portal order refused before receipt: " + strings.Join(msgs, "; "),
			Detail: map[string]any{"account": p.Account, "reasons": msgs}, Refs: []string{req.PONumber}}); err != nil {
			return err
		}
		return s.Publish(ctx, tx, p.Account, EventOrderRejected, Rejection{PONumber: req.PONumber, State: string(waybill.OrderRejected), Reasons: msgs})
	})
	if err != nil {
		s.log.Warn("auditing a refused portal order", "error", err)
	}
}

// view renders an order. history adds its events and change requests; tracking asks the ERP for
// its deliveries.
func (s *Server) view(ctx context.Context, rec *store.OrderRecord, history, tracking bool) Order {
	o := rec.Order
	v := Order{ID: o.ID, PONumber: o.PONumber, Account: o.Account, Channel: string(o.Channel), State: string(o.State),
		StatusURL: "/v1/orders/" + o.ID, ERPOrder: o.ERP.Name, Currency: o.Currency, Lines: []OrderLine{},
		CreatedAt: rec.CreatedAt, UpdatedAt: rec.UpdatedAt}
	if v.Currency == "" {
		v.Currency = "USD"
	}
	var status *waybill.OrderStatus
	if tracking && !o.ERP.IsZero() {
		tctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		st, err := s.erp.OrderStatus(tctx, o.ERP)
		cancel()
		if err != nil {
			v.TrackingStale = true
		} else {
			status = &st
		}
	}
	accepted := o.State != waybill.OrderReceived && o.State != waybill.OrderValidated && o.State != waybill.OrderRejected &&
		o.State != waybill.OrderOnHold && !(o.State == waybill.OrderCancelled && o.ERP.IsZero())
	var total waybill.Decimal
	for i, l := range o.Lines {
		ol := OrderLine{LineNumber: l.Number, SKU: l.VendorItem, Quantity: l.Quantity.String(), UOM: l.UOM, Status: string(l.Status),
			Accepted: l.Qty.Accepted.String(), Backordered: "0", Shipped: l.Qty.Shipped.String()}
		if l.HasUnitPrice {
			ol.UnitPrice = l.UnitPrice.String()
		}
		if accepted && l.HasUnitPrice {
			sub := l.UnitPrice.Mul(l.Qty.Accepted).Round(2)
			ol.Subtotal = sub.StringFixed(2)
			total = total.Add(sub)
		}
		shipped := l.Qty.Shipped
		if status != nil && i < len(status.Lines) {
			shipped = status.Lines[i].Delivered
			ol.Shipped = shipped.String()
			if !status.Lines[i].PromisedDate.IsZero() {
				ol.PromisedDate = status.Lines[i].PromisedDate
			}
		}
		if accepted {
			bo := l.Qty.Backordered.Min(l.Qty.Accepted.Sub(shipped))
			if bo.Sign() > 0 {
				ol.Backordered = bo.String()
				if ol.Status == string(waybill.LineAccepted) {
					ol.Status = string(waybill.LineBackordered)
				}
			}
			if ol.PromisedDate.IsZero() {
				lead := s.cfg.LeadTime
				if l.Qty.Backordered.Sign() > 0 {
					lead = s.cfg.BackorderLeadTime
				}
				ol.PromisedDate = rec.CreatedAt.Add(lead).Truncate(24 * time.Hour)
			}
		}
		v.Lines = append(v.Lines, ol)
	}
	if accepted {
		v.Total = total.StringFixed(2)
	}
	if status != nil {
		v.Shipments = shipments(status)
	}
	if history || o.State == waybill.OrderRejected || o.State == waybill.OrderOnHold {
		evs, err := s.db.OrderEvents(ctx, o.ID)
		if err == nil {
			for _, e := range evs {
				if history {
					v.History = append(v.History, OrderEvent{From: string(e.From), To: string(e.To), At: e.At, Reason: e.Reason})
				}
			}
			if n := len(evs); n > 0 && (o.State == waybill.OrderRejected || o.State == waybill.OrderOnHold) && evs[n-1].Reason != "" {
				v.Reasons = strings.Split(evs[n-1].Reason, "; ")
			}
		}
	}
	if history {
		if crs, err := s.db.ChangeRequests(ctx, o.ID); err == nil {
			for _, c := range crs {
				v.ChangeRequests = append(v.ChangeRequests, viewChange(c))
			}
		}
	}
	return v
}

func shipments(st *waybill.OrderStatus) []Shipment {
	out := []Shipment{}
	for _, d := range st.Deliveries {
		if d.State == "cancel" {
			continue
		}
		sh := Shipment{ID: d.Ref.Name, State: d.State, Carrier: d.Carrier, TrackingNumber: d.TrackingRef, ShippedAt: d.DoneAt,
			ScheduledAt: d.Scheduled, Backorder: !d.BackorderOf.IsZero(), Lines: []ShipmentLine{}, Events: []ShipmentEvent{}}
		if sh.ID == "" {
			sh.ID = strconv.FormatInt(d.Ref.ID, 10)
		}
		for _, m := range d.Moves {
			q, done := m.Demand, d.State == "done"
			if done {
				q = m.Done
			}
			sh.Lines = append(sh.Lines, ShipmentLine{SKU: m.SKU, Quantity: q.String(), Done: done})
		}
		if !d.Scheduled.IsZero() {
			sh.Events = append(sh.Events, ShipmentEvent{Status: "scheduled", At: d.Scheduled})
		}
		if !d.DoneAt.IsZero() {
			sh.Events = append(sh.Events, ShipmentEvent{Status: "shipped", At: d.DoneAt})
		}
		out = append(out, sh)
	}
	return out
}

type listOrdersInput struct {
	AccountParam
	ListParams
	State    string `query:"state" enum:"received,validated,accepted,allocated,fulfilled,shipped,invoiced,closed,rejected,cancelled,on_hold," doc:"Only orders in this state"`
	PONumber string `query:"po_number" doc:"Only the order with this PO number"`
}

type listOrdersOutput struct {
	Body struct {
		Items []Order `json:"items"`
		Page
	}
}

func (s *Server) listOrders(ctx context.Context, in *listOrdersInput) (*listOrdersOutput, error) {
	p := principal(ctx)
	before, err := decodeCursor(in.Cursor)
	if err != nil {
		return nil, err
	}
	limit := in.Limit
	if limit <= 0 {
		limit = 50
	}
	recs, err := s.db.PortalOrders(ctx, store.PortalOrderFilter{Account: p.Account, State: waybill.OrderState(in.State),
		PONumber: in.PONumber, Before: before, Limit: limit + 1})
	if err != nil {
		return nil, fromErr(err)
	}
	out := &listOrdersOutput{}
	out.Body.Items = []Order{}
	for i, rec := range recs {
		if i == limit {
			out.Body.NextCursor = encodeCursor(recs[i-1].Order.ID)
			break
		}
		out.Body.Items = append(out.Body.Items, s.view(ctx, rec, false, false))
	}
	return out, nil
}

type orderIDInput struct {
	AccountParam
	ID string `path:"id" maxLength:"64"`
}

type getOrderOutput struct {
	ETag string `header:"ETag"`
	Body Order
}

// ownOrder loads an order of the caller's account; another account's order is not found.
func (s *Server) ownOrder(ctx context.Context, id string) (*store.OrderRecord, error) {
	p := principal(ctx)
	rec, err := s.db.Order(ctx, id)
	if err != nil || rec.Order.Account != p.Account {
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, fromErr(err)
		}
		return nil, notFound("order")
	}
	return rec, nil
}

func (s *Server) getOrder(ctx context.Context, in *orderIDInput) (*getOrderOutput, error) {
	rec, err := s.ownOrder(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	return &getOrderOutput{ETag: orderETag(rec), Body: s.view(ctx, rec, true, true)}, nil
}

type cancelOrderInput struct {
	AccountParam
	conditional.Params
	ID string `path:"id" maxLength:"64"`
}

// cancelOrder cancels an order not yet accepted, or files a cancellation request for an accepted
// one (202), which is applied through the ERP at once when it answers in time, and by the change
// worker otherwise (see change.go).
func (s *Server) cancelOrder(ctx context.Context, in *cancelOrderInput) (*orderOutput, error) {
	p := principal(ctx)
	rec, err := s.ownOrder(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	if in.HasConditionalParams() {
		if err := in.PreconditionFailed(strings.Trim(orderETag(rec), `"`), time.Time{}); err != nil {
			return nil, err
		}
	}
	status := http.StatusOK
	var cr *store.ChangeRequest
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		cr = nil
		cur, err := tx.Order(ctx, rec.Order.ID)
		if err != nil {
			return err
		}
		if cur.Version != rec.Version {
			return problem(http.StatusPreconditionFailed, ProbPrecondition, "the order changed meanwhile; read it again")
		}
		switch st := cur.Order.State; {
		case st == waybill.OrderReceived, st == waybill.OrderValidated, st == waybill.OrderOnHold:
			if _, err := tx.Transition(ctx, cur, waybill.OrderCancelled, waybill.OwnerHub, "portal", "cancelled by the customer"); err != nil {
				return err
			}
			rec = cur
			if err := tx.Audit(ctx, store.AuditRecord{Kind: "order.cancelled", CorrelationID: cur.Order.CorrelationID, Partner: cur.Order.Partner,
				Subject: cur.Order.ID, Actor: "portal key " + p.Key.ID, Summary: "cancelled by the customer before acceptance",
				Refs: []string{cur.Order.PONumber, cur.Order.ID}}); err != nil {
				return err
			}
			return s.Publish(ctx, tx, cur.Order.Account, EventOrderCancelled, s.view(ctx, cur, false, false))
		case st.Final():
			return problem(http.StatusConflict, ProbNotEditable, "the order is "+string(st)+" and can no longer be cancelled")
		default:
			status = http.StatusAccepted
			cr, err = s.fileChange(ctx, tx, p, cur.Order, changeCancel, "{}")
			return err
		}
	})
	if err != nil {
		var te *waybill.TransitionError
		if errors.As(err, &te) || errors.Is(err, store.ErrConflict) {
			return nil, problem(http.StatusConflict, ProbNotEditable, "the order changed meanwhile and can no longer be cancelled here")
		}
		return nil, fromErr(err)
	}
	if cr != nil {
		s.tryChange(ctx, cr)
	}
	rec, err = s.ownOrder(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	v := s.view(ctx, rec, true, false)
	return &orderOutput{Status: status, Location: v.StatusURL, ETag: orderETag(rec), Body: v}, nil
}

// Rejection is the data of an order.rejected event.
type Rejection struct {
	OrderID  string   `json:"order_id,omitempty" doc:"Absent when the order was refused before it was stored"`
	PONumber string   `json:"po_number"`
	State    string   `json:"state" doc:"rejected, or on_hold when a person reviews it"`
	Reasons  []string `json:"reasons"`
}

// publishRejected queues order.rejected once per order (the first request that sees the
// rejection or hold), recorded by an audit key so that a replayed request does not send it again.
func (s *Server) publishRejected(ctx context.Context, rec *store.OrderRecord, view Order) {
	o := rec.Order
	err := s.db.InTx(context.WithoutCancel(ctx), func(tx *store.Tx) error {
		prev, err := tx.ClaimBusinessKey(ctx, store.BusinessKey{Key: "portal-rejected:" + o.ID + ":" + string(o.State), Kind: "portal-event",
			OrderID: o.ID, CorrelationID: o.CorrelationID})
		if err != nil || prev != nil {
			return err
		}
		return s.Publish(ctx, tx, o.Account, EventOrderRejected, Rejection{OrderID: o.ID, PONumber: o.PONumber, State: string(o.State), Reasons: view.Reasons})
	})
	if err != nil {
		s.log.Warn("queueing order.rejected", "order", o.ID, "error", err)
	}
}
