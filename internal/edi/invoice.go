package edi

import (
	"fmt"
	"time"

	"github.com/waybill-hub/waybill"
)

// InvoiceDoc is the canonical document an 810 is rendered from: the ERP's posted invoice with its
// lines in the partner's item codes and units, and the totals in the implied-decimal form X12
// wants (TDS, SAC05). Its JSON form is what outbound 810 templates read; the invoice's own fields
// are at the top level.
type InvoiceDoc struct {
	*waybill.Invoice
	ERPOrder     string        `json:"erp_order,omitempty"`
	ShipDate     time.Time     `json:"ship_date,omitzero"`
	Lines        []InvoiceItem `json:"lines"`
	Charges      []ChargeItem  `json:"charges,omitempty"`
	TotalCents   string        `json:"total_cents"`   // TDS01
	UntaxedCents string        `json:"untaxed_cents"` // TDS02: amount subject to terms discount
}

// InvoiceItem is one invoiced order line as the partner knows it.
type InvoiceItem struct {
	waybill.InvoiceLine
}

// ChargeItem is a header charge or allowance with its X12 indicator (SAC01 C or A).
type ChargeItem struct {
	waybill.Charge
	Indicator   string `json:"indicator"`
	AmountCents string `json:"amount_cents"`
}

// cents writes d to two places without the decimal point (X12 N2), "-" first when negative.
func cents(d waybill.Decimal) string {
	return d.Round(2).MulInt(100).Round(0).StringFixed(0)
}

// BuildInvoice turns the ERP's posted invoice of order o into the canonical invoice and the 810
// document. Lines that bill an order line (by line number, else by SKU) keep the partner's item
// codes and units; other lines are header charges (or allowances when negative), such as freight.
// Amounts are the ERP's; CheckTotals is run by the caller (the 810 gate).
func BuildInvoice(o *waybill.Order, original []waybill.Line, inv waybill.ERPInvoice, shipDate time.Time) *InvoiceDoc {
	orig := map[string]waybill.Line{}
	for _, l := range original {
		orig[l.Number] = l
	}
	out := &waybill.Invoice{Partner: o.Partner, Account: o.Account, Number: inv.Number, InvoiceDate: inv.Date.UTC(),
		DueDate: inv.DueDate.UTC(), OrderID: o.ID, PONumber: o.PONumber, PODate: o.PODate, Currency: firstNonEmpty(inv.Currency, o.Currency),
		Terms: o.Terms, BillTo: o.BillTo, ShipTo: o.ShipTo, Untaxed: inv.Untaxed, TaxTotal: inv.Tax, Total: inv.Total,
		Residual: inv.Residual, PaymentState: inv.PaymentState, ERP: inv.Ref}
	if inv.DueDate.IsZero() {
		out.DueDate = time.Time{} // not the zero time's UTC form
	}
	doc := &InvoiceDoc{Invoice: out, ERPOrder: o.ERP.Name, ShipDate: shipDate, TotalCents: cents(inv.Total), UntaxedCents: cents(inv.Untaxed)}
	for _, il := range inv.Lines {
		l := o.LineByNumber(il.LineNumber)
		if l == nil && il.VendorItem != "" {
			for i := range o.Lines {
				if o.Lines[i].VendorItem == il.VendorItem || o.Lines[i].Product.Name == il.VendorItem {
					l = &o.Lines[i]
					break
				}
			}
		}
		if l == nil {
			c := waybill.Charge{Kind: waybill.KindCharge, Code: "ZZZZ", Description: firstNonEmpty(il.Description, il.VendorItem), Amount: il.Amount}
			ind := "C"
			if il.Amount.Sign() < 0 {
				c.Kind, c.Amount, ind = waybill.KindAllowance, il.Amount.Neg(), "A"
			}
			out.Charges = append(out.Charges, c)
			doc.Charges = append(doc.Charges, ChargeItem{Charge: c, Indicator: ind, AmountCents: cents(c.Amount)})
			continue
		}
		line := il
		line.LineNumber = l.Number
		if ol, ok := orig[l.Number]; ok {
			line.BuyerItem, line.VendorItem, line.GTIN, line.UOM = ol.BuyerItem, ol.VendorItem, ol.GTIN, ol.UOM
		} else {
			line.BuyerItem, line.VendorItem, line.GTIN = l.BuyerItem, firstNonEmpty(l.VendorItem, il.VendorItem), l.GTIN
			line.UOM = firstNonEmpty(l.UOM, il.UOM)
		}
		out.Lines = append(out.Lines, line)
		doc.Lines = append(doc.Lines, InvoiceItem{InvoiceLine: line})
	}
	if !inv.Tax.IsZero() {
		out.Taxes = []waybill.Tax{{Code: "ST", Name: "sales tax", Amount: inv.Tax, Base: inv.Untaxed}}
	}
	return doc
}

// checkInvoice is the 810 gate on the document itself: its lines, charges and taxes add up to the
// ERP's totals to the cent, and it bills something.
func checkInvoice(doc *InvoiceDoc) error {
	if len(doc.Lines) == 0 {
		return fmt.Errorf("invoice %s bills no line of order %s", doc.Number, doc.PONumber)
	}
	return doc.Invoice.CheckTotals()
}
