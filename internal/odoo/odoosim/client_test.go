package odoosim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/kolo/xmlrpc"
)

// rpcError is an error returned by a protocol client in tests: the Odoo
// exception class (or XML-RPC fault code) and message.
type rpcError struct {
	Status  int
	Name    string
	Message string
	Fault   int
}

func (e *rpcError) Error() string {
	return fmt.Sprintf("status %d fault %d %s: %s", e.Status, e.Fault, e.Name, e.Message)
}

// caller is a minimal Odoo client for one protocol. ids nil means a
// model-level call; kw holds named arguments.
type caller interface {
	call(model, method string, ids []int, kw map[string]any) (any, error)
	name() string
}

type json2Client struct {
	url, key string
}

func (c *json2Client) name() string { return "json2" }

func (c *json2Client) call(model, method string, ids []int, kw map[string]any) (any, error) {
	body := map[string]any{}
	for k, v := range kw {
		body[k] = v
	}
	if ids != nil {
		body["ids"] = ids
	}
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", c.url+"/json/2/"+model+"/"+method, bytes.NewReader(b))
	req.Header.Set("Authorization", "bearer "+c.key)
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out any
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(&out); err != nil {
		return nil, fmt.Errorf("status %d: %s", resp.StatusCode, raw)
	}
	out = normalize(out)
	if resp.StatusCode != 200 {
		m, _ := out.(map[string]any)
		return nil, &rpcError{Status: resp.StatusCode, Name: asString(m["name"]), Message: asString(m["message"])}
	}
	return out, nil
}

type jsonrpcClient struct {
	url, db, password string
	uid               int
}

func (c *jsonrpcClient) name() string { return "jsonrpc" }

func (c *jsonrpcClient) raw(service, method string, args ...any) (any, error) {
	b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "method": "call", "id": 1,
		"params": map[string]any{"service": service, "method": method, "args": args}})
	resp, err := http.Post(c.url+"/jsonrpc", "application/json", bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out map[string]any
	d := json.NewDecoder(resp.Body)
	d.UseNumber()
	if err := d.Decode(&out); err != nil {
		return nil, err
	}
	out = normalize(out).(map[string]any)
	if e, ok := out["error"].(map[string]any); ok {
		data := e["data"].(map[string]any)
		code, _ := asInt(e["code"])
		return nil, &rpcError{Status: resp.StatusCode, Name: asString(data["name"]), Message: asString(data["message"]), Fault: code}
	}
	return out["result"], nil
}

func (c *jsonrpcClient) call(model, method string, ids []int, kw map[string]any) (any, error) {
	args := []any{}
	if ids != nil {
		args = append(args, intsToAny(ids))
	}
	if kw == nil {
		kw = map[string]any{}
	}
	return c.raw("object", "execute_kw", c.db, c.uid, c.password, model, method, args, kw)
}

type xmlrpcClient struct {
	url, db, password string
	uid               int
}

func (c *xmlrpcClient) name() string { return "xmlrpc" }

func (c *xmlrpcClient) raw(service, method string, args ...any) (any, error) {
	cl, err := xmlrpc.NewClient(c.url+"/xmlrpc/2/"+service, nil)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	var out any
	if err := cl.Call(method, args, &out); err != nil {
		if f, ok := err.(xmlrpc.FaultError); ok {
			return nil, &rpcError{Status: 200, Fault: f.Code, Message: f.String}
		}
		// net/rpc turns the fault into a ServerError holding "Fault(code): text".
		var code int
		var text string
		if n, _ := fmt.Sscanf(err.Error(), "Fault(%d):", &code); n == 1 {
			_, text, _ = strings.Cut(err.Error(), "): ")
			return nil, &rpcError{Status: 200, Fault: code, Message: text}
		}
		return nil, err
	}
	return fromKolo(out), nil
}

// fromKolo converts kolo's decoded values to the simulator's shapes.
func fromKolo(v any) any {
	switch x := v.(type) {
	case int64:
		return int(x)
	case []any:
		for i := range x {
			x[i] = fromKolo(x[i])
		}
		return x
	case map[string]any:
		for k := range x {
			x[k] = fromKolo(x[k])
		}
		return x
	}
	return v
}

func (c *xmlrpcClient) call(model, method string, ids []int, kw map[string]any) (any, error) {
	args := []any{}
	if ids != nil {
		args = append(args, intsToAny(ids))
	}
	if kw == nil {
		kw = map[string]any{}
	}
	return c.raw("object", "execute_kw", c.db, c.uid, c.password, model, method, args, kw)
}

// setup starts a Server behind an httptest server.
func setup(t testing.TB, opts Options) (*Server, string) {
	t.Helper()
	s := New(opts)
	ts := httptest.NewServer(s)
	t.Cleanup(func() {
		ts.Close()
		s.Close()
	})
	return s, ts.URL
}

func clients(url, db string) []caller {
	return []caller{
		&json2Client{url: url, key: AdminAPIKey},
		&jsonrpcClient{url: url, db: db, password: AdminPassword, uid: AdminUID},
		&xmlrpcClient{url: url, db: db, password: AdminAPIKey, uid: AdminUID},
	}
}

// isNoneFault reports whether err is XML-RPC's "cannot marshal None" fault.
func isNoneFault(err error) bool {
	e, ok := err.(*rpcError)
	return ok && e.Fault == 1 && strings.Contains(e.Message, "cannot marshal None unless allow_none is enabled")
}

func mustCall(t *testing.T, c caller, model, method string, ids []int, kw map[string]any) any {
	t.Helper()
	res, err := c.call(model, method, ids, kw)
	if err != nil {
		t.Fatalf("%s %s.%s: %v", c.name(), model, method, err)
	}
	return res
}

func firstID(t *testing.T, v any) int {
	t.Helper()
	switch x := v.(type) {
	case []any:
		if len(x) > 0 {
			id, _ := asInt(x[0])
			return id
		}
	default:
		if id, ok := asInt(x); ok {
			return id
		}
	}
	t.Fatalf("no id in %#v", v)
	return 0
}

func readOne(t *testing.T, c caller, model string, id int, fields ...string) map[string]any {
	t.Helper()
	res := mustCall(t, c, model, "read", []int{id}, map[string]any{"fields": fields})
	rows, _ := res.([]any)
	if len(rows) != 1 {
		t.Fatalf("read %s %d: %#v", model, id, res)
	}
	return rows[0].(map[string]any)
}

func decodeJSON(t testing.TB, src string) any {
	t.Helper()
	v, ok := tryJSON(src)
	if !ok {
		t.Fatalf("bad JSON %s", src)
	}
	return v
}

func tryJSON(src string) (any, bool) {
	var v any
	d := json.NewDecoder(strings.NewReader(src))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		return nil, false
	}
	return normalize(v), true
}
