package waybill

import "time"

// PaymentState is the ERP's payment state of an invoice (Odoo's payment_state values).
type PaymentState string

const (
	PaymentNotPaid   PaymentState = "not_paid"
	PaymentPartial   PaymentState = "partial"
	PaymentInPayment PaymentState = "in_payment"
	PaymentPaid      PaymentState = "paid"
	PaymentReversed  PaymentState = "reversed"
)

// Invoice is a posted customer invoice, built from what was shipped and invoiced in the ERP.
// Its amounts are the ERP's, to the cent; the hub never recomputes tax.
type Invoice struct {
	ID           string        `json:"id,omitempty"`
	Partner      string        `json:"partner,omitempty"`
	Account      string        `json:"account,omitempty"`
	Number       string        `json:"number"`
	InvoiceDate  time.Time     `json:"invoice_date"`
	DueDate      time.Time     `json:"due_date,omitzero"`
	OrderID      string        `json:"order_id,omitempty"`
	PONumber     string        `json:"po_number,omitempty"`
	PODate       time.Time     `json:"po_date,omitzero"`
	ShipmentIDs  []string      `json:"shipment_ids,omitempty"`
	Currency     string        `json:"currency"`
	Terms        Terms         `json:"terms,omitzero"`
	BillTo       Party         `json:"bill_to,omitzero"`
	ShipTo       Party         `json:"ship_to,omitzero"`
	RemitTo      Party         `json:"remit_to,omitzero"`
	Lines        []InvoiceLine `json:"lines"`
	Charges      []Charge      `json:"charges,omitempty"`
	Taxes        []Tax         `json:"taxes,omitempty"`
	Untaxed      Decimal       `json:"untaxed"`
	TaxTotal     Decimal       `json:"tax_total"`
	Total        Decimal       `json:"total"`
	Residual     Decimal       `json:"residual"`
	PaymentState PaymentState  `json:"payment_state,omitempty"`
	ERP          ERPRef        `json:"erp,omitzero"`
}

// InvoiceLine is one invoiced line, tied back to the order line it bills.
type InvoiceLine struct {
	LineNumber  string   `json:"line_number"`
	VendorItem  string   `json:"vendor_item,omitempty"`
	BuyerItem   string   `json:"buyer_item,omitempty"`
	GTIN        string   `json:"gtin,omitempty"`
	Description string   `json:"description,omitempty"`
	Quantity    Decimal  `json:"quantity"`
	UOM         string   `json:"uom"`
	UnitPrice   Decimal  `json:"unit_price"`
	Amount      Decimal  `json:"amount"` // untaxed line amount, as the ERP computed it
	Charges     []Charge `json:"charges,omitempty"`
}

// Tax is one tax on an invoice, summed over its lines.
type Tax struct {
	Code   string  `json:"code,omitempty"` // X12 TXI01 (ST sales tax, VA VAT, ...)
	Name   string  `json:"name,omitempty"`
	Rate   Decimal `json:"rate,omitzero"` // percent
	Base   Decimal `json:"base,omitzero"`
	Amount Decimal `json:"amount"`
}

// CheckTotals verifies that the lines, charges and taxes add up to the stated totals, to the cent.
// Renderers call it so that a document that does not balance is never sent.
func (inv *Invoice) CheckTotals() error {
	var untaxed Decimal
	for _, l := range inv.Lines {
		untaxed = untaxed.Add(l.Amount)
		for _, c := range l.Charges {
			untaxed = untaxed.Add(c.Signed())
		}
	}
	for _, c := range inv.Charges {
		untaxed = untaxed.Add(c.Signed())
	}
	var tax Decimal
	for _, t := range inv.Taxes {
		tax = tax.Add(t.Amount)
	}
	switch {
	case untaxed.Round(2) != inv.Untaxed.Round(2):
		return Errorf(EINVALID, "invoice_totals", "invoice %s: lines and charges add up to %s, untaxed total says %s", inv.Number, untaxed.StringFixed(2), inv.Untaxed.StringFixed(2))
	case tax.Round(2) != inv.TaxTotal.Round(2):
		return Errorf(EINVALID, "invoice_totals", "invoice %s: taxes add up to %s, tax total says %s", inv.Number, tax.StringFixed(2), inv.TaxTotal.StringFixed(2))
	case inv.Untaxed.Add(inv.TaxTotal).Round(2) != inv.Total.Round(2):
		return Errorf(EINVALID, "invoice_totals", "invoice %s: untaxed %s + tax %s is not the total %s", inv.Number, inv.Untaxed.StringFixed(2), inv.TaxTotal.StringFixed(2), inv.Total.StringFixed(2))
	}
	return nil
}
