package portal

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/waybill-hub/waybill"
)

// Invoice is a posted invoice with its payment state.
type Invoice struct {
	ID           string        `json:"id" doc:"The invoice's id in URLs"`
	Number       string        `json:"number"`
	State        string        `json:"state"`
	PaymentState string        `json:"payment_state" enum:"not_paid,partial,in_payment,paid,reversed,"`
	Date         time.Time     `json:"date,omitzero" required:"false"`
	DueDate      time.Time     `json:"due_date,omitzero" required:"false"`
	Currency     string        `json:"currency"`
	Untaxed      string        `json:"untaxed"`
	Tax          string        `json:"tax"`
	Total        string        `json:"total"`
	Residual     string        `json:"residual" doc:"Amount still to pay"`
	Lines        []InvoiceLine `json:"lines,omitempty"`
}

// InvoiceLine is one invoiced line.
type InvoiceLine struct {
	LineNumber  string `json:"line_number,omitempty"`
	SKU         string `json:"sku,omitempty"`
	Description string `json:"description,omitempty"`
	Quantity    string `json:"quantity"`
	UOM         string `json:"uom,omitempty"`
	UnitPrice   string `json:"unit_price"`
	Amount      string `json:"amount"`
}

func viewInvoice(inv waybill.ERPInvoice, lines bool) Invoice {
	v := Invoice{ID: strconv.FormatInt(inv.Ref.ID, 10), Number: inv.Number, State: inv.State, PaymentState: string(inv.PaymentState), Date: inv.Date, DueDate: inv.DueDate,
		Currency: inv.Currency, Untaxed: inv.Untaxed.StringFixed(2), Tax: inv.Tax.StringFixed(2), Total: inv.Total.StringFixed(2),
		Residual: inv.Residual.StringFixed(2)}
	if lines {
		v.Lines = []InvoiceLine{}
		for _, l := range inv.Lines {
			v.Lines = append(v.Lines, InvoiceLine{LineNumber: l.LineNumber, SKU: l.VendorItem, Description: l.Description,
				Quantity: l.Quantity.String(), UOM: l.UOM, UnitPrice: l.UnitPrice.String(), Amount: l.Amount.StringFixed(2)})
		}
	}
	return v
}

func (s *Server) billing(ctx context.Context) (waybill.Billing, waybill.Customer, error) {
	b, ok := s.erp.(waybill.Billing)
	if !ok {
		return nil, waybill.Customer{}, problem(http.StatusNotImplemented, ProbNotImplemented, "the ERP offers no invoices")
	}
	cu, err := s.cat.customer(ctx, principal(ctx).Account)
	if err != nil {
		return nil, cu, fromErr(err)
	}
	return b, cu, nil
}

type listInvoicesInput struct {
	AccountParam
	ListParams
	PaymentState string `query:"payment_state" enum:"not_paid,partial,in_payment,paid,reversed," doc:"Only invoices in this payment state"`
}

type listInvoicesOutput struct {
	Body struct {
		Items []Invoice `json:"items"`
		Page
	}
}

func (s *Server) listInvoices(ctx context.Context, in *listInvoicesInput) (*listInvoicesOutput, error) {
	b, cu, err := s.billing(ctx)
	if err != nil {
		return nil, err
	}
	invs, err := b.CustomerInvoices(ctx, cu.Ref)
	if err != nil {
		return nil, fromErr(err)
	}
	c, err := decodeCursor(in.Cursor)
	if err != nil {
		return nil, err
	}
	start, _ := strconv.Atoi(c)
	limit := in.Limit
	if limit <= 0 {
		limit = 50
	}
	out := &listInvoicesOutput{}
	out.Body.Items = []Invoice{}
	n := 0
	for i, inv := range invs {
		if in.PaymentState != "" && string(inv.PaymentState) != in.PaymentState {
			continue
		}
		if n < start {
			n++
			continue
		}
		if len(out.Body.Items) == limit {
			out.Body.NextCursor = encodeCursor(strconv.Itoa(n))
			break
		}
		_ = i
		n++
		out.Body.Items = append(out.Body.Items, viewInvoice(inv, false))
	}
	return out, nil
}

type invoiceInput struct {
	AccountParam
	ID string `path:"id" maxLength:"64" doc:"The invoice's id (not its number, which may hold slashes)"`
}

type invoiceOutput struct {
	Body Invoice
}

func (s *Server) getInvoice(ctx context.Context, in *invoiceInput) (*invoiceOutput, error) {
	b, cu, err := s.billing(ctx)
	if err != nil {
		return nil, err
	}
	invs, err := b.CustomerInvoices(ctx, cu.Ref)
	if err != nil {
		return nil, fromErr(err)
	}
	for _, inv := range invs {
		if strconv.FormatInt(inv.Ref.ID, 10) == in.ID {
			return &invoiceOutput{Body: viewInvoice(inv, true)}, nil
		}
	}
	return nil, notFound("invoice")
}

// Statement is the account's open items, ageing, balance, terms and credit.
type Statement struct {
	Account         string    `json:"account"`
	Currency        string    `json:"currency"`
	PaymentTerms    string    `json:"payment_terms,omitempty"`
	NetDays         int       `json:"net_days,omitempty"`
	CreditLimit     string    `json:"credit_limit" doc:"0 when the ERP sets no limit"`
	Balance         string    `json:"balance"`
	RemainingCredit string    `json:"remaining_credit,omitempty" doc:"Credit limit less balance; absent without a limit"`
	Overdue         string    `json:"overdue"`
	Ageing          Ageing    `json:"ageing"`
	OpenItems       []Invoice `json:"open_items"`
	AsOf            time.Time `json:"as_of"`
}

// Ageing buckets the open balance by days past due.
type Ageing struct {
	Current string `json:"current"`
	Days30  string `json:"days_1_30"`
	Days60  string `json:"days_31_60"`
	Days90  string `json:"days_61_90"`
	Over90  string `json:"over_90"`
}

type statementOutput struct {
	Body Statement
}

func (s *Server) statement(ctx context.Context, in *struct{ AccountParam }) (*statementOutput, error) {
	b, cu, err := s.billing(ctx)
	if err != nil {
		return nil, err
	}
	st, err := b.Statement(ctx, cu.Ref)
	if err != nil {
		return nil, fromErr(err)
	}
	asOf := st.AsOf
	if asOf.IsZero() {
		asOf = s.now()
	}
	var buckets [5]waybill.Decimal
	var overdue, balance waybill.Decimal
	v := Statement{Account: principal(ctx).Account, Currency: st.Currency, PaymentTerms: st.Terms.Description, NetDays: st.Terms.NetDays,
		CreditLimit: st.CreditLimit.StringFixed(2), OpenItems: []Invoice{}, AsOf: asOf}
	for _, inv := range st.OpenItems {
		balance = balance.Add(inv.Residual)
		days := 0
		if !inv.DueDate.IsZero() {
			days = int(asOf.Sub(inv.DueDate).Hours() / 24)
		}
		i := 0
		switch {
		case days <= 0:
		case days <= 30:
			i = 1
		case days <= 60:
			i = 2
		case days <= 90:
			i = 3
		default:
			i = 4
		}
		buckets[i] = buckets[i].Add(inv.Residual)
		if i > 0 {
			overdue = overdue.Add(inv.Residual)
		}
		v.OpenItems = append(v.OpenItems, viewInvoice(inv, false))
	}
	if !st.Balance.IsZero() {
		balance = st.Balance
	}
	v.Balance, v.Overdue = balance.StringFixed(2), overdue.StringFixed(2)
	v.Ageing = Ageing{buckets[0].StringFixed(2), buckets[1].StringFixed(2), buckets[2].StringFixed(2), buckets[3].StringFixed(2), buckets[4].StringFixed(2)}
	if st.CreditLimit.Sign() > 0 {
		v.RemainingCredit = st.CreditLimit.Sub(balance).StringFixed(2)
	}
	return &statementOutput{Body: v}, nil
}
