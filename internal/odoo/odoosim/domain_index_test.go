package odoosim

import (
	"fmt"
	"testing"
)

// TestSearchNarrowedSameAsScan checks that a search narrowed through an index finds exactly what
// looking at every record finds. The reference is the same domain behind "FALSE_LEAF or", which
// is never narrowed.
func TestSearchNarrowedSameAsScan(t *testing.T) {
	t.Parallel()
	s, url := setup(t, Options{})
	d := s.SeedDemo()
	c := adminJSON2(url)
	var orders, lines []int
	for i := range 4 {
		so := firstID(t, mustCall(t, c, "sale.order", "create", nil, map[string]any{"vals_list": map[string]any{
			"partner_id": d.Customers[i%2].ID, "origin": fmt.Sprintf("waybill:o%d", i%3), "order_line": []any{
				[]any{0, 0, map[string]any{"product_id": d.Products[i%3].ID, "product_uom_qty": 2}},
				[]any{0, 0, map[string]any{"product_id": d.Products[4].ID, "product_uom_qty": 1}}}}}))
		if i < 3 {
			mustCall(t, c, "sale.order", "action_confirm", []int{so}, nil)
		}
		orders = append(orders, so)
		for _, l := range readOne(t, c, "sale.order", so, "order_line")["order_line"].([]any) {
			id, _ := asInt(l)
			lines = append(lines, id)
		}
	}
	// A write that fails leaves the origin where it was; a written origin moves in the index. The
	// search builds the index, so the write after it has to keep it.
	if _, err := c.call("sale.order", "write", []int{orders[1]}, map[string]any{"vals": map[string]any{"origin": "waybill:lost", "no_such_field": 1}}); err == nil {
		t.Fatal("a write of an unknown field was accepted")
	}
	mustCall(t, c, "sale.order", "search", nil, map[string]any{"domain": []any{[]any{"origin", "=", "waybill:o0"}}})
	mustCall(t, c, "sale.order", "write", []int{orders[3]}, map[string]any{"vals": map[string]any{"origin": "waybill:moved"}})
	cases := []struct {
		model, domain string
		narrowed      bool
	}{
		{"sale.order.line", fmt.Sprintf(`[["order_id","in",[%d,%d]]]`, orders[0], orders[2]), true},
		{"sale.order.line", fmt.Sprintf(`[["order_id","=",%d],["product_id","=",%d]]`, orders[1], d.Products[4].ID), true},
		{"sale.order.line", fmt.Sprintf(`[["order_id","in",[%d,%d,999]],["display_type","=",false]]`, orders[3], orders[3]), true},
		{"sale.order.line", `[["order_id","in",[]]]`, true},
		{"sale.order.line", `[["order_id","=",false]]`, false},
		{"sale.order.line", fmt.Sprintf(`[["order_id","in",[%d,false]]]`, orders[0]), false},
		{"sale.order.line", fmt.Sprintf(`["|",["order_id","=",%d],["order_id","=",%d]]`, orders[0], orders[1]), true},
		{"sale.order.line", fmt.Sprintf(`["|",["order_id","=",%d],["product_id","=",%d]]`, orders[0], d.Products[4].ID), true},
		{"sale.order.line", fmt.Sprintf(`["|",["order_id","=",%d],["product_uom_qty","=",2]]`, orders[0]), false},
		{"sale.order.line", fmt.Sprintf(`[["product_uom_qty","=",2],"|",["order_id","=",%d],["order_id","=",%d]]`, orders[0], orders[2]), true},
		{"sale.order.line", fmt.Sprintf(`["!",["order_id","=",%d]]`, orders[0]), false},
		{"sale.order.line", `[["order_id","=","S00001"]]`, false},
		{"stock.move", fmt.Sprintf(`[["sale_line_id","in",[%d,%d,%d]],["state","not in",["done","cancel"]]]`, lines[0], lines[1], lines[6]), true},
		{"stock.move", fmt.Sprintf(`[["product_id","=",%d],["location_id","=",%d]]`, d.Products[4].ID, d.Stock), true},
		{"sale.order", fmt.Sprintf(`[["id","in",[%d,%d,12345]]]`, orders[3], orders[1]), true},
		{"sale.order", fmt.Sprintf(`[["id","=",%d],["state","=","sale"]]`, orders[3]), true},
		{"sale.order", fmt.Sprintf(`[["partner_id","=",%d]]`, d.Customers[0].ID), true},
		{"sale.order", fmt.Sprintf(`[["partner_id","child_of",%d]]`, d.Customers[0].ID), false},
		{"sale.order", `[["origin","=","waybill:o0"]]`, true},
		{"sale.order", fmt.Sprintf(`["|",["id","in",[%d]],["name","in",["S00002","S99999"]]]`, orders[3]), true},
		{"sale.order", fmt.Sprintf(`["|",["id","in",[%d]],["name","in",[]]]`, orders[0]), true},
		{"sale.order", fmt.Sprintf(`["|",["id","in",[%d]],["name","ilike","S0"]]`, orders[0]), false},
		{"sale.order", `[["origin","in",["waybill:o1","waybill:o2","waybill:none"]]]`, true},
		{"sale.order", `[["origin","=","waybill:moved"]]`, true},
		{"sale.order", `[["origin","in",["waybill:o0","waybill:lost"]]]`, true},
		{"sale.order", `[["origin","=",false]]`, false},
		{"sale.order", `[["origin","=like","waybill:%"]]`, false},
		{"sale.order", `[["origin","in",["waybill:o0",""]]]`, false},
		{"stock.picking", `[["origin","=","S00001"]]`, false},
		{"res.partner", fmt.Sprintf(`[["parent_id","=",%d]]`, d.Customers[0].ID), true},
		{"res.partner", fmt.Sprintf(`[["parent_id","=",%d],["active","=",false]]`, d.Customers[0].ID), true},
	}
	for _, tc := range cases {
		t.Run(tc.model+tc.domain, func(t *testing.T) {
			dom := decodeJSON(t, tc.domain).([]any)
			m := s.models[tc.model]
			s.mu.Lock()
			defer s.mu.Unlock()
			e := s.sudo()
			parsed, err := parseDomain(normalize(dom).([]any))
			if err != nil {
				t.Fatal(err)
			}
			if _, narrowed := parsed.candidates(m, e.table(m.name)); narrowed != tc.narrowed {
				t.Errorf("narrowed %v, want %v", narrowed, tc.narrowed)
			}
			got, err := e.search(m, dom, 0, 0, "id")
			if err != nil {
				t.Fatal(err)
			}
			want, err := e.search(m, append([]any{"|", []any{0, "=", 1}}, dom...), 0, 0, "id")
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("narrowed search found %v, a scan %v", got, want)
			}
		})
	}
}

// TestSearchNarrowedUnknownField checks that a domain naming a field the model lacks fails even
// when another leaf could narrow it.
func TestSearchNarrowedUnknownField(t *testing.T) {
	t.Parallel()
	s, ids := partnersFixture(t)
	dom := decodeJSON(t, fmt.Sprintf(`[["parent_id","=",%d],["no_such_field","=",1]]`, ids["Acme"])).([]any)
	if _, err := s.sudo().search(s.models["res.partner"], dom, 0, 0, ""); err == nil {
		t.Fatal("a domain with an unknown field was accepted")
	}
}

// TestLongInListSameAsScan checks that an "in" leaf with a long list, looked up through a set,
// matches exactly what comparing each element matches.
func TestLongInListSameAsScan(t *testing.T) {
	t.Parallel()
	var ints, mixed, strs []any
	for i := range 40 {
		ints = append(ints, i*3)
		strs = append(strs, fmt.Sprintf("S%05d", i))
	}
	mixed = append(append(mixed, ints[:20]...), 7.0, "S00002", false)
	values := []any{nil, false, true, 0, 3, 4, 7, 7.0, 3.0, "3", "S00002", "S00003", "", 117}
	for _, op := range []string{"in", "not in"} {
		for name, list := range map[string][]any{"ints": ints, "strings": strs, "mixed": mixed} {
			for _, v := range values {
				d := &domain{op: "leaf", operator: op, value: list}
				if got, want := d.compare(v, false), compareLeaf(op, v, list, false); got != want {
					t.Errorf("%v %s %s: %v, one at a time %v", v, op, name, got, want)
				}
			}
		}
	}
}
