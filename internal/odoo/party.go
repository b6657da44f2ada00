package odoo

import (
	"context"
	"fmt"

	"github.com/waybill-hub/waybill"
)

var partnerFields = []string{"id", "name", "ref", "parent_id"}

// partyDomain returns the domain leaf for the first field of key that is set, and a description.
// Ref and Code both match the partner's ref (Odoo has no per-partner code field); GLN matches
// Config.GLNField; Name matches the name case-insensitively.
func (c *Client) partyDomain(key waybill.PartyKey) ([]any, string, bool) {
	switch {
	case key.Ref != "":
		return []any{"ref", "=", key.Ref}, "reference " + key.Ref, true
	case key.GLN != "":
		return []any{c.cfg.GLNField, "=", key.GLN}, "GLN " + key.GLN, true
	case key.Code != "":
		return []any{"ref", "=", key.Code}, "code " + key.Code, true
	case key.Name != "":
		return []any{"name", "=ilike", key.Name}, "name " + key.Name, true
	}
	return nil, "", false
}

// FindCustomer resolves a customer (a partner without parent) by key. ENOTFOUND when none
// matches, ECONFLICT when several do.
func (c *Client) FindCustomer(ctx context.Context, key waybill.PartyKey) (waybill.Customer, error) {
	leaf, what, ok := c.partyDomain(key)
	if !ok {
		return waybill.Customer{}, waybill.Errorf(waybill.EINVALID, "customer_key", "no customer reference, GLN, code or name given")
	}
	ck := "customer:" + fmt.Sprint(leaf)
	if v, ok := c.cache.get(ck); ok {
		return v.(waybill.Customer), nil
	}
	opt, err := c.optionalFields(ctx, "res.partner", "property_product_pricelist", "property_payment_term_id")
	if err != nil {
		return waybill.Customer{}, fmt.Errorf("finding customer by %s: %w", what, err)
	}
	rs, err := c.searchRead(ctx, "res.partner", []any{leaf, []any{"parent_id", "=", false}}, append(partnerFields, opt...), map[string]any{"limit": 2})
	if err != nil {
		return waybill.Customer{}, fmt.Errorf("finding customer by %s: %w", what, err)
	}
	switch len(rs) {
	case 0:
		return waybill.Customer{}, waybill.Errorf(waybill.ENOTFOUND, "unknown_customer", "no Odoo customer with %s", what)
	case 1:
	default:
		return waybill.Customer{}, waybill.Errorf(waybill.ECONFLICT, "ambiguous_customer", "several Odoo customers have %s", what)
	}
	r := rs[0]
	cu := waybill.Customer{
		Ref:       waybill.ERPRef{Model: "res.partner", ID: r.ID(), Name: r.Str("name")},
		Code:      r.Str("ref"),
		Name:      r.Str("name"),
		Pricelist: r.M2O("property_product_pricelist", "product.pricelist"),
	}
	if t := r.M2O("property_payment_term_id", "account.payment.term"); !t.IsZero() {
		cu.Terms = waybill.Terms{Code: itoa(t.ID), Description: t.Name}
	}
	if !cu.Pricelist.IsZero() {
		if pl, err := c.pricelist(ctx, cu.Pricelist.ID); err == nil {
			cu.Currency = pl.currency
		}
	}
	c.cache.put(ck, cu)
	return cu, nil
}

// FindAddress resolves an address of customer: the customer itself or one of its child contacts
// (delivery, invoice or other addresses) matching key.
func (c *Client) FindAddress(ctx context.Context, customer waybill.ERPRef, key waybill.PartyKey) (waybill.ERPRef, error) {
	leaf, what, ok := c.partyDomain(key)
	if !ok {
		return waybill.ERPRef{}, waybill.Errorf(waybill.EINVALID, "address_key", "no address reference, GLN, code or name given")
	}
	if customer.ID == 0 {
		return waybill.ERPRef{}, waybill.Errorf(waybill.EINVALID, "address_key", "no customer given for address %s", what)
	}
	ck := fmt.Sprintf("address:%d:%v", customer.ID, leaf)
	if v, ok := c.cache.get(ck); ok {
		return v.(waybill.ERPRef), nil
	}
	domain := []any{"&", leaf, "|", []any{"id", "=", customer.ID}, []any{"parent_id", "=", customer.ID}}
	rs, err := c.searchRead(ctx, "res.partner", domain, []string{"id", "name", "display_name"}, map[string]any{"limit": 2})
	if err != nil {
		return waybill.ERPRef{}, fmt.Errorf("finding address by %s: %w", what, err)
	}
	switch len(rs) {
	case 0:
		return waybill.ERPRef{}, waybill.Errorf(waybill.ENOTFOUND, "unknown_address", "no address with %s under Odoo customer %d", what, customer.ID)
	case 1:
	default:
		return waybill.ERPRef{}, waybill.Errorf(waybill.ECONFLICT, "ambiguous_address", "several addresses with %s under Odoo customer %d", what, customer.ID)
	}
	name := rs[0].Str("display_name")
	if name == "" {
		name = rs[0].Str("name")
	}
	ref := waybill.ERPRef{Model: "res.partner", ID: rs[0].ID(), Name: name}
	c.cache.put(ck, ref)
	return ref, nil
}
