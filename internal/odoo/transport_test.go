package odoo

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/waybill-hub/waybill"
)

// fakeClient returns a Client of protocol p whose every object call is answered by h.
func fakeClient(t *testing.T, p Protocol, h http.HandlerFunc, mod func(*Config)) *Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch {
		case r.URL.Path == "/jsonrpc" && strings.Contains(string(body), `"service":"common"`):
			_, _ = io.WriteString(w, `{"jsonrpc":"2.0","id":1,"result":2}`)
			return
		case r.URL.Path == "/xmlrpc/2/common":
			_, _ = io.WriteString(w, `<?xml version="1.0"?><methodResponse><params><param><value><int>2</int></value></param></params></methodResponse>`)
			return
		}
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	cfg := Config{URL: srv.URL, Database: "db", User: "admin", APIKey: "k", Protocol: p, Version: "19.0", RetryBase: time.Millisecond}
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func json2Error(status int, name, msg string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]any{"name": name, "message": msg, "debug": "Traceback ...\n" + name + ": " + msg})
	}
}

func jsonrpcError(name, msg string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"jsonrpc": "2.0", "id": 1, "error": map[string]any{
			"code": 200, "message": "Odoo Server Error", "data": map[string]any{"name": name, "message": msg, "debug": "Traceback"}}})
	}
}

func xmlFaultH(code int, s string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `<?xml version="1.0"?><methodResponse><fault><value><struct><member><name>faultCode</name><value><int>`+
			itoa(int64(code))+`</int></value></member><member><name>faultString</name><value><string>`+s+`</string></value></member></struct></value></fault></methodResponse>`)
	}
}

func TestErrorClassification(t *testing.T) {
	t.Parallel()
	tb := "Traceback (most recent call last):\n  File x\n"
	tests := []struct {
		name  string
		proto Protocol
		h     http.HandlerFunc
		code  waybill.ErrorCode
		msg   string
	}{
		{"json2 bad key", ProtocolJSON2, json2Error(401, "werkzeug.exceptions.Unauthorized", "Invalid apikey"), waybill.EUNAUTHORIZED, ""},
		{"json2 private method", ProtocolJSON2, json2Error(403, "odoo.exceptions.AccessError", "Private methods (such as sale.order._create_invoices) cannot be called remotely."), waybill.EFORBIDDEN, "Private methods"},
		{"json2 missing", ProtocolJSON2, json2Error(404, "odoo.exceptions.MissingError", "Record does not exist or has been deleted."), waybill.ENOTFOUND, ""},
		{"json2 unknown model", ProtocolJSON2, json2Error(404, "werkzeug.exceptions.NotFound", "no model"), waybill.ENOTFOUND, ""},
		{"json2 user error", ProtocolJSON2, json2Error(422, "odoo.exceptions.UserError", "Nope, not today"), waybill.EREJECTED, "Nope, not today"},
		{"json2 signature", ProtocolJSON2, json2Error(422, "werkzeug.exceptions.UnprocessableEntity", "bad args"), waybill.EINVALID, ""},
		{"json2 serialization", ProtocolJSON2, json2Error(500, "psycopg2.errors.SerializationFailure", "could not serialize access due to concurrent update"), waybill.EUNAVAILABLE, ""},
		{"json2 type error", ProtocolJSON2, json2Error(500, "builtins.TypeError", "unexpected keyword"), waybill.EINTERNAL, ""},
		{"json2 502 html", ProtocolJSON2, func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(502)
			_, _ = io.WriteString(w, "<html>bad gateway</html>")
		}, waybill.EUNAVAILABLE, ""},
		{"json2 429", ProtocolJSON2, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(429) }, waybill.EUNAVAILABLE, ""},
		{"jsonrpc validation", ProtocolJSONRPC, jsonrpcError("odoo.exceptions.ValidationError", "The PO is wrong"), waybill.EREJECTED, "The PO is wrong"},
		{"jsonrpc access", ProtocolJSONRPC, jsonrpcError("odoo.exceptions.AccessError", "You are not allowed"), waybill.EFORBIDDEN, ""},
		{"jsonrpc denied", ProtocolJSONRPC, jsonrpcError("odoo.exceptions.AccessDenied", "Access Denied"), waybill.EUNAUTHORIZED, ""},
		{"jsonrpc missing", ProtocolJSONRPC, jsonrpcError("odoo.exceptions.MissingError", "Record does not exist"), waybill.ENOTFOUND, ""},
		{"jsonrpc 503", ProtocolJSONRPC, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) }, waybill.EUNAVAILABLE, ""},
		{"xmlrpc user error", ProtocolXMLRPC, xmlFaultH(2, "Cannot confirm"), waybill.EREJECTED, "Cannot confirm"},
		{"xmlrpc missing", ProtocolXMLRPC, xmlFaultH(2, "Record does not exist or has been deleted.\n(Record: sale.order(999,), User: 2)"), waybill.ENOTFOUND, ""},
		{"xmlrpc denied", ProtocolXMLRPC, xmlFaultH(3, "Access Denied"), waybill.EUNAUTHORIZED, ""},
		{"xmlrpc access", ProtocolXMLRPC, xmlFaultH(4, "Private methods cannot be called remotely"), waybill.EFORBIDDEN, ""},
		{"xmlrpc serialization", ProtocolXMLRPC, xmlFaultH(1, tb+"psycopg2.errors.SerializationFailure: could not serialize access due to concurrent update"), waybill.EUNAVAILABLE, ""},
		{"xmlrpc app error", ProtocolXMLRPC, xmlFaultH(1, tb+"KeyError: 'foo'"), waybill.EINTERNAL, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := fakeClient(t, tt.proto, tt.h, func(c *Config) { c.MaxRetries = -1 })
			_, err := c.Call(context.Background(), "sale.order", "write", []any{[]any{1}, map[string]any{}}, nil)
			if got := waybill.Code(err); got != tt.code {
				t.Fatalf("code = %q, want %q (err %v)", got, tt.code, err)
			}
			if tt.msg != "" && !strings.Contains(waybill.Message(err), tt.msg) {
				t.Errorf("message %q lacks %q", waybill.Message(err), tt.msg)
			}
		})
	}
}

func TestXMLRPCNoneFaultIsSuccess(t *testing.T) {
	t.Parallel()
	c := fakeClient(t, ProtocolXMLRPC, xmlFaultH(1, "Traceback...\nTypeError: cannot marshal None unless allow_none is enabled"), nil)
	v, err := c.Call(context.Background(), "stock.quant", "action_apply_inventory", []any{[]any{1}}, nil)
	if err != nil || v != nil {
		t.Fatalf("got %v, %v; want nil, nil", v, err)
	}
}

func TestXMLRPCRoundTrip(t *testing.T) {
	t.Parallel()
	var got string
	c := fakeClient(t, ProtocolXMLRPC, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = string(b)
		_, _ = io.WriteString(w, `<?xml version="1.0"?><methodResponse><params><param><value><array><data>
<value><struct><member><name>id</name><value><int>7</int></value></member>
<member><name>name</name><value><string>S&amp;00007</string></value></member>
<member><name>partner_id</name><value><array><data><value><int>3</int></value><value>Acme</value></data></array></value></member>
<member><name>amount_total</name><value><double>10.35</double></value></member>
<member><name>note</name><value><boolean>0</boolean></value></member></struct></value>
</data></array></value></param></params></methodResponse>`)
	}, nil)
	rs, err := c.searchRead(context.Background(), "sale.order", []any{[]any{"client_order_ref", "=", "A<B"}}, []string{"name"}, map[string]any{"limit": 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<methodName>execute_kw</methodName>", "<string>A&lt;B</string>", "<name>limit</name><value><int>1</int></value>", "<int>2</int>"} {
		if !strings.Contains(got, want) {
			t.Errorf("request lacks %s:\n%s", want, got)
		}
	}
	r := rs[0]
	if r.ID() != 7 || r.Str("name") != "S&00007" || r.M2O("partner_id", "res.partner").Name != "Acme" ||
		r.Dec("amount_total") != waybill.MustDecimal("10.35") || r.Str("note") != "" {
		t.Errorf("decoded %v", r)
	}
}

func TestJSON2NamedArguments(t *testing.T) {
	t.Parallel()
	var path, auth, db string
	var body map[string]any
	c := fakeClient(t, ProtocolJSON2, func(w http.ResponseWriter, r *http.Request) {
		path, auth, db = r.URL.Path, r.Header.Get("Authorization"), r.Header.Get("X-Odoo-Database")
		_ = json.NewDecoder(r.Body).Decode(&body)
		_, _ = io.WriteString(w, `[41]`)
	}, nil)
	ids, err := c.Create(context.Background(), "sale.order", []map[string]any{{"partner_id": 3}}, map[string]any{"lang": "en_US"})
	if err != nil || len(ids) != 1 || ids[0] != 41 {
		t.Fatalf("Create = %v, %v", ids, err)
	}
	if path != "/json/2/sale.order/create" || auth != "bearer k" || db != "db" {
		t.Errorf("path %q auth %q db %q", path, auth, db)
	}
	if _, ok := body["vals_list"].([]any); !ok || body["context"] == nil {
		t.Errorf("body %v", body)
	}
	if _, err := c.Call(context.Background(), "sale.order", "action_confirm", []any{[]any{1}}, nil); err != nil {
		t.Fatal(err)
	}
	if body["ids"] == nil {
		t.Errorf("record method body %v lacks ids", body)
	}
	_, err = c.Call(context.Background(), "sale.order", "mystery", []any{[]any{1}, "positional"}, nil)
	if waybill.Code(err) != waybill.EINVALID {
		t.Errorf("extra positional argument: %v", err)
	}
}

func TestRetries(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	flaky := func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) <= 2 {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		_, _ = io.WriteString(w, `[]`)
	}
	c := fakeClient(t, ProtocolJSON2, flaky, nil)
	if _, err := c.Call(context.Background(), "sale.order", "search_read", []any{[]any{}}, nil); err != nil {
		t.Fatalf("read after two 502: %v", err)
	}
	if n.Load() != 3 {
		t.Errorf("calls = %d, want 3", n.Load())
	}
	// A write whose outcome is unknown (502) is not retried by the client...
	n.Store(0)
	_, err := c.Call(context.Background(), "sale.order", "create", []any{[]any{map[string]any{}}}, nil)
	if waybill.Code(err) != waybill.EUNAVAILABLE || n.Load() != 1 {
		t.Errorf("write after 502: calls %d, err %v", n.Load(), err)
	}
	// ...but one that certainly did not run (429) is.
	n.Store(0)
	c2 := fakeClient(t, ProtocolJSON2, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		_, _ = io.WriteString(w, `[5]`)
	}, nil)
	if _, err := c2.Create(context.Background(), "sale.order", []map[string]any{{}}, nil); err != nil || n.Load() != 2 {
		t.Errorf("write after 429: calls %d, err %v", n.Load(), err)
	}
}

func TestTransportFailures(t *testing.T) {
	t.Parallel()
	// Connection refused: a listener closed at once.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	c, err := New(context.Background(), Config{URL: "http://" + addr, APIKey: "k", Protocol: ProtocolJSON2, Version: "19.0", MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Call(context.Background(), "res.partner", "search_count", []any{[]any{}}, nil)
	if waybill.Code(err) != waybill.EUNAVAILABLE || !notExecuted(err) {
		t.Errorf("refused: %v (code %s)", err, waybill.Code(err))
	}
	// Reset: the server hijacks and closes the connection.
	reset := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, _ := w.(http.Hijacker).Hijack()
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
		conn.Close()
	}))
	t.Cleanup(reset.Close)
	c, _ = New(context.Background(), Config{URL: reset.URL, APIKey: "k", Protocol: ProtocolJSON2, Version: "19.0", MaxRetries: -1})
	_, err = c.Call(context.Background(), "res.partner", "search_count", []any{[]any{}}, nil)
	if waybill.Code(err) != waybill.EUNAVAILABLE {
		t.Errorf("reset: %v", err)
	}
	// Time-out: the server answers after the call's deadline.
	block := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(block); slow.Close() })
	c, _ = New(context.Background(), Config{URL: slow.URL, APIKey: "k", Protocol: ProtocolJSON2, Version: "19.0", MaxRetries: -1, Timeout: 50 * time.Millisecond})
	_, err = c.Call(context.Background(), "res.partner", "search_count", []any{[]any{}}, nil)
	if waybill.Code(err) != waybill.EUNAVAILABLE || !strings.Contains(err.Error(), "timed out") {
		t.Errorf("time-out: %v", err)
	}
}

func TestBreaker(t *testing.T) {
	t.Parallel()
	var down atomic.Bool
	down.Store(true)
	var n atomic.Int32
	c := fakeClient(t, ProtocolJSON2, func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		if down.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, `0`)
	}, func(c *Config) { c.MaxRetries = -1; c.Breaker = BreakerConfig{Failures: 3, Cooldown: time.Hour} })
	now := time.Now()
	c.breaker.now = func() time.Time { return now }
	call := func() error {
		_, err := c.Call(context.Background(), "res.partner", "search_count", []any{[]any{}}, nil)
		return err
	}
	for i := 0; i < 3; i++ {
		_ = call()
	}
	if c.BreakerState() != BreakerOpen {
		t.Fatalf("state %s after 3 failures", c.BreakerState())
	}
	err := call()
	var e *Error
	if !errors.Is(err, ErrBreakerOpen) || waybill.Code(err) != waybill.EUNAVAILABLE || !errors.As(err, &e) || e.RetryAfter != time.Hour {
		t.Fatalf("open breaker: %v", err)
	}
	if n.Load() != 3 {
		t.Errorf("calls reached Odoo while open: %d", n.Load())
	}
	down.Store(false)
	now = now.Add(time.Hour)
	if c.BreakerState() != BreakerHalfOpen {
		t.Errorf("state %s after cool-down", c.BreakerState())
	}
	if err := call(); err != nil {
		t.Fatalf("probe: %v", err)
	}
	if c.BreakerState() != BreakerClosed {
		t.Errorf("state %s after a good probe", c.BreakerState())
	}
}

func TestBucket(t *testing.T) {
	t.Parallel()
	b := newBucket(10, 2)
	now := time.Unix(0, 0)
	b.now = func() time.Time { return now }
	ctx := context.Background()
	_ = b.wait(ctx)
	_ = b.wait(ctx)
	cctx, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	if err := b.wait(cctx); err == nil {
		t.Fatal("third token without time passing")
	}
	now = now.Add(100 * time.Millisecond)
	if err := b.wait(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestConcurrencyLimit(t *testing.T) {
	t.Parallel()
	var in, peak atomic.Int32
	c := fakeClient(t, ProtocolJSON2, func(w http.ResponseWriter, r *http.Request) {
		v := in.Add(1)
		for {
			p := peak.Load()
			if v <= p || peak.CompareAndSwap(p, v) {
				break
			}
		}
		time.Sleep(5 * time.Millisecond)
		in.Add(-1)
		_, _ = io.WriteString(w, `0`)
	}, func(c *Config) { c.MaxConcurrency = 2 })
	done := make(chan struct{})
	for i := 0; i < 8; i++ {
		go func() {
			_, _ = c.Call(context.Background(), "res.partner", "search_count", []any{[]any{}}, nil)
			done <- struct{}{}
		}()
	}
	for i := 0; i < 8; i++ {
		<-done
	}
	if peak.Load() > 2 {
		t.Errorf("peak concurrency %d > 2", peak.Load())
	}
}

func TestWebhookHandler(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	h := WebhookHandler("s3cret", func() { hits.Add(1) })
	for _, tt := range []struct {
		method, target string
		header         map[string]string
		want           int
	}{
		{"POST", "/hook?token=s3cret", nil, 204},
		{"POST", "/hook", map[string]string{"X-Waybill-Token": "s3cret"}, 204},
		{"POST", "/hook", map[string]string{"Authorization": "Bearer s3cret"}, 204},
		{"POST", "/hook?token=wrong", nil, 401},
		{"POST", "/hook", nil, 401},
		{"GET", "/hook?token=s3cret", nil, 405},
	} {
		req := httptest.NewRequest(tt.method, tt.target, strings.NewReader(`{"_model":"sale.order","_id":1}`))
		for k, v := range tt.header {
			req.Header.Set(k, v)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tt.want {
			t.Errorf("%s %s %v: %d, want %d", tt.method, tt.target, tt.header, rec.Code, tt.want)
		}
	}
	if hits.Load() != 3 {
		t.Errorf("notified %d times, want 3", hits.Load())
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	err := Config{URL: "ftp://x", Protocol: "soap"}.Validate()
	for _, want := range []string{"odoo.url", "odoo.protocol", "odoo.api_key"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want mention of %s", err, want)
		}
	}
	err = Config{URL: "https://erp.example.com", APIKey: "k", Protocol: ProtocolXMLRPC}.Validate()
	if err == nil || !strings.Contains(err.Error(), "odoo.database") || !strings.Contains(err.Error(), "odoo.user") {
		t.Errorf("xmlrpc without database and user: %v", err)
	}
	if err := (Config{URL: "https://erp.example.com", APIKey: "k", Protocol: ProtocolJSON2}).Validate(); err != nil {
		t.Errorf("minimal JSON-2 config: %v", err)
	}
}

func TestGTINVariants(t *testing.T) {
	t.Parallel()
	got := strings.Join(gtinVariants("00012345678905"), ",")
	if !strings.Contains(got, "012345678905") || !strings.Contains(got, "0012345678905") {
		t.Errorf("variants %s", got)
	}
}
