package odoosim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
)

// post sends a raw request and returns the status, headers and body.
func post(t *testing.T, method, url, body string, header map[string]string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func keys(m map[string]any) string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

func TestJSON2Wire(t *testing.T) {
	t.Parallel()
	s, url := setup(t, Options{})
	d := s.SeedDemo()
	noSales := s.AddUser("clerk", "clerk", "clerk-key")
	_ = noSales
	admin := map[string]string{"Authorization": "bearer " + AdminAPIKey, "X-Odoo-Database": "sim"}
	soBody := `{"vals_list":[{"partner_id":` + itoa(d.Customers[0].ID) + `,"order_line":[[0,0,{"product_id":` + itoa(d.Products[0].ID) + `,"product_uom_qty":2}]]}]}`
	status, _, body := post(t, "POST", url+"/json/2/sale.order/create", soBody, admin)
	if status != 200 || body != "[1]" {
		t.Fatalf("create: %d %s", status, body)
	}
	cases := []struct {
		name, method, path, body string
		header                   map[string]string
		status                   int
		errName, msgPart         string
		result                   string
	}{
		{"confirm", "POST", "sale.order/action_confirm", `{"ids":[1]}`, admin, 200, "", "", "true"},
		{"search_read", "POST", "sale.order/search_read", `{"domain":[["name","=","S00001"]],"fields":["name","state"],"limit":1}`, admin, 200, "", "", `[{"id":1,"name":"S00001","state":"sale"}]`},
		{"read many2one", "POST", "sale.order/read", `{"ids":[1],"fields":["partner_id"]}`, admin, 200, "", "", `[{"id":1,"partner_id":[` + itoa(d.Customers[0].ID) + `,"Acme Corporation"]}]`},
		{"search_count", "POST", "sale.order/search_count", `{"domain":[]}`, admin, 200, "", "", "1"},
		{"bearer case", "POST", "res.partner/search", `{"domain":[["ref","=","ACME"]]}`, map[string]string{"Authorization": "Bearer " + AdminAPIKey}, 200, "", "", "[" + itoa(d.Customers[0].ID) + "]"},
		{"bad key", "POST", "sale.order/search", `{"domain":[]}`, map[string]string{"Authorization": "bearer nope"}, 401, "werkzeug.exceptions.Unauthorized", "Invalid apikey", ""},
		{"no key", "POST", "sale.order/search", `{"domain":[]}`, nil, 401, "werkzeug.exceptions.Unauthorized", "", ""},
		{"private method", "POST", "sale.order/_create_invoices", `{"ids":[1]}`, admin, 403, "odoo.exceptions.AccessError", "Private methods", ""},
		{"unknown model", "POST", "sale.nope/search", `{"domain":[]}`, admin, 404, "werkzeug.exceptions.NotFound", "does not exist", ""},
		{"unknown method", "POST", "sale.order/frobnicate", `{}`, admin, 404, "werkzeug.exceptions.NotFound", "does not exist", ""},
		{"missing record", "POST", "sale.order/read", `{"ids":[999],"fields":["name"]}`, admin, 404, "odoo.exceptions.MissingError", "Record does not exist", ""},
		{"signature mismatch", "POST", "sale.order/write", `{"ids":[1],"vals":{},"frob":1}`, admin, 422, "werkzeug.exceptions.UnprocessableEntity", "unexpected keyword argument 'frob'", ""},
		{"missing argument", "POST", "sale.order/write", `{"ids":[1]}`, admin, 422, "werkzeug.exceptions.UnprocessableEntity", "missing a required argument: 'vals'", ""},
		{"model method with ids", "POST", "sale.order/create", `{"ids":[1],"vals_list":[]}`, admin, 422, "werkzeug.exceptions.UnprocessableEntity", "with ids", ""},
		{"search_read extra kwarg", "POST", "sale.order/search_read", `{"domain":[],"frob":1}`, admin, 500, "builtins.TypeError", "unexpected keyword argument 'frob'", ""},
		{"user error", "POST", "sale.order/action_confirm", `{"ids":[1]}`, admin, 422, "odoo.exceptions.UserError", "not in a state requiring confirmation", ""},
		{"access error", "POST", "sale.order/search_read", `{"domain":[]}`, map[string]string{"Authorization": "bearer clerk-key"}, 403, "odoo.exceptions.AccessError", "You are not allowed to access 'Sales Order' (sale.order)", ""},
		{"invalid field", "POST", "sale.order/read", `{"ids":[1],"fields":["nope"]}`, admin, 500, "builtins.ValueError", "Invalid field", ""},
		{"wrong database", "POST", "sale.order/search", `{"domain":[]}`, map[string]string{"Authorization": "bearer " + AdminAPIKey, "X-Odoo-Database": "other"}, 404, "werkzeug.exceptions.NotFound", "", ""},
		{"GET", "GET", "sale.order/search", ``, admin, 405, "werkzeug.exceptions.MethodNotAllowed", "", ""},
		{"not an object", "POST", "sale.order/search", `[1]`, admin, 400, "werkzeug.exceptions.BadRequest", "expecting a json object", ""},
		{"short path", "POST", "sale.order", `{}`, admin, 404, "werkzeug.exceptions.NotFound", "Did you mean", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, hdr, body := post(t, tc.method, url+"/json/2/"+tc.path, tc.body, tc.header)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %s", status, tc.status, body)
			}
			if tc.status == 200 {
				if body != tc.result {
					t.Fatalf("body %s, want %s", body, tc.result)
				}
				return
			}
			var e map[string]any
			if err := json.Unmarshal([]byte(body), &e); err != nil {
				t.Fatalf("error body is not JSON: %s", body)
			}
			if got := keys(e); got != "arguments,context,debug,message,name" {
				t.Errorf("error keys %s", got)
			}
			if e["name"] != tc.errName || !strings.Contains(asString(e["message"]), tc.msgPart) {
				t.Errorf("error %v: %v, want %s containing %q", e["name"], e["message"], tc.errName, tc.msgPart)
			}
			if status == 401 && hdr.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
}

func TestJSON2OnlyOn19(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"17.0", "18.0"} {
		_, url := setup(t, Options{Version: v})
		status, hdr, _ := post(t, "POST", url+"/json/2/res.partner/search", `{"domain":[]}`, map[string]string{"Authorization": "bearer " + AdminAPIKey})
		if status != 404 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/html") {
			t.Errorf("%s: JSON-2 answered %d %s, want an HTML 404", v, status, hdr.Get("Content-Type"))
		}
	}
}

func jsonrpcBody(service, method string, args ...any) string {
	b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "method": "call", "id": 7, "params": map[string]any{"service": service, "method": method, "args": args}})
	return string(b)
}

func TestJSONRPCWire(t *testing.T) {
	t.Parallel()
	_, url := setup(t, Options{})
	cases := []struct {
		name, body string
		result     string // exact JSON of the whole reply when set
		errName    string
		msgPart    string
	}{
		{"login", jsonrpcBody("common", "login", "sim", "admin", "admin"), `{"id":7,"jsonrpc":"2.0","result":2}`, "", ""},
		{"login with key", jsonrpcBody("common", "authenticate", "sim", "admin", AdminAPIKey, map[string]any{}), `{"id":7,"jsonrpc":"2.0","result":2}`, "", ""},
		{"bad login", jsonrpcBody("common", "login", "sim", "admin", "wrong"), `{"id":7,"jsonrpc":"2.0","result":false}`, "", ""},
		{"version", jsonrpcBody("common", "version"), `{"id":7,"jsonrpc":"2.0","result":{"protocol_version":1,"server_serie":"19.0","server_version":"19.0","server_version_info":[19,0,0,"final",0,""]}}`, "", ""},
		{"search_read", jsonrpcBody("object", "execute_kw", "sim", 2, "admin", "res.country", "search_read", []any{[]any{[]any{"code", "=", "US"}}}, map[string]any{"fields": []any{"name"}}), `{"id":7,"jsonrpc":"2.0","result":[{"id":233,"name":"United States"}]}`, "", ""},
		{"execute", jsonrpcBody("object", "execute", "sim", 2, "admin", "res.country", "search", []any{[]any{"code", "=", "CA"}}), `{"id":7,"jsonrpc":"2.0","result":[38]}`, "", ""},
		{"bad password", jsonrpcBody("object", "execute_kw", "sim", 2, "nope", "res.partner", "search", []any{[]any{}}), "", "odoo.exceptions.AccessDenied", "Access Denied"},
		{"unknown model", jsonrpcBody("object", "execute_kw", "sim", 2, "admin", "x.y", "search", []any{[]any{}}), "", "odoo.exceptions.UserError", "Object x.y doesn't exist"},
		{"unknown method", jsonrpcBody("object", "execute_kw", "sim", 2, "admin", "res.partner", "frob", []any{}), "", "builtins.AttributeError", "The method 'res.partner.frob' does not exist"},
		{"private", jsonrpcBody("object", "execute_kw", "sim", 2, "admin", "sale.order", "_create_invoices", []any{[]any{1}}), "", "odoo.exceptions.AccessError", "Private methods"},
		{"type error", jsonrpcBody("object", "execute_kw", "sim", 2, "admin", "res.partner", "write", []any{[]any{1}}, map[string]any{"vals": map[string]any{}, "frob": 1}), "", "builtins.TypeError", "unexpected keyword argument 'frob'"},
		{"wrong db", jsonrpcBody("object", "execute_kw", "nope", 2, "admin", "res.partner", "search", []any{[]any{}}), "", "psycopg2.OperationalError", `database "nope" does not exist`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, _, body := post(t, "POST", url+"/jsonrpc", tc.body, nil)
			if status != 200 {
				t.Fatalf("status %d", status)
			}
			if tc.result != "" {
				if body != tc.result {
					t.Fatalf("got %s\nwant %s", body, tc.result)
				}
				return
			}
			var r struct {
				ID    any `json:"id"`
				Error struct {
					Code    int            `json:"code"`
					Message string         `json:"message"`
					Data    map[string]any `json:"data"`
				} `json:"error"`
			}
			json.Unmarshal([]byte(body), &r)
			if r.Error.Code != 200 || r.Error.Message != "Odoo Server Error" || keys(r.Error.Data) != "arguments,context,debug,message,name" {
				t.Fatalf("envelope %s", body)
			}
			if r.Error.Data["name"] != tc.errName || !strings.Contains(asString(r.Error.Data["message"]), tc.msgPart) {
				t.Errorf("got %v %q, want %s %q", r.Error.Data["name"], r.Error.Data["message"], tc.errName, tc.msgPart)
			}
		})
	}
	status, _, body := post(t, "GET", url+"/web/version", "", nil)
	if status != 200 || body != `{"version":"19.0","version_info":[19,0,0,"final",0,""]}` {
		t.Errorf("/web/version: %d %s", status, body)
	}
}

func xmlCall(method string, params ...string) string {
	var b bytes.Buffer
	b.WriteString("<?xml version='1.0'?>\n<methodCall><methodName>" + method + "</methodName><params>")
	for _, p := range params {
		b.WriteString("<param><value>" + p + "</value></param>")
	}
	b.WriteString("</params></methodCall>")
	return b.String()
}

func TestXMLRPCWire(t *testing.T) {
	t.Parallel()
	s, url := setup(t, Options{})
	d := s.SeedDemo()
	str := func(v string) string { return "<string>" + v + "</string>" }
	auth := []string{str("sim"), "<int>2</int>", str("admin")}
	kw := func(model, method, args string) []string {
		return append(append([]string{}, auth...), str(model), str(method), args, "<struct></struct>")
	}
	faultOf := func(code int, part string) string {
		return "<name>faultCode</name>\n<value><int>" + itoa(code) + "</int></value>|" + part
	}
	cases := []struct {
		name, service, body string
		want                []string // substrings of the reply; "a|b" means both
	}{
		{"version", "common", xmlCall("version"), []string{"<name>server_version</name>\n<value><string>19.0</string></value>", "<name>protocol_version</name>\n<value><int>1</int></value>"}},
		{"authenticate", "common", xmlCall("authenticate", str("sim"), str("admin"), str("admin"), "<struct></struct>"), []string{"<param>\n<value><int>2</int></value>"}},
		{"authenticate wrong", "common", xmlCall("authenticate", str("sim"), str("admin"), str("bad"), "<struct></struct>"), []string{"<value><boolean>0</boolean></value>"}},
		{"untyped string", "common", xmlCall("login", "sim", "admin", "admin"), []string{"<value><int>2</int></value>"}},
		{"search", "object", xmlCall("execute_kw", kw("res.country", "search", "<array><data><value><array><data><value><array><data><value>code</value><value>=</value><value>US</value></data></array></value></data></array></value></data></array>")...), []string{"<value><array><data>\n<value><int>233</int></value>"}},
		{"access denied", "object", xmlCall("execute_kw", str("sim"), "<int>2</int>", str("bad"), str("res.partner"), str("search"), "<array><data><value><array><data></data></array></value></data></array>"), []string{faultOf(3, "Access Denied")}},
		{"access error", "object", xmlCall("execute_kw", kw("sale.order", "_create_invoices", "<array><data><value><array><data><value><int>1</int></value></data></array></value></data></array>")...), []string{faultOf(4, "Private methods")}},
		{"missing record", "object", xmlCall("execute_kw", kw("res.partner", "read", "<array><data><value><array><data><value><int>999</int></value></data></array></value></data></array>")...), []string{faultOf(2, "Record does not exist")}},
		{"application error", "object", xmlCall("execute_kw", kw("res.partner", "read", "<array><data><value><array><data><value><int>1</int></value></data></array></value><value><array><data><value>nope</value></data></array></value></data></array>")...), []string{faultOf(1, "Traceback (most recent call last):|ValueError: Invalid field 'nope'")}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, hdr, body := post(t, "POST", url+"/xmlrpc/2/"+tc.service, tc.body, map[string]string{"Content-Type": "text/xml"})
			if status != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/xml") {
				t.Fatalf("status %d %s", status, hdr.Get("Content-Type"))
			}
			for _, w := range tc.want {
				for _, part := range strings.Split(w, "|") {
					if !strings.Contains(body, part) {
						t.Errorf("reply lacks %q:\n%s", part, body)
					}
				}
			}
		})
	}
	// The None pitfall: the method runs and commits, the client gets a fault.
	quant := itoa(d.Products[4].ID)
	c := &xmlrpcClient{url: url, db: "sim", password: AdminPassword, uid: AdminUID}
	q, err := c.call("stock.quant", "create", nil, map[string]any{"vals_list": map[string]any{"product_id": d.Products[4].ID, "location_id": d.Stock, "inventory_quantity": 7}, "context": map[string]any{"inventory_mode": true}})
	if err != nil {
		t.Fatal(err)
	}
	_ = quant
	_, body, _ := func() (int, string, error) {
		st, _, b := post(t, "POST", url+"/xmlrpc/2/object", xmlCall("execute_kw", kw("stock.quant", "action_apply_inventory", "<array><data><value><array><data><value><int>"+itoa(firstID(t, q))+"</int></value></data></array></value></data></array>")...), nil)
		return st, b, nil
	}()
	if !strings.Contains(body, "<int>1</int>") || !strings.Contains(body, "TypeError: cannot marshal None unless allow_none is enabled") {
		t.Fatalf("apply inventory over XML-RPC: %s", body)
	}
	if got := readOne(t, c, "product.product", d.Products[4].ID, "qty_available")["qty_available"]; asFloat(got) != 7 {
		t.Fatalf("qty_available %v after the None fault, want 7 (committed)", got)
	}
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

func TestXMLRPCLegacyStringFaults(t *testing.T) {
	t.Parallel()
	_, url := setup(t, Options{})
	body := xmlCall("execute_kw", "<string>sim</string>", "<int>2</int>", "<string>admin</string>", "<string>res.partner</string>", "<string>read</string>",
		"<array><data><value><array><data><value><int>999</int></value></data></array></value></data></array>")
	_, _, reply := post(t, "POST", url+"/xmlrpc/object", body, nil)
	if !strings.Contains(reply, "<name>faultCode</name>\n<value><string>warning -- MissingError\n\nRecord does not exist") {
		t.Fatalf("legacy fault: %s", reply)
	}
	_, _, reply = post(t, "POST", url+"/xmlrpc/common", xmlCall("version"), nil)
	if !strings.Contains(reply, "<string>19.0</string>") {
		t.Fatalf("legacy version: %s", reply)
	}
}

func TestJSON2CreateReturnsList(t *testing.T) {
	t.Parallel()
	_, url := setup(t, Options{})
	status, _, body := post(t, "POST", url+"/json/2/res.partner/create", `{"vals_list":{"name":"Solo"}}`, map[string]string{"Authorization": "bearer " + AdminAPIKey})
	if status != 200 || !strings.HasPrefix(body, "[") {
		t.Fatalf("%d %s", status, body)
	}
	_, _, body = post(t, "POST", url+"/jsonrpc", jsonrpcBody("object", "execute_kw", "sim", 2, "admin", "res.partner", "create", []any{map[string]any{"name": "Solo"}}), nil)
	if !strings.Contains(body, `"result":8`) {
		t.Fatalf("execute_kw create with a dict: %s", body)
	}
}

func TestNameSearchAndFieldsGet(t *testing.T) {
	t.Parallel()
	s, url := setup(t, Options{})
	d := s.SeedDemo()
	c := adminJSON2(url)
	got := mustCall(t, c, "product.product", "name_search", nil, map[string]any{"name": "widget", "limit": 5}).([]any)
	if len(got) != 2 || got[0].([]any)[1] != "[WID-10] Widget 10 mm" {
		t.Fatalf("name_search: %v", got)
	}
	fg := mustCall(t, c, "sale.order", "fields_get", nil, map[string]any{"allfields": []any{"state", "partner_id", "order_line"}, "attributes": []any{"type", "relation", "selection"}}).(map[string]any)
	if len(fg) != 3 || fg["partner_id"].(map[string]any)["relation"] != "res.partner" || fg["order_line"].(map[string]any)["type"] != "one2many" {
		t.Fatalf("fields_get: %v", fg)
	}
	if sel := fg["state"].(map[string]any)["selection"].([]any); len(sel) != 4 {
		t.Fatalf("state selection %v", sel)
	}
	rows := mustCall(t, c, "res.partner", "read", []int{d.Customers[0].Delivery}, map[string]any{"fields": []any{"parent_id", "display_name", "email"}, "load": nil}).([]any)
	row := rows[0].(map[string]any)
	if row["parent_id"] != d.Customers[0].ID || row["display_name"] != "Acme Corporation, Acme Corporation Warehouse" || row["email"] != false {
		t.Fatalf("read load=None: %v", row)
	}
}

func FuzzDecodeMethodCall(f *testing.F) {
	f.Add(xmlCall("execute_kw", "<string>sim</string>", "<int>2</int>", "<struct><member><name>a</name><value><array><data><value><boolean>1</boolean></value><value><double>1.5</double></value></data></array></value></member></struct>"))
	f.Add(xmlCall("version"))
	f.Add("<methodCall><methodName>x</methodName><params><param><value><nil/></value></param></params></methodCall>")
	f.Fuzz(func(t *testing.T, src string) {
		name, params, err := decodeMethodCall(strings.NewReader(src))
		if err != nil {
			return
		}
		if name == "" {
			t.Fatal("decoded a call without a method name")
		}
		var b bytes.Buffer
		for _, p := range params {
			encodeValue(&b, p) // must not panic
		}
	})
}

func TestDeleteRules(t *testing.T) {
	t.Parallel()
	s, url := setup(t, Options{})
	d := s.SeedDemo()
	c := adminJSON2(url)
	so := firstID(t, mustCall(t, c, "sale.order", "create", nil, map[string]any{"vals_list": map[string]any{"partner_id": d.Customers[0].ID,
		"order_line": []any{[]any{0, 0, map[string]any{"product_id": d.Products[0].ID}}}}}))
	mustCall(t, c, "sale.order", "action_confirm", []int{so}, nil)
	if _, err := c.call("sale.order", "unlink", []int{so}, nil); err == nil || !strings.Contains(err.Error(), "You must first cancel it") {
		t.Fatalf("unlink a confirmed order: %v", err)
	}
	mustCall(t, c, "sale.order", "action_cancel", []int{so}, nil)
	mustCall(t, c, "sale.order", "unlink", []int{so}, nil)
	if n := mustCall(t, c, "sale.order.line", "search_count", nil, map[string]any{"domain": []any{}}); n != 0 {
		t.Fatalf("%v lines left after unlinking their order", n)
	}
	pl := readOne(t, c, "res.partner", d.Customers[0].ID, "property_product_pricelist")["property_product_pricelist"].([]any)
	if pl[1] != "Wholesale (USD)" {
		t.Fatalf("pricelist display name %v", pl)
	}
}

func TestSmallORMMethods(t *testing.T) {
	t.Parallel()
	s, url := setup(t, Options{})
	s.AddUser("clerk", "clerk", "clerk-key")
	c := adminJSON2(url)
	clerk := &json2Client{url: url, key: "clerk-key"}
	nc := mustCall(t, c, "res.partner", "name_create", nil, map[string]any{"name": "Quick"}).([]any)
	if nc[1] != "Quick" {
		t.Errorf("name_create %v", nc)
	}
	if ok := mustCall(t, clerk, "sale.order", "check_access_rights", nil, map[string]any{"operation": "read", "raise_exception": false}); ok != false {
		t.Errorf("clerk may read orders: %v", ok)
	}
	if _, err := clerk.call("sale.order", "check_access_rights", nil, map[string]any{"operation": "write"}); err == nil {
		t.Error("check_access_rights did not raise")
	}
	if ok := mustCall(t, c, "sale.order", "has_access", []int{}, map[string]any{"operation": "write"}); ok != true {
		t.Errorf("admin has_access %v", ok)
	}
	if ctx := mustCall(t, c, "res.users", "context_get", nil, nil).(map[string]any); ctx["uid"] != AdminUID {
		t.Errorf("context_get %v", ctx)
	}
}

func TestVersionRoutes(t *testing.T) {
	t.Parallel()
	_, url := setup(t, Options{})
	for _, tc := range []struct{ method, path, body, want string }{
		{"GET", "/web/version", "", `{"version":"19.0","version_info":[19,0,0,"final",0,""]}`},
		{"POST", "/json/version", `{}`, `{"version":"19.0","version_info":[19,0,0,"final",0,""]}`},
		{"POST", "/web/webclient/version_info", `{"jsonrpc":"2.0","method":"call","id":3,"params":{}}`, `{"id":3,"jsonrpc":"2.0","result":{"server_serie":"19.0","server_version":"19.0","server_version_info":[19,0,0,"final",0,""]}}`},
	} {
		status, _, body := post(t, tc.method, url+tc.path, tc.body, nil)
		if status != 200 || body != tc.want {
			t.Errorf("%s %s: %d %s", tc.method, tc.path, status, body)
		}
	}
}
