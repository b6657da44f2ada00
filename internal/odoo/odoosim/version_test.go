package odoosim

import (
	"strings"
	"testing"
)

func TestVersionFields(t *testing.T) {
	t.Parallel()
	cases := []struct {
		version string
		model   string
		has     []string
		hasNot  []string
	}{
		{"19.0", "sale.order.line", []string{"product_uom_id", "tax_ids"}, []string{"product_uom", "tax_id"}},
		{"18.0", "sale.order.line", []string{"product_uom", "tax_id"}, []string{"product_uom_id", "tax_ids"}},
		{"17.0", "sale.order.line", []string{"product_uom", "tax_id"}, []string{"product_uom_id", "tax_ids"}},
		{"19.0", "product.product", []string{"is_storable", "type"}, []string{"detailed_type", "uom_po_id"}},
		{"18.0", "product.product", []string{"is_storable", "uom_po_id"}, []string{"detailed_type"}},
		{"17.0", "product.product", []string{"detailed_type", "type"}, []string{"is_storable"}},
		{"19.0", "stock.picking", []string{"move_ids", "carrier_tracking_ref"}, []string{"move_ids_without_package", "move_lines"}},
		{"18.0", "stock.picking", []string{"move_ids", "move_ids_without_package"}, []string{"move_lines"}},
		{"19.0", "stock.move", []string{"quantity", "picked", "product_uom"}, []string{"quantity_done", "product_uom_id"}},
		{"17.0", "stock.move", []string{"quantity", "picked"}, []string{"quantity_done"}},
		{"19.0", "res.users", []string{"group_ids"}, []string{"groups_id"}},
		{"17.0", "res.users", []string{"groups_id"}, []string{"group_ids"}},
		{"19.0", "purchase.order.line", []string{"product_uom_id", "tax_ids"}, []string{"taxes_id"}},
		{"17.0", "purchase.order.line", []string{"product_uom", "taxes_id"}, []string{"tax_ids"}},
		{"19.0", "res.partner", []string{"barcode", "ref", "property_product_pricelist", "type", "parent_id"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.version+" "+tc.model, func(t *testing.T) {
			s, url := setup(t, Options{Version: tc.version})
			c := &jsonrpcClient{url: url, db: s.Database(), password: AdminPassword, uid: AdminUID}
			res := mustCall(t, c, tc.model, "fields_get", nil, map[string]any{"attributes": []any{"type", "relation"}})
			fields := res.(map[string]any)
			for _, f := range tc.has {
				if _, ok := fields[f]; !ok {
					t.Errorf("missing field %s", f)
				}
			}
			for _, f := range tc.hasNot {
				if _, ok := fields[f]; ok {
					t.Errorf("unexpected field %s", f)
				}
			}
		})
	}
}

func TestVersionProductTypes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		version string
		vals    map[string]any
		errPart string // empty: must succeed and be storable
	}{
		{"19.0", map[string]any{"name": "A", "type": "consu", "is_storable": true}, ""},
		{"19.0", map[string]any{"name": "A", "type": "product"}, "Wrong value for product.template.type"},
		{"18.0", map[string]any{"name": "A", "type": "consu", "is_storable": true}, ""},
		{"17.0", map[string]any{"name": "A", "detailed_type": "product"}, ""},
		{"17.0", map[string]any{"name": "A", "type": "product"}, ""},
		{"17.0", map[string]any{"name": "A", "type": "consu", "is_storable": true}, "Invalid field 'is_storable'"},
	}
	for _, tc := range cases {
		t.Run(tc.version+" "+pyRepr(tc.vals["type"]), func(t *testing.T) {
			s, url := setup(t, Options{Version: tc.version})
			c := &jsonrpcClient{url: url, db: s.Database(), password: AdminPassword, uid: AdminUID}
			res, err := c.call("product.product", "create", nil, map[string]any{"vals_list": tc.vals})
			if tc.errPart != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errPart) {
					t.Fatalf("got %v, want an error with %q", err, tc.errPart)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			s.mu.Lock()
			storable := s.sudo().isStorable(firstID(t, res))
			s.mu.Unlock()
			if !storable {
				t.Fatal("product is not storable")
			}
		})
	}
}

// TestVersionFlow confirms and delivers an order with each version's field
// names over XML-RPC (17 and 18 have no JSON-2).
func TestVersionFlow(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"17.0", "18.0"} {
		t.Run(v, func(t *testing.T) {
			s, url := setup(t, Options{Version: v})
			d := s.SeedDemo()
			c := &xmlrpcClient{url: url, db: s.Database(), password: AdminPassword, uid: AdminUID}
			so := firstID(t, mustCall(t, c, "sale.order", "create", nil, map[string]any{"vals_list": map[string]any{
				"partner_id": d.Customers[1].ID, "order_line": []any{[]any{0, 0, map[string]any{"product_id": d.Products[1].ID, "product_uom_qty": 3, "product_uom": 1}}}}}))
			mustCall(t, c, "sale.order", "action_confirm", []int{so}, nil)
			order := readOne(t, c, "sale.order", so, "picking_ids", "partner_shipping_id", "amount_untaxed")
			if firstID(t, order["partner_shipping_id"]) != d.Customers[1].Delivery || asFloat(order["amount_untaxed"]) != 54 {
				t.Fatalf("order %#v", order)
			}
			pick := firstID(t, order["picking_ids"])
			if res := mustCall(t, c, "stock.picking", "button_validate", []int{pick}, nil); res != true {
				t.Fatalf("button_validate = %#v", res)
			}
			if st := readOne(t, c, "sale.order", so, "delivery_status")["delivery_status"]; st != "full" {
				t.Fatalf("delivery_status %v", st)
			}
		})
	}
}
