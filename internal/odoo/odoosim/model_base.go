package odoosim

import (
	"strings"
)

// defineModels builds every simulated model for the configured version.
func (s *Server) defineModels() {
	for _, m := range []*modelDef{
		s.currencyModel(), s.countryModel(), s.companyModel(), s.partnerModel(), s.usersModel(),
		s.uomModel(), s.categoryModel(), s.taxModel(), s.journalModel(), s.paymentTermModel(),
		s.templateModel(), s.productModel(), s.pricelistModel(), s.pricelistItemModel(),
		s.locationModel(), s.warehouseModel(), s.pickingTypeModel(), s.carrierModel(),
		s.quantModel(), s.pickingModel(), s.moveModel(), s.moveLineModel(), s.backorderWizardModel(),
		s.returnWizardModel(), s.returnLineModel(),
		s.saleOrderModel(), s.saleLineModel(), s.advancePaymentModel(),
		s.accountMoveModel(), s.accountMoveLineModel(), s.paymentModel(), s.paymentRegisterModel(),
		s.purchaseOrderModel(), s.purchaseLineModel(),
	} {
		s.models[m.name] = m
		s.tables[m.name] = &table{def: m, recs: map[int]record{}}
		for _, mt := range ormMethods() {
			if m.methods[mt.name] == nil {
				m.methods[mt.name] = mt
			}
		}
	}
}

// lineUoM is the unit field of order lines: product_uom_id on 19,
// product_uom before.
func (s *Server) lineUoM() string {
	if s.major >= 19 {
		return "product_uom_id"
	}
	return "product_uom"
}

// lineTaxes is the taxes field of sale order lines: tax_ids on 19, tax_id
// before.
func (s *Server) lineTaxes() string {
	if s.major >= 19 {
		return "tax_ids"
	}
	return "tax_id"
}

func (s *Server) userGroupsField() string {
	if s.major >= 19 {
		return "group_ids"
	}
	return "groups_id"
}

var (
	salesGroups    = []string{GroupSaleSalesman, GroupSaleManager}
	stockGroups    = []string{GroupStockUser, GroupStockManager}
	invoiceGroups  = []string{GroupInvoice, GroupAccountant}
	purchaseGroups = []string{GroupPurchaseUser, GroupPurchaseAdmin}
	stockReaders   = append(append([]string{}, stockGroups...), salesGroups...)
	accountReaders = append(append(append([]string{}, invoiceGroups...), salesGroups...), purchaseGroups...)
)

func (s *Server) currencyModel() *modelDef {
	m := newModel("res.currency", "Currency")
	m.add(char("name").req(), char("symbol"), float("rounding").defaultValue(0.01), boolean("active").defaultValue(true))
	return m
}

func (s *Server) countryModel() *modelDef {
	m := newModel("res.country", "Country")
	m.order = "name"
	m.add(char("name").req(), char("code").str("Country Code"), m2o("currency_id", "res.currency"))
	return m
}

func (s *Server) companyModel() *modelDef {
	m := newModel("res.company", "Companies")
	m.add(char("name").req(), m2o("partner_id", "res.partner"), m2o("currency_id", "res.currency"))
	return m
}

func (s *Server) partnerModel() *modelDef {
	m := newModel("res.partner", "Contact")
	m.order = "complete_name, id desc"
	types := []string{"contact", "invoice", "delivery", "other"}
	if s.major == 17 {
		types = append(types, "private")
	}
	m.add(
		char("name"), char("complete_name").computed(func(e *env, r record) any { return partnerName(e, r) }),
		char("ref").str("Reference"), boolean("is_company"), m2o("parent_id", "res.partner").str("Related Company"),
		o2m("child_ids", "res.partner", "parent_id").str("Contact"),
		selection("type", types...).str("Address Type").defaultValue("contact"),
		char("street"), char("street2"), char("city"), char("zip"), m2o("country_id", "res.country"),
		char("email"), char("phone"), char("vat").str("Tax ID"), char("barcode"), char("lang").defaultValue("en_US"),
		boolean("active").defaultValue(true), m2o("company_id", "res.company"),
		integer("customer_rank"), integer("supplier_rank"), char("comment").str("Notes"),
		m2o("property_product_pricelist", "product.pricelist").str("Pricelist").defaultValue(1),
		m2o("property_payment_term_id", "account.payment.term").str("Customer Payment Terms"),
		m2o("commercial_partner_id", "res.partner").computed(func(e *env, r record) any { return commercialPartner(e, r) }),
	)
	m.displayName = func(e *env, r record) string { return partnerName(e, r) }
	m.beforeCreate = func(e *env, vals map[string]any) error {
		if !truthy(vals["name"]) && (!truthy(vals["parent_id"]) || asString(vals["type"]) == "contact" || vals["type"] == nil) {
			return validationError("Contacts require a name")
		}
		return nil
	}
	return m
}

// partnerName is Odoo's complete_name: "Company, Contact" for a contact of
// a company, the address type when an address has no name.
func partnerName(e *env, r record) string {
	name := asString(r["name"])
	if name == "" {
		switch asString(r["type"]) {
		case "delivery":
			name = "Delivery Address"
		case "invoice":
			name = "Invoice Address"
		case "other":
			name = "Other Address"
		}
	}
	if pid, ok := r["parent_id"].(int); ok && !truthy(r["is_company"]) {
		if p := e.rec("res.partner", pid); p != nil {
			if pn := partnerName(e, p); pn != "" {
				return pn + ", " + name
			}
		}
	}
	return name
}

func commercialPartner(e *env, r record) any {
	cur := r
	for i := 0; i < 32; i++ {
		if truthy(cur["is_company"]) {
			break
		}
		pid, ok := cur["parent_id"].(int)
		if !ok {
			break
		}
		p := e.rec("res.partner", pid)
		if p == nil {
			break
		}
		cur = p
	}
	return cur["id"]
}

// addressOf is res.partner.address_get for one address type: the first
// child (depth first) of that type, else the commercial partner... else
// the partner itself.
func addressOf(e *env, partnerID int, typ string) int {
	var walk func(id int, depth int) int
	walk = func(id int, depth int) int {
		if depth > 8 {
			return 0
		}
		for _, cid := range e.children("res.partner", "parent_id", id) {
			c := e.rec("res.partner", cid)
			if !truthy(c["active"]) || truthy(c["is_company"]) {
				continue
			}
			if asString(c["type"]) == typ {
				return cid
			}
		}
		for _, cid := range e.children("res.partner", "parent_id", id) {
			if found := walk(cid, depth+1); found != 0 {
				return found
			}
		}
		return 0
	}
	if p := e.rec("res.partner", partnerID); p != nil && asString(p["type"]) == typ {
		return partnerID
	}
	if found := walk(partnerID, 0); found != 0 {
		return found
	}
	return partnerID
}

func (s *Server) usersModel() *modelDef {
	m := newModel("res.users", "User")
	m.add(char("login").req(), char("name"), m2o("partner_id", "res.partner"), boolean("active").defaultValue(true),
		m2o("company_id", "res.company").defaultValue(1), char("email"))
	m.add(m2m(s.userGroupsField(), "res.groups").computed(func(e *env, r record) any { return []int{} }).str("Groups"))
	m.writeGroups = []string{GroupSystem}
	m.addMethod(&method{name: "context_get", modelLevel: true, fn: func(c *call) (any, error) {
		return map[string]any{"lang": "en_US", "tz": "UTC", "uid": c.uid}, nil
	}})
	return m
}

func (s *Server) uomModel() *modelDef {
	m := newModel("uom.uom", "Product Unit of Measure")
	m.add(char("name").req(), float("factor").defaultValue(1.0), float("rounding").defaultValue(0.01), boolean("active").defaultValue(true))
	if s.major < 19 {
		m.add(selection("uom_type", "bigger", "reference", "smaller").defaultValue("reference"))
	} else {
		m.add(float("relative_factor").defaultValue(1.0), m2o("relative_uom_id", "uom.uom"))
	}
	return m
}

func (s *Server) categoryModel() *modelDef {
	m := newModel("product.category", "Product Category")
	m.order = "complete_name"
	chain := func(e *env, r record) []record {
		var out []record
		for cur, depth := r, 0; cur != nil && depth < 32; depth++ {
			out = append([]record{cur}, out...)
			cur = e.rec("product.category", intOf(cur["parent_id"]))
		}
		return out
	}
	m.add(char("name").req(), m2o("parent_id", "product.category").str("Parent Category"),
		char("parent_path").computed(func(e *env, r record) any {
			path := ""
			for _, c := range chain(e, r) {
				path += asString(c["id"]) + "/"
			}
			return path
		}),
		char("complete_name").computed(func(e *env, r record) any {
			var names []string
			for _, c := range chain(e, r) {
				names = append(names, asString(c["name"]))
			}
			return strings.Join(names, " / ")
		}))
	m.displayName = func(e *env, r record) string { return asString(e.get(m, r, "complete_name")) }
	return m
}

func (s *Server) paymentTermModel() *modelDef {
	m := newModel("account.payment.term", "Payment Terms")
	m.order = "sequence, id"
	m.add(char("name").req().str("Payment Terms"), integer("sequence").defaultValue(10), boolean("active").defaultValue(true),
		text("note").str("Description on the Invoice"), m2o("company_id", "res.company"))
	m.fields["__days"] = &field{name: "__days", kind: tInt}
	m.writeGroups = []string{GroupAccountant}
	return m
}

func (s *Server) taxModel() *modelDef {
	m := newModel("account.tax", "Tax")
	m.add(char("name").req(), float("amount"), selection("amount_type", "percent", "fixed", "group", "division").defaultValue("percent"),
		selection("type_tax_use", "sale", "purchase", "none").defaultValue("sale"), boolean("price_include"),
		boolean("active").defaultValue(true), m2o("company_id", "res.company").defaultValue(1))
	m.writeGroups = []string{GroupAccountant}
	return m
}

func (s *Server) journalModel() *modelDef {
	m := newModel("account.journal", "Journal")
	m.add(char("name").req(), char("code"), selection("type", "sale", "purchase", "cash", "bank", "general"),
		m2o("company_id", "res.company").defaultValue(1))
	m.writeGroups = []string{GroupAccountant}
	return m
}

func (s *Server) carrierModel() *modelDef {
	m := newModel("delivery.carrier", "Shipping Methods")
	m.add(char("name").req(), m2o("product_id", "product.product"), selection("delivery_type", "base_on_rule", "fixed").defaultValue("fixed"),
		float("fixed_price"), boolean("active").defaultValue(true))
	return m
}

// seedBase creates the records a fresh Odoo database with the
// distribution modules holds, with the ids real Odoo gives them where the
// connector might notice (countries, uid 2, WH/Stock).
func (s *Server) seedBase() {
	e := s.sudo()
	mk := func(model string, vals map[string]any) int {
		id, err := e.create(s.models[model], vals)
		if err != nil {
			panic("odoosim: seeding " + model + ": " + err.Error())
		}
		return id
	}
	at := func(model string, id int, vals map[string]any) int {
		s.tables[model].next = id - 1
		return mk(model, vals)
	}
	mk("res.currency", map[string]any{"name": "USD", "symbol": "$"})
	for _, c := range []struct {
		id         int
		code, name string
	}{{21, "BE", "Belgium"}, {38, "CA", "Canada"}, {57, "DE", "Germany"}, {75, "FR", "France"},
		{156, "MX", "Mexico"}, {165, "NL", "Netherlands"}, {231, "GB", "United Kingdom"}, {233, "US", "United States"}} {
		at("res.country", c.id, map[string]any{"name": c.name, "code": c.code, "currency_id": 1})
	}
	mk("res.partner", map[string]any{"name": "My Company", "is_company": true, "country_id": 233})
	mk("res.company", map[string]any{"name": "My Company", "partner_id": 1, "currency_id": 1})
	mk("res.partner", map[string]any{"name": "OdooBot", "active": false})
	mk("res.partner", map[string]any{"name": "Administrator", "email": "admin@example.com"})
	mk("res.users", map[string]any{"login": "__system__", "name": "OdooBot", "partner_id": 2, "active": false})
	mk("res.users", map[string]any{"login": AdminLogin, "name": "Administrator", "partner_id": 3})
	s.tables["res.partner"].next = 6
	admin := &user{id: AdminUID, login: AdminLogin, password: AdminPassword, apiKey: AdminAPIKey, groups: map[string]bool{}}
	for g := range groupLabels {
		admin.groups[g] = true
	}
	s.users[AdminUID] = admin

	mk("uom.uom", map[string]any{"name": "Units"})
	mk("uom.uom", map[string]any{"name": "Dozens", "factor": 1.0 / 12})
	mk("uom.uom", map[string]any{"name": "kg"})
	mk("product.category", map[string]any{"name": "All"})
	rate := asFloat(s.opts.SalesTax)
	label := strings.TrimSuffix(strings.TrimSuffix(s.opts.SalesTax, ".0"), ".00") + "%"
	mk("account.tax", map[string]any{"name": label, "amount": rate, "type_tax_use": "sale", "active": rate != 0})
	mk("account.tax", map[string]any{"name": label, "amount": rate, "type_tax_use": "purchase", "active": rate != 0})
	mk("account.journal", map[string]any{"name": "Customer Invoices", "code": "INV", "type": "sale"})
	mk("account.journal", map[string]any{"name": "Vendor Bills", "code": "BILL", "type": "purchase"})
	mk("account.journal", map[string]any{"name": "Bank", "code": "BNK1", "type": "bank"})
	mk("account.journal", map[string]any{"name": "Cash", "code": "CSH1", "type": "cash"})
	mk("product.pricelist", map[string]any{"name": "Default", "currency_id": 1})
	for _, pt := range []struct {
		name string
		days int
	}{{"Immediate Payment", 0}, {"15 Days", 15}, {"21 Days", 21}, {"30 Days", 30}, {"45 Days", 45}, {"End of Following Month", 45}, {"10 Days after End of Next Month", 40}, {"30% Now, Balance 60 Days", 60}, {"2/7 Net 30", 30}} {
		id := mk("account.payment.term", map[string]any{"name": pt.name})
		s.tables["account.payment.term"].recs[id]["__days"] = pt.days
	}

	mk("stock.location", map[string]any{"name": "Physical Locations", "usage": "view"})
	mk("stock.location", map[string]any{"name": "Partners", "usage": "view"})
	mk("stock.location", map[string]any{"name": "Virtual Locations", "usage": "view"})
	mk("stock.location", map[string]any{"name": "Vendors", "usage": "supplier", "location_id": 2})
	mk("stock.location", map[string]any{"name": "Customers", "usage": "customer", "location_id": 2})
	mk("stock.location", map[string]any{"name": "Inventory adjustment", "usage": "inventory", "location_id": 3})
	mk("stock.location", map[string]any{"name": "WH", "usage": "view", "location_id": 1})
	mk("stock.location", map[string]any{"name": "Stock", "usage": "internal", "location_id": 7})
	mk("stock.picking.type", map[string]any{"name": "Receipts", "code": "incoming", "sequence_code": "IN", "default_location_src_id": 4, "default_location_dest_id": 8, "warehouse_id": false})
	mk("stock.picking.type", map[string]any{"name": "Delivery Orders", "code": "outgoing", "sequence_code": "OUT", "default_location_src_id": 8, "default_location_dest_id": 5, "return_picking_type_id": 1})
	mk("stock.warehouse", map[string]any{"name": "My Company", "code": "WH", "lot_stock_id": 8, "view_location_id": 7, "in_type_id": 1, "out_type_id": 2})
	for _, id := range []int{1, 2} {
		t := s.tables["stock.picking.type"]
		t.set(t.recs[id], "warehouse_id", 1) // through the index, like every relational write
	}
}

// taxRate returns the percentage of a tax.
func (e *env) taxRate(id int) float64 {
	if r := e.rec("account.tax", id); r != nil {
		return asFloat(r["amount"])
	}
	return 0
}

// defaultSaleTaxes is the company's default sales tax (none when 0%).
func (e *env) defaultSaleTaxes() []int {
	if r := e.rec("account.tax", 1); r != nil && truthy(r["active"]) {
		return []int{1}
	}
	return []int{}
}
