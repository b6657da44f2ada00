package odoo

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/odoo/odoosim"
)

// The conformance suite runs the distribution flow and every error class against the simulator
// (each supported version and protocol) or, when WAYBILL_ODOO_URL is set, against that real
// Odoo, unchanged. What it asserts holds for real Odoo 17, 18 and 19.

type target struct {
	version string
	proto   Protocol
}

func targets() []target {
	if cfg, ok := realOdoo(); ok {
		return []target{{"", cfg.Protocol}}
	}
	return []target{
		{"19.0", ProtocolJSON2}, {"19.0", ProtocolJSONRPC}, {"19.0", ProtocolXMLRPC},
		{"18.0", ProtocolJSONRPC}, {"18.0", ProtocolXMLRPC},
		{"17.0", ProtocolJSONRPC}, {"17.0", ProtocolXMLRPC},
	}
}

func (tg target) name() string {
	if tg.version == "" {
		return "real-" + string(tg.proto)
	}
	return tg.version + "-" + string(tg.proto)
}

func TestConformanceFlow(t *testing.T) {
	t.Parallel()
	for _, tg := range targets() {
		t.Run(tg.name(), func(t *testing.T) {
			t.Parallel()
			runFlow(t, setup(t, tg.version, tg.proto))
		})
	}
}

func runFlow(t *testing.T, b *bundle) {
	start := time.Now().Add(-2 * time.Minute)
	if tg := b.cfg.Protocol; tg != "" && tg != ProtocolAuto {
		eq(t, "protocol", b.c.Protocol(), tg)
	}

	// Customer with a GLN and a delivery address with the partner's store code.
	gln := "59" + b.uniq + "1"
	cust := map[string]any{"name": "Waybill Customer " + b.uniq, "is_company": true, "ref": "WBC-" + b.uniq}
	hasGLN, err := b.c.hasField(b.ctx, "res.partner", b.c.cfg.GLNField)
	b.must(err)
	if hasGLN {
		cust[b.c.cfg.GLNField] = gln
	}
	custID := b.create("res.partner", cust, nil)
	shipID := b.create("res.partner", map[string]any{"name": "Store 12", "parent_id": custID, "type": "delivery", "ref": "ST12-" + b.uniq}, nil)

	// A customer pricelist: a fixed price for A, 10 % off B, a quantity break for A at 10.
	pl := b.create("product.pricelist", map[string]any{"name": "Waybill PL " + b.uniq}, nil)
	pa, pb, pc := b.product("A", 12.5, 6), b.product("B", 20, 9), b.product("C", 7.25, 3)
	b.create("product.pricelist.item", map[string]any{"pricelist_id": pl, "applied_on": "0_product_variant", "product_id": pa.ID, "compute_price": "fixed", "fixed_price": 11.0}, nil)
	b.create("product.pricelist.item", map[string]any{"pricelist_id": pl, "applied_on": "0_product_variant", "product_id": pa.ID, "compute_price": "fixed", "fixed_price": 10.0, "min_quantity": 10}, nil)
	tmpl, err := b.c.read(b.ctx, "product.product", []int64{pb.ID}, []string{"product_tmpl_id"}, nil)
	b.must(err)
	b.create("product.pricelist.item", map[string]any{"pricelist_id": pl, "applied_on": "1_product", "product_tmpl_id": tmpl[0].M2O("product_tmpl_id", "").ID, "compute_price": "percentage", "percent_price": 10}, nil)
	b.must(b.c.Write(b.ctx, "res.partner", []int64{custID}, map[string]any{"property_product_pricelist": pl}))

	// Stock on hand.
	_, stockLoc, whCode := b.warehouse()
	for _, p := range []waybill.ERPRef{pa, pb, pc} {
		b.setStock(p, stockLoc, 100)
	}

	t.Run("master data", func(t *testing.T) {
		b := b.with(t)
		cu, err := b.c.FindCustomer(b.ctx, waybill.PartyKey{Ref: "WBC-" + b.uniq})
		b.must(err)
		eq(t, "customer id", cu.Ref.ID, custID)
		eq(t, "customer pricelist", cu.Pricelist.ID, pl)
		if hasGLN {
			cg, err := b.c.FindCustomer(b.ctx, waybill.PartyKey{GLN: gln})
			b.must(err)
			eq(t, "customer by GLN", cg.Ref.ID, custID)
		}
		_, err = b.c.FindCustomer(b.ctx, waybill.PartyKey{Ref: "WBC-none-" + b.uniq})
		wantCode(t, "unknown customer", err, waybill.ENOTFOUND)
		addr, err := b.c.FindAddress(b.ctx, cu.Ref, waybill.PartyKey{Code: "ST12-" + b.uniq})
		b.must(err)
		eq(t, "address id", addr.ID, shipID)

		res, err := b.c.FindProducts(b.ctx, []waybill.ProductKey{
			{SKU: "WB-" + b.uniq + "-A"}, {GTIN: "0" + b.barcode("B")}, {SKU: "WB-" + b.uniq + "-none"}, {CustomerItem: "X1"},
		})
		b.must(err)
		eq(t, "product by SKU", res[0].Product.Ref.ID, pa.ID)
		eq(t, "storable", res[0].Product.Storable, true)
		eq(t, "list price", res[0].Product.ListPrice, dec("12.5"))
		eq(t, "product by GTIN-14", res[1].Product.Ref.ID, pb.ID)
		wantCode(t, "unknown SKU", res[2].Err, waybill.ENOTFOUND)
		wantCode(t, "customer item", res[3].Err, waybill.ENOTFOUND)

		for _, wh := range []string{"", whCode} {
			pos, err := b.c.Stock(b.ctx, []waybill.ERPRef{pa, pb}, wh)
			b.must(err)
			if len(pos) != 2 {
				t.Fatalf("Stock returned %d positions", len(pos))
			}
			eq(t, "on hand", pos[0].OnHand, dec("100"))
			eq(t, "free to promise", pos[0].FreeToPromise, dec("100"))
			eq(t, "forecast", pos[1].Forecast, dec("100"))
		}
	})

	t.Run("prices match Odoo's sale order lines", func(t *testing.T) {
		b := b.with(t)
		reqs := []waybill.PriceRequest{
			{Product: pa, Quantity: dec("1")}, {Product: pa, Quantity: dec("10")},
			{Product: pb, Quantity: dec("2")}, {Product: pc, Quantity: dec("1")},
		}
		prices, err := b.c.Prices(b.ctx, waybill.ERPRef{ID: custID}, reqs)
		b.must(err)
		for i, want := range []string{"11", "10", "18", "7.25"} {
			b.must(prices[i].Err)
			eq(t, "price "+reqs[i].Product.Name+" x"+reqs[i].Quantity.String(), prices[i].Price.UnitPrice, dec(want))
		}
		// The proof: a quotation Odoo prices itself (no price_unit) for this customer.
		draft := waybill.OrderDraft{HubRef: "price-" + b.uniq, PONumber: "PRICE-" + b.uniq, Customer: waybill.ERPRef{ID: custID}}
		for _, r := range reqs {
			draft.Lines = append(draft.Lines, waybill.DraftLine{Product: r.Product, Quantity: r.Quantity})
		}
		res, err := b.c.CreateOrders(b.ctx, []waybill.OrderDraft{draft})
		b.must(err)
		b.must(res[0].Err)
		ls := b.searchRead("sale.order.line", []any{[]any{"order_id", "=", res[0].Order.ID}}, []string{"price_unit", "discount", "product_id", "product_uom_qty"}, map[string]any{"order": "sequence, id"})
		if len(ls) != len(reqs) {
			t.Fatalf("quotation has %d lines", len(ls))
		}
		hundred := dec("100")
		for i, l := range ls {
			net := l.Dec("price_unit").Mul(hundred.Sub(l.Dec("discount"))).Div(hundred).Round(2)
			eq(t, "Odoo's net price of line "+itoa(int64(i+1)), net, prices[i].Price.UnitPrice)
		}
		b.must(b.c.CancelOrder(b.ctx, res[0].Order))
		st, err := b.c.OrderStatus(b.ctx, res[0].Order)
		b.must(err)
		eq(t, "cancelled quotation state", st.State, "cancel")
	})

	// Two orders, created twice: the second call finds them.
	drafts := []waybill.OrderDraft{
		{HubRef: "o1-" + b.uniq, PONumber: "PO-" + b.uniq + "-1", Customer: waybill.ERPRef{ID: custID}, ShipTo: waybill.ERPRef{ID: shipID},
			Lines: []waybill.DraftLine{{LineNumber: "1", Product: pa, Quantity: dec("5")}, {LineNumber: "2", Product: pb, Quantity: dec("3")}, {LineNumber: "3", Product: pc, Quantity: dec("2"), Price: ptr(dec("7"))}}},
		{HubRef: "o2-" + b.uniq, PONumber: "PO-" + b.uniq + "-2", Customer: waybill.ERPRef{ID: custID},
			Lines: []waybill.DraftLine{{LineNumber: "1", Product: pa, Quantity: dec("1")}}},
	}
	created, err := b.c.CreateOrders(b.ctx, drafts)
	b.must(err)
	for _, r := range created {
		b.must(r.Err)
		eq(t, "created", r.Created, true)
	}
	again, err := b.c.CreateOrders(b.ctx, drafts)
	b.must(err)
	for i, r := range again {
		b.must(r.Err)
		eq(t, "created again", r.Created, false)
		eq(t, "same order", r.Order.ID, created[i].Order.ID)
	}
	o1, o2 := created[0].Order, created[1].Order

	conf, err := b.c.ConfirmOrders(b.ctx, []waybill.ERPRef{o1, o2})
	b.must(err)
	for _, cf := range conf {
		b.must(cf.Err)
		eq(t, "state", cf.State, "sale")
	}
	if len(conf[0].Lines) != 3 {
		t.Fatalf("order 1 has %d lines", len(conf[0].Lines))
	}
	eq(t, "line 1 price", conf[0].Lines[0].UnitPrice, dec("11"))
	eq(t, "line 2 net subtotal", conf[0].Lines[1].Subtotal, dec("54"))
	eq(t, "line 3 given price", conf[0].Lines[2].UnitPrice, dec("7"))
	eq(t, "untaxed", conf[0].Untaxed, dec("123"))
	eq(t, "total", conf[0].Total, conf[0].Untaxed.Add(conf[0].Tax))
	reconf, err := b.c.ConfirmOrders(b.ctx, []waybill.ERPRef{o1})
	b.must(err)
	b.must(reconf[0].Err)
	eq(t, "confirming again", reconf[0].State, "sale")

	st, err := b.c.OrderStatus(b.ctx, o1)
	b.must(err)
	eq(t, "hub ref", st.HubRef, "o1-"+b.uniq)
	eq(t, "PO", st.PONumber, "PO-"+b.uniq+"-1")
	if len(st.Deliveries) != 1 {
		t.Fatalf("%d deliveries after confirmation", len(st.Deliveries))
	}
	pick := st.Deliveries[0]
	eq(t, "delivery state", pick.State, "assigned")

	// Partial delivery: A in full, 1 of 3 B, 1 of 2 C; the rest goes to a backorder.
	eq(t, "backorder wizard", b.deliver(pick.Ref.ID, map[int64]float64{pa.ID: 5, pb.ID: 1, pc.ID: 1}), true)
	hasTracking, err := b.c.hasField(b.ctx, "stock.picking", "carrier_tracking_ref")
	b.must(err)
	if hasTracking {
		b.must(b.c.Write(b.ctx, "stock.picking", []int64{pick.Ref.ID}, map[string]any{"carrier_tracking_ref": "1Z" + b.uniq}))
	}
	st, err = b.c.OrderStatus(b.ctx, o1)
	b.must(err)
	eq(t, "delivery status", st.DeliveryStatus, "partial")
	if len(st.Deliveries) != 2 {
		t.Fatalf("%d deliveries after a partial one", len(st.Deliveries))
	}
	var done, back waybill.Delivery
	for _, d := range st.Deliveries {
		if d.Ref.ID == pick.Ref.ID {
			done = d
		} else {
			back = d
		}
	}
	eq(t, "first delivery state", done.State, "done")
	if done.DoneAt.IsZero() {
		t.Error("done delivery has no date")
	}
	if hasTracking {
		eq(t, "tracking ref", done.TrackingRef, "1Z"+b.uniq)
	}
	eq(t, "backorder of", back.BackorderOf.ID, pick.Ref.ID)
	doneQty := map[int64]waybill.Decimal{}
	for _, m := range done.Moves {
		doneQty[m.Product.ID] = doneQty[m.Product.ID].Add(m.Done)
	}
	eq(t, "B delivered first", doneQty[pb.ID], dec("1"))
	eq(t, "line B delivered", st.Lines[1].Delivered, dec("1"))

	// The rest.
	eq(t, "wizard on full delivery", b.deliver(back.Ref.ID, nil), false)
	st, err = b.c.OrderStatus(b.ctx, o1)
	b.must(err)
	eq(t, "delivery status", st.DeliveryStatus, "full")
	for i, l := range st.Lines {
		eq(t, "line "+itoa(int64(i+1))+" delivered", l.Delivered, l.Quantity)
	}
	eq(t, "invoice status", st.InvoiceStatus, "to invoice")

	// Invoice, post, pay.
	invs := b.invoice(o1.ID)
	if len(invs) != 1 {
		t.Fatalf("%d invoices", len(invs))
	}
	st, err = b.c.OrderStatus(b.ctx, o1)
	b.must(err)
	eq(t, "draft invoice state", st.Invoices[0].State, "draft")
	b.call("account.move", "action_post", []any{[]any{invs[0]}}, nil)
	st, err = b.c.OrderStatus(b.ctx, o1)
	b.must(err)
	inv := st.Invoices[0]
	eq(t, "invoice state", inv.State, "posted")
	eq(t, "payment state", inv.PaymentState, waybill.PaymentNotPaid)
	if inv.Number == "" || inv.Number == "/" {
		t.Errorf("posted invoice number %q", inv.Number)
	}
	eq(t, "invoice untaxed", inv.Untaxed, dec("123"))
	eq(t, "invoice residual", inv.Residual, inv.Total)
	eq(t, "invoice lines", len(inv.Lines), 3)
	eq(t, "invoice status", st.InvoiceStatus, "invoiced")
	b.pay(invs[0])
	st, err = b.c.OrderStatus(b.ctx, o1)
	b.must(err)
	if ps := st.Invoices[0].PaymentState; ps != waybill.PaymentPaid && ps != waybill.PaymentInPayment {
		t.Errorf("payment state after payment %q", ps)
	}
	eq(t, "residual after payment", st.Invoices[0].Residual, waybill.Zero)

	t.Run("statuses in one read", func(t *testing.T) {
		b := b.with(t)
		missing := waybill.ERPRef{Model: "sale.order", ID: 1 << 40}
		sts, err := b.c.OrderStatuses(b.ctx, []waybill.ERPRef{o2, missing, o1})
		b.must(err)
		eq(t, "results", len(sts), 3)
		for i, ref := range []waybill.ERPRef{o2, o1} {
			one, err := b.c.OrderStatus(b.ctx, ref)
			b.must(err)
			got := sts[2*i]
			if got.Err != nil {
				t.Fatalf("order %d: %v", ref.ID, got.Err)
			}
			want, _ := json.Marshal(one)
			have, _ := json.Marshal(got.OrderStatus)
			if string(want) != string(have) {
				t.Errorf("order %d read together:\n%s\nread alone:\n%s", ref.ID, have, want)
			}
		}
		eq(t, "missing order", waybill.Code(sts[1].Err), waybill.ENOTFOUND)
	})

	t.Run("changes", func(t *testing.T) {
		b := b.with(t)
		cursor := ChangeCursorAt(start)
		seen := map[waybill.ChangeKind]map[int64]waybill.Change{}
		for i := 0; i < 100; i++ {
			chs, next, err := b.c.Changes(b.ctx, cursor, 20)
			b.must(err)
			for _, ch := range chs {
				if seen[ch.Kind] == nil {
					seen[ch.Kind] = map[int64]waybill.Change{}
				}
				seen[ch.Kind][ch.Ref.ID] = ch
			}
			cursor = next
			if len(chs) == 0 {
				break
			}
		}
		eq(t, "order change hub ref", seen[waybill.ChangeOrder][o1.ID].HubRef, "o1-"+b.uniq)
		eq(t, "order 2 changed", seen[waybill.ChangeOrder][o2.ID].Ref.ID, o2.ID)
		for _, d := range []waybill.Delivery{done, back} {
			ch := seen[waybill.ChangeDelivery][d.Ref.ID]
			eq(t, "delivery change order", ch.Order.ID, o1.ID)
			eq(t, "delivery change hub ref", ch.HubRef, "o1-"+b.uniq)
		}
		ch := seen[waybill.ChangeInvoice][invs[0]]
		eq(t, "invoice change order", ch.Order.ID, o1.ID)
		eq(t, "invoice change hub ref", ch.HubRef, "o1-"+b.uniq)
		// Nothing changed since: the next poll returns nothing new.
		chs, _, err := b.c.Changes(b.ctx, cursor, 20)
		b.must(err)
		for _, ch := range chs {
			if ch.HubRef == "o1-"+b.uniq || ch.HubRef == "o2-"+b.uniq {
				t.Errorf("change returned again: %+v", ch)
			}
		}
	})

	t.Run("errors", func(t *testing.T) {
		b := b.with(t)
		// Private method.
		_, err := b.c.Call(b.ctx, "sale.order", "_create_invoices", []any{[]any{o2.ID}}, nil)
		wantCode(t, "private method", err, waybill.EFORBIDDEN)
		// Missing record.
		_, err = b.c.OrderStatus(b.ctx, waybill.ERPRef{ID: 999999999})
		wantCode(t, "missing order", err, waybill.ENOTFOUND)
		// (read drops missing ids silently in real Odoo; a method that touches the record raises MissingError.)
		_, err = b.c.Method(b.ctx, "sale.order", "action_confirm", []int64{999999999}, nil)
		wantCode(t, "missing record", err, waybill.ENOTFOUND)
		cf, err := b.c.ConfirmOrders(b.ctx, []waybill.ERPRef{o2, {ID: 999999999}})
		b.must(err)
		if cf[0].Err != nil || cf[0].State != "sale" {
			t.Errorf("confirmed order beside a missing one: %+v", cf[0])
		}
		wantCode(t, "missing order in a batch", cf[1].Err, waybill.ENOTFOUND)
		// ValidationError: a contact needs a name.
		_, err = b.c.Create(b.ctx, "res.partner", []map[string]any{{"email": "x@example.com"}}, nil)
		wantCode(t, "contact without a name", err, waybill.EREJECTED)
		var oe *Error
		if errors.As(err, &oe) && oe.Message == "" {
			t.Error("validation error without Odoo's message")
		}
		// UserError: Odoo refuses to confirm an order twice ("... not in a state requiring
		// confirmation"); ConfirmOrders hides it, a direct call does not.
		_, err = b.c.Method(b.ctx, "sale.order", "action_confirm", []int64{o2.ID}, nil)
		wantCode(t, "confirming a confirmed order", err, waybill.EREJECTED)
		if errors.As(err, &oe) && !strings.Contains(oe.Message, "confirm") {
			t.Errorf("UserError message %q is not Odoo's", oe.Message)
		}
		// UserError: a confirmed order cannot be deleted.
		_, err = b.c.Call(b.ctx, "sale.order", "unlink", []any{[]any{o2.ID}}, nil)
		wantCode(t, "deleting a confirmed order", err, waybill.EREJECTED)
		// A bad draft in a batch fails alone.
		bad := waybill.OrderDraft{HubRef: "bad-" + b.uniq, PONumber: "BAD", Customer: waybill.ERPRef{ID: custID}, Lines: []waybill.DraftLine{{Product: waybill.ERPRef{ID: 999999999}, Quantity: dec("1")}}}
		good := waybill.OrderDraft{HubRef: "good-" + b.uniq, PONumber: "GOOD", Customer: waybill.ERPRef{ID: custID}, Lines: []waybill.DraftLine{{Product: pc, Quantity: dec("1")}}}
		res, err := b.c.CreateOrders(b.ctx, []waybill.OrderDraft{bad, good})
		b.must(err)
		if res[0].Err == nil || res[1].Err != nil || !res[1].Created {
			t.Errorf("bad+good batch: %+v", res)
		}
		// Units: an X12 code Odoo knows by another name is mapped; an unknown one is refused.
		dz := waybill.OrderDraft{HubRef: "dz-" + b.uniq, PONumber: "DZ", Customer: waybill.ERPRef{ID: custID}, Lines: []waybill.DraftLine{{LineNumber: "1", Product: pc, Quantity: dec("2"), UOM: "DZ"}}}
		cs := waybill.OrderDraft{HubRef: "cs-" + b.uniq, PONumber: "CS", Customer: waybill.ERPRef{ID: custID}, Lines: []waybill.DraftLine{{LineNumber: "1", Product: pc, Quantity: dec("2"), UOM: "XX"}}}
		res, err = b.c.CreateOrders(b.ctx, []waybill.OrderDraft{dz, cs})
		b.must(err)
		b.must(res[0].Err)
		wantCode(t, "unknown unit", res[1].Err, waybill.EINVALID)
		ls := b.searchRead("sale.order.line", []any{[]any{"order_id", "=", res[0].Order.ID}}, []string{b.c.SaleLineUOMField()}, nil)
		eq(t, "line unit", ls[0].M2O(b.c.SaleLineUOMField(), "").Name, "Dozens")
		// Bad key.
		cfg := b.cfg
		cfg.APIKey = "wrong-key"
		_, err = New(b.ctx, cfg)
		wantCode(t, "bad key", err, waybill.EUNAUTHORIZED)
	})
}

func ptr[T any](v T) *T { return &v }

// clearFaults clears the faults a test set.
func clearFaults(f *odoosim.Faults) { f.Reset() }

// TestConformanceForbidden checks that a user without sales rights gets EFORBIDDEN.
func TestConformanceForbidden(t *testing.T) {
	t.Parallel()
	if _, ok := realOdoo(); ok {
		t.Skip("needs a second, unprivileged user: run against the simulator")
	}
	for _, tg := range targets() {
		t.Run(tg.name(), func(t *testing.T) {
			t.Parallel()
			b := setup(t, tg.version, tg.proto)
			b.sim.AddUser("clerk", "clerk", "sim-clerk-key")
			cfg := b.cfg
			cfg.User, cfg.APIKey = "clerk", "sim-clerk-key"
			c, err := New(b.ctx, cfg)
			b.must(err)
			_, err = c.CreateOrders(b.ctx, []waybill.OrderDraft{{HubRef: "x", Customer: waybill.ERPRef{ID: 1}, Lines: []waybill.DraftLine{{Product: waybill.ERPRef{ID: 1}, Quantity: dec("1")}}}})
			wantCode(t, "create without rights", err, waybill.EFORBIDDEN)
			cust := b.create("res.partner", map[string]any{"name": "Rights " + b.uniq}, nil)
			so := b.create("sale.order", map[string]any{"partner_id": cust}, nil)
			_, err = c.OrderStatus(b.ctx, waybill.ERPRef{ID: so})
			wantCode(t, "read without rights", err, waybill.EFORBIDDEN)
		})
	}
}

// TestConformanceTransient injects faults into the simulator: each transient class is
// EUNAVAILABLE, retried where safe, and the breaker opens and closes.
func TestConformanceTransient(t *testing.T) {
	t.Parallel()
	if _, ok := realOdoo(); ok {
		t.Skip("fault injection needs the simulator")
	}
	// Faults are handled by the transport, not by version: one version per protocol.
	for _, tg := range []target{{"19.0", ProtocolJSON2}, {"19.0", ProtocolJSONRPC}, {"18.0", ProtocolXMLRPC}} {
		t.Run(tg.name(), func(t *testing.T) {
			t.Parallel()
			b := setup(t, tg.version, tg.proto)
			f := b.sim.Faults()
			search := func() error {
				_, err := b.c.Call(b.ctx, "res.partner", "search_count", []any{[]any{}}, nil)
				return err
			}
			for _, status := range []int{500, 502, 503, 429} {
				f.FailNext(1, status)
				if err := search(); err != nil {
					t.Errorf("read after one %d not retried: %v", status, err)
				}
			}
			f.FailNext(5, 503)
			wantCode(t, "persistent 503", search(), waybill.EUNAVAILABLE)
			clearFaults(f)
			f.DropNext(1, false)
			if err := search(); err != nil {
				t.Errorf("read after a dropped connection not retried: %v", err)
			}
			f.SerializationFailNext(1)
			if _, err := b.c.Create(b.ctx, "res.partner", []map[string]any{{"name": "Serial " + b.uniq}}, nil); err != nil {
				t.Errorf("create after a serialization failure not retried: %v", err)
			}
			f.SerializationFailNext(5)
			_, err := b.c.Create(b.ctx, "res.partner", []map[string]any{{"name": "Serial " + b.uniq}}, nil)
			wantCode(t, "persistent serialization failure", err, waybill.EUNAVAILABLE)
			clearFaults(f)

			// A create whose reply is lost after Odoo committed: EUNAVAILABLE, and the retry
			// finds the order instead of making a second one.
			cust := b.create("res.partner", map[string]any{"name": "Drop " + b.uniq, "is_company": true}, nil)
			prod := b.product("D", 5, 2)
			draft := waybill.OrderDraft{HubRef: "drop-" + b.uniq, PONumber: "DROP", Customer: waybill.ERPRef{ID: cust}, Lines: []waybill.DraftLine{{Product: prod, Quantity: dec("1")}}}
			before := b.sim.Stats().ByMethod["sale.order.create"]
			f.DropNext(1, true)
			// the search goes first: let it through, drop the create
			res, err := b.c.CreateOrders(b.ctx, []waybill.OrderDraft{draft})
			b.must(err)
			if res[0].Err == nil { // the drop hit the search, which was retried; drop the create now
				t.Log("drop hit the search")
			} else {
				wantCode(t, "lost create reply", res[0].Err, waybill.EUNAVAILABLE)
				res, err = b.c.CreateOrders(b.ctx, []waybill.OrderDraft{draft})
				b.must(err)
				b.must(res[0].Err)
				eq(t, "found after the lost reply", res[0].Created, false)
			}
			eq(t, "sale.order.create calls", b.sim.Stats().ByMethod["sale.order.create"]-before, 1)

			// Time-out.
			f.SetLatency(300 * time.Millisecond)
			cfg := b.cfg
			cfg.Timeout, cfg.MaxRetries, cfg.Version = 50*time.Millisecond, -1, b.c.Version()
			slow, err := New(b.ctx, cfg)
			b.must(err)
			_, err = slow.Call(b.ctx, "res.partner", "search_count", []any{[]any{}}, nil)
			wantCode(t, "time-out", err, waybill.EUNAVAILABLE)
			clearFaults(f)

			// Down: the breaker opens, calls fail fast, then it closes on recovery.
			cfg = b.cfg
			cfg.Version, cfg.MaxRetries, cfg.Breaker = b.c.Version(), -1, BreakerConfig{Failures: 2, Cooldown: 50 * time.Millisecond}
			br, err := New(b.ctx, cfg)
			b.must(err)
			f.Down()
			for i := 0; i < 2; i++ {
				_, err = br.Call(b.ctx, "res.partner", "search_count", []any{[]any{}}, nil)
				wantCode(t, "down", err, waybill.EUNAVAILABLE)
			}
			eq(t, "breaker", br.BreakerState(), BreakerOpen)
			calls := b.sim.Stats().Calls
			_, err = br.Call(b.ctx, "res.partner", "search_count", []any{[]any{}}, nil)
			if !errors.Is(err, ErrBreakerOpen) || waybill.Code(err) != waybill.EUNAVAILABLE {
				t.Errorf("open breaker: %v", err)
			}
			eq(t, "calls reaching Odoo while open", b.sim.Stats().Calls, calls)
			f.Up()
			deadline := time.Now().Add(5 * time.Second)
			for {
				_, err = br.Call(b.ctx, "res.partner", "search_count", []any{[]any{}}, nil)
				if err == nil || time.Now().After(deadline) {
					break
				}
				var oe *Error
				if errors.As(err, &oe) && oe.RetryAfter > 0 {
					time.Sleep(oe.RetryAfter) // the wait the breaker asks for
				}
			}
			b.must(err)
			eq(t, "breaker after recovery", br.BreakerState(), BreakerClosed)
		})
	}
}

// TestConformancePurchase creates a purchase order twice (found the second time) and confirms it.
func TestConformancePurchase(t *testing.T) {
	t.Parallel()
	for _, tg := range targets() {
		t.Run(tg.name(), func(t *testing.T) {
			t.Parallel()
			b := setup(t, tg.version, tg.proto)
			vendor := b.create("res.partner", map[string]any{"name": "Waybill Vendor " + b.uniq, "is_company": true}, nil)
			p := b.product("P", 10, 4)
			d := PurchaseDraft{HubRef: "po-" + b.uniq, Vendor: waybill.ERPRef{ID: vendor}, VendorRef: "V-" + b.uniq,
				Lines: []PurchaseLine{{Product: p, Quantity: dec("12"), Price: ptr(dec("4"))}}}
			first, err := b.c.CreatePurchaseOrders(b.ctx, []PurchaseDraft{d})
			b.must(err)
			b.must(first[0].Err)
			again, err := b.c.CreatePurchaseOrders(b.ctx, []PurchaseDraft{d})
			b.must(err)
			eq(t, "found again", again[0].Created, false)
			eq(t, "same purchase order", again[0].Order.ID, first[0].Order.ID)
			conf, err := b.c.ConfirmPurchaseOrders(b.ctx, []waybill.ERPRef{first[0].Order})
			b.must(err)
			b.must(conf[0].Err)
			eq(t, "purchase state", conf[0].State, "purchase")
			eq(t, "purchase untaxed", conf[0].Untaxed, dec("48"))
		})
	}
}

// TestConformanceAutoProtocol: with protocol auto, Odoo 19 and an API key mean JSON-2; older
// versions JSON-RPC. The version is detected.
func TestConformanceAutoProtocol(t *testing.T) {
	t.Parallel()
	if _, ok := realOdoo(); ok {
		t.Skip("the simulator's versions are enumerated here")
	}
	for _, tt := range []struct {
		version string
		want    Protocol
	}{{"17.0", ProtocolJSONRPC}, {"18.0", ProtocolJSONRPC}, {"19.0", ProtocolJSON2}} {
		b := setup(t, tt.version, ProtocolAuto)
		eq(t, tt.version+" version", b.c.Version(), tt.version)
		eq(t, tt.version+" protocol", b.c.Protocol(), tt.want)
		eq(t, tt.version+" storable", len(b.c.StorableProductVals()), map[bool]int{true: 1, false: 2}[tt.version == "17.0"])
	}
}
