package odoosim

import (
	"fmt"
	"time"

	"github.com/shopspring/decimal"
)

func (s *Server) accountMoveModel() *modelDef {
	m := newModel("account.move", "Journal Entry")
	m.order = "date desc, name desc, id desc"
	m.notify = true
	amount := func(which string) func(e *env, r record) any {
		return func(e *env, r record) any {
			untaxed, tax := e.moveAmounts(r["id"].(int))
			switch which {
			case "untaxed":
				return round2(untaxed)
			case "tax":
				return round2(tax)
			case "residual":
				total := untaxed.Add(tax)
				if asString(r["state"]) != "posted" {
					return round2(total)
				}
				return round2(total.Sub(dec(asFloat(r["__paid"]))))
			}
			return round2(untaxed.Add(tax))
		}
	}
	m.add(
		char("name").str("Number").defaultValue("/"),
		selection("move_type", "entry", "out_invoice", "out_refund", "in_invoice", "in_refund").str("Type").defaultValue("entry"),
		m2o("partner_id", "res.partner"), m2o("partner_shipping_id", "res.partner").str("Delivery Address"),
		date("invoice_date").str("Invoice/Bill Date"), date("invoice_date_due").str("Due Date"),
		date("date").withDefault(func(e *env) any { return formatDate(e.now) }),
		selection("state", "draft", "posted", "cancel").str("Status").defaultValue("draft"),
		selection("payment_state", "not_paid", "in_payment", "paid", "partial", "reversed", "invoicing_legacy").defaultValue("not_paid"),
		monetary("amount_untaxed").computed(amount("untaxed")).str("Untaxed Amount"),
		monetary("amount_tax").computed(amount("tax")).str("Tax"),
		monetary("amount_total").computed(amount("total")).str("Total"),
		monetary("amount_residual").computed(amount("residual")).str("Amount Due"),
		char("invoice_origin").str("Origin"), char("ref").str("Reference"), char("payment_reference"),
		o2m("invoice_line_ids", "account.move.line", "move_id").str("Invoice lines"),
		o2m("line_ids", "account.move.line", "move_id").str("Journal Items"),
		m2o("journal_id", "account.journal").withDefault(func(e *env) any { return 1 }),
		m2o("currency_id", "res.currency").defaultValue(1), m2o("company_id", "res.company").defaultValue(1),
		m2o("invoice_user_id", "res.users").str("Salesperson"), text("narration").str("Terms and Conditions"),
		m2o("invoice_payment_term_id", "account.payment.term"),
		m2o("reversed_entry_id", "account.move").str("Reversal of"),
		o2m("reversal_move_ids", "account.move", "reversed_entry_id").str("Reversal Move"),
	)
	m.fields["__paid"] = &field{name: "__paid", kind: tFloat}
	m.readGroups = accountReaders
	m.writeGroups = accountReaders
	m.beforeCreate = func(e *env, vals map[string]any) error {
		if _, ok := vals["journal_id"]; !ok {
			switch asString(vals["move_type"]) {
			case "in_invoice", "in_refund":
				vals["journal_id"] = 2
			}
		}
		return nil
	}
	m.displayName = func(e *env, r record) string {
		if name := asString(r["name"]); name != "" && name != "/" {
			return name
		}
		return fmt.Sprintf("Draft Invoice (* %d)", r["id"])
	}
	m.beforeUnlink = func(e *env, ids []int) error {
		for _, id := range ids {
			if asString(e.rec("account.move", id)["state"]) == "posted" {
				return userError("You cannot delete an entry which has been posted once.")
			}
		}
		return nil
	}
	m.recordAction("action_post", func(c *call) (any, error) {
		for _, id := range c.ids {
			mv := c.rec("account.move", id)
			if asString(mv["state"]) == "posted" {
				return nil, userError("The entry %s (id %d) is already posted.", asString(mv["name"]), id)
			}
			if len(c.children("account.move.line", "move_id", id)) == 0 {
				return nil, userError("You need to add a line before posting.")
			}
		}
		for _, id := range c.ids {
			c.post(id)
		}
		return false, nil
	})
	m.recordAction("button_draft", func(c *call) (any, error) {
		for _, id := range c.ids {
			mv := c.mut("account.move", id)
			if asFloat(mv["__paid"]) > 0 {
				return nil, userError("You cannot reset to draft an entry having a reconciled payment.")
			}
			mv["state"] = "draft"
			c.touch("account.move", id)
			c.touchInvoiceOrders(id)
		}
		return false, nil
	})
	m.recordAction("button_cancel", func(c *call) (any, error) {
		for _, id := range c.ids {
			mv := c.mut("account.move", id)
			if asString(mv["state"]) != "draft" {
				return nil, userError("Only draft journal entries can be cancelled.")
			}
			mv["state"] = "cancel"
			c.touch("account.move", id)
			c.touchInvoiceOrders(id)
		}
		return false, nil
	})
	return m
}

// moveAmounts sums an invoice's lines.
func (e *env) moveAmounts(id int) (untaxed, tax decimal.Decimal) {
	for _, lid := range e.children("account.move.line", "move_id", id) {
		l := e.rec("account.move.line", lid)
		st, tx := e.lineAmounts(asFloat(l["quantity"]), asFloat(l["price_unit"]), asFloat(l["discount"]), ids(l["tax_ids"]))
		untaxed, tax = untaxed.Add(st), tax.Add(tx)
	}
	return untaxed, tax
}

// post posts an invoice: it gets its number (INV/2026/00001), its date and
// due date (immediate payment).
func (e *env) post(id int) {
	mv := e.mut("account.move", id)
	if !truthy(mv["invoice_date"]) && asString(mv["move_type"]) != "entry" {
		mv["invoice_date"] = formatDate(e.now)
	}
	if !truthy(mv["invoice_date_due"]) || truthy(mv["invoice_payment_term_id"]) {
		// The due date follows the payment terms (immediate without).
		days := 0
		if pt := e.rec("account.payment.term", intOf(mv["invoice_payment_term_id"])); pt != nil {
			days = intOf(pt["__days"])
		}
		if t, err := time.Parse(dateFormat, asString(mv["invoice_date"])); err == nil {
			mv["invoice_date_due"] = formatDate(t.AddDate(0, 0, days))
		}
	}
	if d := asString(mv["invoice_date"]); d != "" {
		mv["date"] = d
	}
	if asString(mv["name"]) == "/" || !truthy(mv["name"]) {
		journal := e.rec("account.journal", intOf(mv["journal_id"]))
		code := asString(journal["code"])
		if asString(mv["move_type"]) == "out_refund" {
			code = "R" + code
		}
		year := e.now.UTC().Year()
		if t, err := time.Parse(dateFormat, asString(mv["date"])); err == nil {
			year = t.Year()
		}
		mv["name"] = fmt.Sprintf("%s/%d/%05d", code, year, e.nextSeq(fmt.Sprintf("move.%s.%d", code, year)))
	}
	if !truthy(mv["payment_reference"]) && asString(mv["move_type"]) == "out_invoice" {
		mv["payment_reference"] = mv["name"]
	}
	mv["state"] = "posted"
	mv["payment_state"] = "not_paid"
	e.touch("account.move", id)
	e.touchInvoiceOrders(id)
}

// touchInvoiceOrders marks the sale orders of an invoice as changed.
func (e *env) touchInvoiceOrders(moveID int) {
	for _, lid := range e.children("account.move.line", "move_id", moveID) {
		for _, sl := range ids(e.rec("account.move.line", lid)["sale_line_ids"]) {
			if l := e.rec("sale.order.line", sl); l != nil {
				e.touch("sale.order", intOf(l["order_id"]))
			}
		}
	}
}

func (s *Server) accountMoveLineModel() *modelDef {
	m := newModel("account.move.line", "Journal Item")
	m.order = "move_id, sequence, id"
	amount := func(which string) func(e *env, r record) any {
		return func(e *env, r record) any {
			st, tx := e.lineAmounts(asFloat(r["quantity"]), asFloat(r["price_unit"]), asFloat(r["discount"]), ids(r["tax_ids"]))
			if which == "subtotal" {
				return round2(st)
			}
			return round2(st.Add(tx))
		}
	}
	m.add(m2o("move_id", "account.move").req().str("Journal Entry"), integer("sequence").defaultValue(10),
		m2o("product_id", "product.product"), char("name").str("Label"), float("quantity").defaultValue(1.0),
		float("price_unit").str("Unit Price"), float("discount").str("Discount (%)"), m2m("tax_ids", "account.tax").str("Taxes"),
		monetary("price_subtotal").computed(amount("subtotal")).str("Subtotal"),
		monetary("price_total").computed(amount("total")).str("Total"),
		m2m("sale_line_ids", "sale.order.line").str("Sales Order Lines"), m2o("purchase_line_id", "purchase.order.line"),
		m2o("product_uom_id", "uom.uom").str("Unit"),
		selection("display_type", "product", "line_section", "line_note", "tax", "payment_term").defaultValue("product"),
		m2o("currency_id", "res.currency").defaultValue(1), m2o("partner_id", "res.partner"))
	m.readGroups = accountReaders
	m.writeGroups = accountReaders
	return m
}

func (s *Server) paymentModel() *modelDef {
	m := newModel("account.payment", "Payments")
	states := []string{"draft", "in_process", "paid", "canceled", "rejected"}
	if s.major == 17 {
		states = []string{"draft", "posted", "cancel"}
	}
	memo := "memo"
	if s.major == 17 {
		memo = "ref"
	}
	m.add(char("name").defaultValue("/"), monetary("amount"), m2o("partner_id", "res.partner"),
		selection("payment_type", "outbound", "inbound").defaultValue("inbound"),
		selection("partner_type", "customer", "supplier").defaultValue("customer"),
		date("date").withDefault(func(e *env) any { return formatDate(e.now) }), m2o("journal_id", "account.journal").defaultValue(3),
		selection("state", states...).defaultValue("draft"), char(memo), m2m("reconciled_invoice_ids", "account.move").str("Reconciled Invoices"),
		m2o("currency_id", "res.currency").defaultValue(1))
	m.readGroups = accountReaders
	m.writeGroups = accountReaders
	return m
}

func (s *Server) paymentRegisterModel() *modelDef {
	m := newModel("account.payment.register", "Pay")
	m.transient = true
	m.add(monetary("amount").withDefault(func(e *env) any {
		total := 0.0
		for _, id := range e.wizardInvoices() {
			if mv := e.rec("account.move", id); mv != nil {
				total += asFloat(e.get(e.s.models["account.move"], mv, "amount_residual"))
			}
		}
		return total
	}), date("payment_date").withDefault(func(e *env) any { return formatDate(e.now) }),
		m2o("journal_id", "account.journal").defaultValue(3), char("communication").str("Memo"),
		boolean("group_payment"),
		m2m("line_ids", "account.move.line").withDefault(func(e *env) any {
			var out []int
			for _, id := range e.wizardInvoices() {
				out = append(out, e.children("account.move.line", "move_id", id)...)
			}
			return out
		}).str("Journal items"))
	m.readGroups = accountReaders
	m.writeGroups = accountReaders
	m.recordAction("action_create_payments", createPayments)
	return m
}

// wizardInvoices returns the invoices a wizard was opened on.
func (e *env) wizardInvoices() []int {
	if asString(e.ctx["active_model"]) != "account.move" {
		return nil
	}
	ids, _ := asIDs(e.ctx["active_ids"])
	return ids
}

// createPayments is account.payment.register.action_create_payments: one
// payment per invoice, reconciled at once; the invoice becomes paid (or
// partial when the amount is lower than what is due).
func createPayments(c *call) (any, error) {
	am := c.s.models["account.move"]
	var payments []int
	for _, wid := range c.ids {
		w := c.rec(c.m.name, wid)
		var moves []int
		for _, lid := range ids(w["line_ids"]) {
			if l := c.rec("account.move.line", lid); l != nil && !containsInt(moves, intOf(l["move_id"])) {
				moves = append(moves, intOf(l["move_id"]))
			}
		}
		if len(moves) == 0 {
			moves = c.wizardInvoices()
		}
		if len(moves) == 0 {
			return nil, userError("You can't open the register payment wizard without at least one receivable/payable line.")
		}
		left := dec(asFloat(w["amount"]))
		for i, mid := range moves {
			mv := c.rec("account.move", mid)
			if mv == nil {
				return nil, missingError("account.move", []int{mid}, c.uid)
			}
			if asString(mv["state"]) != "posted" {
				return nil, userError("You can only register payment for posted journal entries.")
			}
			due := dec(asFloat(c.get(am, mv, "amount_residual")))
			pay := due
			if len(moves) == 1 || i == len(moves)-1 {
				pay = decimal.Min(left, due)
				if len(moves) == 1 {
					pay = left
				}
			}
			if !pay.IsPositive() {
				continue
			}
			left = left.Sub(pay)
			sub := *c.env
			sub.uid = 1
			sub.ctx = map[string]any{}
			state := "paid"
			if c.s.major == 17 {
				state = "posted"
			}
			journal := c.rec("account.journal", intOf(w["journal_id"]))
			name := fmt.Sprintf("P%s/%d/%05d", asString(journal["code"]), c.now.UTC().Year(), c.nextSeq("payment."+asString(journal["code"])))
			memoField := "memo"
			if c.s.major == 17 {
				memoField = "ref"
			}
			pid, err := sub.create(c.s.models["account.payment"], map[string]any{
				"name": name, "amount": floatOf(pay), "partner_id": mv["partner_id"], "date": w["payment_date"],
				"journal_id": w["journal_id"], "state": state, memoField: firstNonEmpty(asString(w["communication"]), asString(mv["name"])),
				"reconciled_invoice_ids": []any{[]any{6, 0, []any{mid}}},
			})
			if err != nil {
				return nil, err
			}
			payments = append(payments, pid)
			r := c.mut("account.move", mid)
			r["__paid"] = round2(dec(asFloat(r["__paid"])).Add(pay))
			if dec(asFloat(c.get(am, r, "amount_residual"))).Abs().LessThan(decimal.New(5, -3)) {
				r["payment_state"] = "paid"
			} else {
				r["payment_state"] = "partial"
			}
			c.touch("account.move", mid)
		}
	}
	action := map[string]any{"name": "Payments", "type": "ir.actions.act_window", "res_model": "account.payment", "context": map[string]any{"create": false}}
	if len(payments) == 1 {
		action["view_mode"] = "form"
		action["res_id"] = payments[0]
	} else {
		action["view_mode"] = "list,form"
		action["domain"] = []any{[]any{"id", "in", intsToAny(payments)}}
	}
	return action, nil
}

func firstNonEmpty(a ...string) string {
	for _, s := range a {
		if s != "" {
			return s
		}
	}
	return ""
}
