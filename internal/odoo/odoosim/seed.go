package odoosim

import "fmt"

// DemoData lists the records SeedDemo created.
type DemoData struct {
	Warehouse   int            // stock.warehouse id (WH)
	Stock       int            // stock.location id of WH/Stock
	Pricelist   int            // product.pricelist id of the customer pricelist
	Customers   []DemoCustomer // companies with delivery and invoice addresses
	Products    []DemoProduct  // storable products with barcodes and stock
	Carrier     int            // delivery.carrier id
	Salesperson int            // uid of a user with sales rights only
}

// DemoCustomer is a customer company and its addresses.
type DemoCustomer struct {
	ID, Delivery, Invoice int
	Name, Ref             string
}

// DemoProduct is a storable product with stock on hand.
type DemoProduct struct {
	ID, Template        int
	Name, Code, Barcode string
	ListPrice, OnHand   float64
}

// SeedDemo creates a small distribution business: three customers with
// delivery and invoice addresses (refs "ACME", "GLOBEX", "INITECH"), five
// storable products with barcodes, invoiced on delivered quantities, and
// stock in WH/Stock, a customer pricelist (fixed price, percentage and
// quantity-break rules) and 30-day payment terms given to the first
// customer, a carrier and a
// salesperson "sales" (password "sales", API key "sim-sales-key"). Call it
// once, on a fresh Server.
func (s *Server) SeedDemo() DemoData {
	s.mu.Lock()
	e := s.sudo()
	must := func(id int, err error) int {
		if err != nil {
			s.mu.Unlock()
			panic("odoosim: SeedDemo: " + err.Error())
		}
		return id
	}
	mk := func(model string, vals map[string]any) int { return must(e.create(s.models[model], vals)) }
	d := DemoData{Warehouse: 1, Stock: 8}
	d.Pricelist = mk("product.pricelist", map[string]any{"name": "Wholesale"})
	d.Carrier = mk("delivery.carrier", map[string]any{"name": "UPS Ground", "fixed_price": 0.0})
	products := []struct {
		name, code, barcode string
		price, cost, onHand float64
	}{
		{"Widget 10 mm", "WID-10", "0012345000019", 12.50, 6.10, 500},
		{"Widget 20 mm", "WID-20", "0012345000026", 18.00, 9.00, 250},
		{"Gadget Pro", "GAD-PRO", "0012345000033", 99.00, 55.00, 40},
		{"Bolt M8 (box of 100)", "BLT-M8", "0012345000040", 7.25, 3.00, 1000},
		{"Pallet wrap", "PAL-WRP", "0012345000057", 24.90, 14.00, 0},
	}
	for _, p := range products {
		vals := map[string]any{"name": p.name, "default_code": p.code, "barcode": p.barcode, "list_price": p.price,
			"standard_price": p.cost, "invoice_policy": "delivery", "sale_delay": 1}
		if s.major == 17 {
			vals["detailed_type"] = "product"
		} else {
			vals["type"] = "consu"
			vals["is_storable"] = true
		}
		id := mk("product.product", vals)
		if p.onHand > 0 {
			mk("stock.quant", map[string]any{"product_id": id, "location_id": d.Stock, "quantity": p.onHand})
		}
		d.Products = append(d.Products, DemoProduct{ID: id, Template: intOf(e.rec("product.product", id)["product_tmpl_id"]),
			Name: p.name, Code: p.code, Barcode: p.barcode, ListPrice: p.price, OnHand: p.onHand})
	}
	mk("product.pricelist.item", map[string]any{"pricelist_id": d.Pricelist, "product_id": d.Products[0].ID, "compute_price": "fixed", "fixed_price": 11.00})
	mk("product.pricelist.item", map[string]any{"pricelist_id": d.Pricelist, "product_id": d.Products[0].ID, "compute_price": "fixed", "fixed_price": 10.00, "min_quantity": 100.0})
	mk("product.pricelist.item", map[string]any{"pricelist_id": d.Pricelist, "applied_on": "3_global", "compute_price": "percentage", "percent_price": 10.0})
	customers := []struct{ name, ref, city, zip string }{
		{"Acme Corporation", "ACME", "Springfield", "62701"},
		{"Globex Inc", "GLOBEX", "Cypress Creek", "97201"},
		{"Initech LLC", "INITECH", "Austin", "73301"},
	}
	for i, c := range customers {
		vals := map[string]any{"name": c.name, "ref": c.ref, "is_company": true, "street": fmt.Sprintf("%d Main Street", 100+i),
			"city": c.city, "zip": c.zip, "country_id": 233, "email": "orders@" + lowerWord(c.ref) + ".example", "customer_rank": 1,
			"barcode": fmt.Sprintf("061414100000%d", i+1)}
		if i == 0 {
			vals["property_product_pricelist"] = d.Pricelist
			vals["property_payment_term_id"] = 4 // 30 Days
		}
		id := mk("res.partner", vals)
		del := mk("res.partner", map[string]any{"name": c.name + " Warehouse", "parent_id": id, "type": "delivery",
			"street": fmt.Sprintf("%d Dock Road", 10+i), "city": c.city, "zip": c.zip, "country_id": 233, "ref": c.ref + "-DC1",
			"barcode": fmt.Sprintf("061414199999%d", i+1)})
		inv := mk("res.partner", map[string]any{"name": "Accounts Payable", "parent_id": id, "type": "invoice", "email": "ap@" + lowerWord(c.ref) + ".example"})
		d.Customers = append(d.Customers, DemoCustomer{ID: id, Delivery: del, Invoice: inv, Name: c.name, Ref: c.ref})
	}
	s.mu.Unlock()
	d.Salesperson = s.AddUser("sales", "sales", "sim-sales-key", GroupSaleSalesman)
	return d
}

func lowerWord(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}
