package csvfeed

import (
	"io"
	"strconv"
	"time"

	"github.com/waybill-hub/waybill"
)

type invoiceRow struct {
	I waybill.Invoice
	L waybill.InvoiceLine
}

var invoiceFields = index(concat([]field[invoiceRow]{
	textF("invoice_number", false, func(r *invoiceRow) *string { return &r.I.Number }),
	dateF("invoice_date", false, func(r *invoiceRow) *time.Time { return &r.I.InvoiceDate }),
	dateF("due_date", false, func(r *invoiceRow) *time.Time { return &r.I.DueDate }),
	textF("account", false, func(r *invoiceRow) *string { return &r.I.Account }),
	textF("order_id", false, func(r *invoiceRow) *string { return &r.I.OrderID }),
	textF("po_number", false, func(r *invoiceRow) *string { return &r.I.PONumber }),
	dateF("po_date", false, func(r *invoiceRow) *time.Time { return &r.I.PODate }),
	listF("shipment_ids", false, " ", func(r *invoiceRow) *[]string { return &r.I.ShipmentIDs }),
	textF("currency", false, func(r *invoiceRow) *string { return &r.I.Currency }),
	decF("untaxed", false, false, func(r *invoiceRow) *waybill.Decimal { return &r.I.Untaxed }),
	decF("tax_total", false, false, func(r *invoiceRow) *waybill.Decimal { return &r.I.TaxTotal }),
	decF("total", false, false, func(r *invoiceRow) *waybill.Decimal { return &r.I.Total }),
	decF("residual", false, false, func(r *invoiceRow) *waybill.Decimal { return &r.I.Residual }),
	textF("payment_state", false, func(r *invoiceRow) *string { return (*string)(&r.I.PaymentState) }),

	textF("line.number", true, func(r *invoiceRow) *string { return &r.L.LineNumber }),
	textF("line.vendor_item", true, func(r *invoiceRow) *string { return &r.L.VendorItem }),
	textF("line.buyer_item", true, func(r *invoiceRow) *string { return &r.L.BuyerItem }),
	textF("line.gtin", true, func(r *invoiceRow) *string { return &r.L.GTIN }),
	textF("line.description", true, func(r *invoiceRow) *string { return &r.L.Description }),
	decF("line.quantity", true, false, func(r *invoiceRow) *waybill.Decimal { return &r.L.Quantity }),
	textF("line.uom", true, func(r *invoiceRow) *string { return &r.L.UOM }),
	decF("line.unit_price", true, false, func(r *invoiceRow) *waybill.Decimal { return &r.L.UnitPrice }),
	decF("line.amount", true, false, func(r *invoiceRow) *waybill.Decimal { return &r.L.Amount }),
},
	termsF(func(r *invoiceRow) *waybill.Terms { return &r.I.Terms }),
	partyF("bill_to", func(r *invoiceRow) *waybill.Party { return &r.I.BillTo }),
	partyF("ship_to", func(r *invoiceRow) *waybill.Party { return &r.I.ShipTo }),
	partyF("remit_to", func(r *invoiceRow) *waybill.Party { return &r.I.RemitTo }),
))

var invoiceCodec = &codec[waybill.Invoice, invoiceRow]{
	doc:    DocInvoice,
	fields: invoiceFields,
	header: func(r *invoiceRow) *waybill.Invoice { return &r.I },
	add: func(inv *waybill.Invoice, r *invoiceRow) (string, string) {
		l := r.L
		if l.LineNumber == "" {
			l.LineNumber = strconv.Itoa(len(inv.Lines) + 1)
		} else {
			for _, o := range inv.Lines {
				if o.LineNumber == l.LineNumber {
					return "line.number", "line " + l.LineNumber + " appears twice in invoice " + inv.Number
				}
			}
		}
		inv.Lines = append(inv.Lines, l)
		return "", ""
	},
	rows: func(inv *waybill.Invoice) []invoiceRow {
		h := *inv
		h.Lines = nil
		if len(inv.Lines) == 0 {
			return []invoiceRow{{I: h}}
		}
		rows := make([]invoiceRow, len(inv.Lines))
		for i, l := range inv.Lines {
			rows[i] = invoiceRow{I: h, L: l}
		}
		return rows
	},
	finish: func(inv *waybill.Invoice, m *Mapping) {
		if m.Partner != "" {
			inv.Partner = m.Partner
		}
		setRole(&inv.BillTo, waybill.RoleBillTo)
		setRole(&inv.ShipTo, waybill.RoleShipTo)
		setRole(&inv.RemitTo, waybill.RoleRemitTo)
	},
}

// DecodeInvoices reads invoices with mapping m (Document "invoice"), one row per invoice line,
// grouped by the key field (default invoice_number). Taxes and charges are not carried by the CSV
// layout; the totals columns are read as stated. Results and errors are as for DecodeOrders.
func DecodeInvoices(r io.Reader, m *Mapping) ([]waybill.Invoice, []RowError, error) {
	return decode(r, m, invoiceCodec)
}

// EncodeInvoices writes invoices with mapping m: one row per invoice line, invoice fields (totals
// included) repeated on each row.
func EncodeInvoices(w io.Writer, m *Mapping, invoices []waybill.Invoice) error {
	return encode(w, m, invoiceCodec, invoices)
}
