package edi

import (
	"context"
	"fmt"
	"slices"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/hub"
	"github.com/waybill-hub/waybill/internal/partner"
)

// Checked is an order after the partner's cross-references and the checks against master data
// and the price agreement.
type Checked struct {
	Order    *waybill.Order
	Verdict  hub.Verdict
	Rejected []RejectedLine // lines refused before the ERP (855 status rejected)
	Original []waybill.Line // the lines as the partner sent them
}

// RejectedLine is a line refused before the ERP, with the reason a person can read.
type RejectedLine struct {
	Number string `json:"number"`
	Reason string `json:"reason"`
	Code   string `json:"code"` // unknown_item, invalid_uom
}

// Check applies p's cross-reference tables to o and checks it against the ERP's master data
// and prices. Problems are handled per p.Validation: a refused line, a held or a rejected order.
// An ERP fault is returned as is (EUNAVAILABLE retries the whole processing).
func Check(ctx context.Context, erp waybill.ERP, p *partner.Profile, o *waybill.Order) (*Checked, error) {
	c := &Checked{Order: o, Original: slices.Clone(o.Lines)}
	where := waybill.Location{Partner: p.ID, Document: "850 PO " + o.PONumber}
	var holds, rejects []string
	reasonOf := map[string]string{}
	act := func(a, def partner.Action, line, code, msg string) {
		if a == "" {
			a = def
		}
		switch a {
		case partner.ActionRejectLine:
			c.Rejected = append(c.Rejected, RejectedLine{Number: line, Reason: msg, Code: code})
		case partner.ActionReject:
			rejects = append(rejects, msg)
			reasonOf["reject"] = code
		case partner.ActionHold:
			holds = append(holds, msg)
			if reasonOf["hold"] == "" {
				reasonOf["hold"] = code
			}
		}
	}
	// Units of measure.
	for i := range o.Lines {
		l := &o.Lines[i]
		if u, ok := p.XRef.UOM[l.UOM]; ok {
			l.UOM = u
		}
		if len(p.XRef.AllowedUOM) > 0 && !slices.Contains(p.XRef.AllowedUOM, l.UOM) {
			act(p.Validation.InvalidUOM, partner.ActionRejectLine, l.Number, "invalid_uom",
				fmt.Sprintf("line %s: unit %q is not one the agreement allows (%v)", l.Number, l.UOM, p.XRef.AllowedUOM))
		}
	}
	// Items.
	for i := range o.Lines {
		l := &o.Lines[i]
		for _, code := range []string{l.BuyerItem, l.VendorItem, l.GTIN} {
			if x, ok := p.XRef.Item(code); code != "" && ok {
				if x.SKU != "" {
					l.VendorItem = x.SKU
				}
				if x.GTIN != "" {
					l.GTIN = x.GTIN
				}
				break
			}
		}
	}
	// Customer.
	cust, err := erp.FindCustomer(ctx, waybill.PartyKey{Code: p.ERP.Account, Ref: firstNonEmpty(p.ERP.Customer, p.ERP.Account), Partner: p.ID})
	if err != nil {
		return nil, locate(err, where, "customer")
	}
	o.Customer, o.Account = cust.Ref, p.ERP.Account
	if o.Pricelist.IsZero() {
		o.Pricelist = cust.Pricelist
	}
	// Ship-to.
	if st := o.ShipTo; st.Code != "" || st.GLN != "" {
		if x, ok := p.XRef.Location(st.CodeQualifier, st.Code); ok {
			ref, err := erp.FindAddress(ctx, cust.Ref, waybill.PartyKey{Ref: x.Address, Code: st.Code, GLN: st.GLN, Partner: p.ID})
			if err != nil && waybill.Code(err) != waybill.ENOTFOUND {
				return nil, err
			}
			if err != nil {
				act(p.Validation.UnknownShipTo, partner.ActionHold, "", "unknown_ship_to",
					fmt.Sprintf("ship-to %s %s maps to address %s, which the ERP does not have", st.CodeQualifier, st.Code, x.Address))
			} else {
				o.ShipTo.ERP = ref
			}
		} else if len(p.XRef.Locations) > 0 {
			act(p.Validation.UnknownShipTo, partner.ActionHold, "", "unknown_ship_to",
				fmt.Sprintf("ship-to N1*ST*%s*%s is not in the partner's location table", st.CodeQualifier, st.Code))
		}
	}
	// Products, then prices of the known ones.
	keys := make([]waybill.ProductKey, len(o.Lines))
	for i, l := range o.Lines {
		keys[i] = waybill.ProductKey{SKU: l.VendorItem, GTIN: l.GTIN, CustomerItem: l.BuyerItem, Customer: cust.Ref}
	}
	res, err := erp.FindProducts(ctx, keys)
	if err != nil {
		return nil, err
	}
	var priced []int
	var reqs []waybill.PriceRequest
	for i, r := range res {
		l := &o.Lines[i]
		if r.Err != nil {
			if waybill.Code(r.Err) != waybill.ENOTFOUND {
				return nil, r.Err
			}
			act(p.Validation.UnknownItem, partner.ActionRejectLine, l.Number, "unknown_item",
				fmt.Sprintf("line %s: item %s is unknown", l.Number, itemName(l)))
			continue
		}
		l.Product = r.Product.Ref
		if l.VendorItem == "" {
			l.VendorItem = r.Product.SKU
		}
		if l.HasUnitPrice {
			priced = append(priced, i)
			reqs = append(reqs, waybill.PriceRequest{Product: r.Product.Ref, Quantity: l.Quantity, UOM: l.UOM, Date: o.PODate})
		}
	}
	if len(reqs) > 0 && p.Validation.PriceMismatch != partner.ActionAccept {
		prices, err := erp.Prices(ctx, cust.Ref, reqs)
		if err != nil {
			return nil, err
		}
		for k, pr := range prices {
			l := &o.Lines[priced[k]]
			if pr.Err != nil {
				continue
			}
			if !withinTolerance(l.UnitPrice, pr.Price.UnitPrice, p.Validation.PriceTolerance) {
				act(p.Validation.PriceMismatch, partner.ActionHold, l.Number, "price_mismatch",
					fmt.Sprintf("line %s: price %s differs from the agreement's %s by more than %s%%", l.Number, l.UnitPrice,
						pr.Price.UnitPrice, p.Validation.PriceTolerance))
			}
		}
	}
	// Drop refused lines; reject the order when none is left.
	if len(c.Rejected) > 0 {
		refused := map[string]bool{}
		for _, r := range c.Rejected {
			refused[r.Number] = true
		}
		kept := o.Lines[:0:0]
		for _, l := range o.Lines {
			if !refused[l.Number] {
				kept = append(kept, l)
			}
		}
		o.Lines = kept
		if len(kept) == 0 {
			rejects = append(rejects, "no line of the order can be accepted")
			if reasonOf["reject"] == "" {
				reasonOf["reject"] = c.Rejected[0].Code
			}
		}
	}
	switch {
	case len(rejects) > 0:
		c.Verdict.Reject = &waybill.Error{Code: waybill.EINVALID, Reason: reasonOf["reject"], Message: join(rejects), Where: where}
	case len(holds) > 0:
		c.Verdict.Hold = &waybill.Error{Code: waybill.EINVALID, Reason: reasonOf["hold"], Message: join(holds), Where: where}
	}
	return c, nil
}

// withinTolerance reports whether got differs from want by at most pct percent of want.
func withinTolerance(got, want, pct waybill.Decimal) bool {
	diff := got.Sub(want).Abs()
	if diff.IsZero() {
		return true
	}
	if want.IsZero() {
		return false
	}
	return diff.Mul(waybill.DecimalFromInt(100)).Cmp(want.Abs().Mul(pct)) <= 0
}

func itemName(l *waybill.Line) string {
	switch {
	case l.BuyerItem != "":
		return "buyer part " + l.BuyerItem
	case l.VendorItem != "":
		return "SKU " + l.VendorItem
	case l.GTIN != "":
		return "GTIN " + l.GTIN
	}
	return "(none given)"
}

func join(ss []string) string {
	out := ""
	for i, s := range ss {
		if i > 0 {
			out += "; "
		}
		out += s
	}
	return out
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

func locate(err error, where waybill.Location, field string) error {
	if we, ok := err.(*waybill.Error); ok && we.Where == (waybill.Location{}) {
		cp := *we
		cp.Where = where
		cp.Where.Field = field
		return &cp
	}
	return err
}
