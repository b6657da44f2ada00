package odoo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// transport performs one call of a model method, execute_kw style: args are positional (ids first
// for record methods), kwargs are named. It classifies failures into *Error.
type transport interface {
	call(ctx context.Context, model, method string, args []any, kwargs map[string]any) (any, error)
	protocol() Protocol
}

// httpPoster posts a body and returns the reply; it is shared by the three transports.
type httpPoster struct {
	hc        *http.Client
	userAgent string
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

const maxReply = 256 << 20

func (p *httpPoster) post(ctx context.Context, url, contentType string, body []byte, header map[string]string) (*reply, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, &Error{Kind: KindInvalid, Message: "building request", Err: err}
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("User-Agent", p.userAgent)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := p.hc.Do(req)
	if err != nil {
		return nil, classifyTransport(ctx, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxReply))
	if err != nil {
		return nil, classifyTransport(ctx, err)
	}
	return &reply{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// retryAfter reads a Retry-After header in seconds.
func retryAfter(h http.Header) time.Duration {
	if s := h.Get("Retry-After"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n >= 0 {
			return time.Duration(n) * time.Second
		}
	}
	return 0
}

// decodeJSON decodes a JSON value keeping numbers exact (json.Number).
func decodeJSON(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	return d.Decode(v)
}

// odooException is the error body of JSON-2 and the "data" of a JSON-RPC error.
type odooException struct {
	Name    string `json:"name"`
	Message string `json:"message"`
	Debug   string `json:"debug"`
}

// statusError classifies a reply whose status is not 200 (and that is not a JSON-RPC envelope).
func statusError(r *reply) *Error {
	var ex odooException
	_ = decodeJSON(r.body, &ex)
	if ex.Message == "" && ex.Name == "" && len(r.body) > 0 && len(r.body) < 512 && !bytes.HasPrefix(bytes.TrimSpace(r.body), []byte("<")) {
		ex.Message = string(bytes.TrimSpace(r.body))
	}
	e := classifyHTTP(r.status, ex.Name, ex.Message, ex.Debug)
	e.RetryAfter = retryAfter(r.header)
	return e
}

// ---- JSON-2 ----

// json2 speaks Odoo 19's JSON-2 API: POST /json/2/<model>/<method> with named arguments only.
type json2 struct {
	httpPoster
	base, db, key string
}

func (t *json2) protocol() Protocol { return ProtocolJSON2 }

// positionalNames names the positional arguments (after ids) of the ORM methods the connector
// uses, so that an execute_kw style call can be sent to JSON-2, which takes named arguments only.
var positionalNames = map[string][]string{
	"create":       {"vals_list"},
	"search":       {"domain"},
	"search_read":  {"domain", "fields"},
	"search_count": {"domain"},
	"read_group":   {"domain", "fields", "groupby"},
	"name_search":  {"name"},
	"fields_get":   {"allfields", "attributes"},
	"default_get":  {"fields_list"},
	"read":         {"fields"},
	"write":        {"vals"},
}

// modelMethods are called on the model, not on records: their first positional argument is not ids.
var modelMethods = map[string]bool{
	"create": true, "search": true, "search_read": true, "search_count": true, "read_group": true,
	"name_search": true, "fields_get": true, "default_get": true, "name_create": true,
	"check_access_rights": true, "has_access": true, "web_search_read": true,
}

// namedArgs turns execute_kw arguments into JSON-2 named arguments.
func namedArgs(method string, args []any, kwargs map[string]any) (map[string]any, error) {
	body := make(map[string]any, len(kwargs)+2)
	for k, v := range kwargs {
		body[k] = v
	}
	rest := args
	if !modelMethods[method] && len(rest) > 0 {
		body["ids"] = rest[0]
		rest = rest[1:]
	}
	names := positionalNames[method]
	for i, a := range rest {
		if i >= len(names) {
			return nil, &Error{Kind: KindInvalid, Method: method, Message: fmt.Sprintf("JSON-2 needs named arguments: pass argument %d of %s as a keyword", i+1, method)}
		}
		body[names[i]] = a
	}
	if method == "create" {
		if v, ok := body["vals_list"]; ok {
			if m, ok := v.(map[string]any); ok {
				body["vals_list"] = []any{m}
			}
		}
	}
	return body, nil
}

func (t *json2) call(ctx context.Context, model, method string, args []any, kwargs map[string]any) (any, error) {
	body, err := namedArgs(method, args, kwargs)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(body)
	if err != nil {
		return nil, &Error{Kind: KindInvalid, Message: "encoding arguments", Err: err}
	}
	h := map[string]string{"Authorization": "bearer " + t.key}
	if t.db != "" {
		h["X-Odoo-Database"] = t.db
	}
	r, err := t.post(ctx, t.base+"/json/2/"+model+"/"+method, "application/json; charset=utf-8", b, h)
	if err != nil {
		return nil, err
	}
	if r.status != http.StatusOK {
		return nil, statusError(r)
	}
	var v any
	if err := decodeJSON(r.body, &v); err != nil {
		return nil, &Error{Kind: KindInternal, Status: r.status, Message: "unreadable JSON-2 reply", Err: err}
	}
	return v, nil
}

// ---- JSON-RPC ----

// jsonrpc speaks Odoo's JSON-RPC at /jsonrpc (services common and object).
type jsonrpc struct {
	httpPoster
	base, db, login, secret string
	uid                     atomic.Int64
	seq                     atomic.Int64
}

func (t *jsonrpc) protocol() Protocol { return ProtocolJSONRPC }

type rpcEnvelope struct {
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int           `json:"code"`
		Message string        `json:"message"`
		Data    odooException `json:"data"`
	} `json:"error"`
}

func (t *jsonrpc) rpc(ctx context.Context, service, method string, args []any) (any, error) {
	req := map[string]any{
		"jsonrpc": "2.0", "method": "call", "id": t.seq.Add(1),
		"params": map[string]any{"service": service, "method": method, "args": args},
	}
	b, err := json.Marshal(req)
	if err != nil {
		return nil, &Error{Kind: KindInvalid, Message: "encoding arguments", Err: err}
	}
	r, err := t.post(ctx, t.base+"/jsonrpc", "application/json", b, nil)
	if err != nil {
		return nil, err
	}
	var env rpcEnvelope
	if r.status != http.StatusOK || decodeJSON(r.body, &env) != nil {
		if r.status == http.StatusOK {
			return nil, &Error{Kind: KindInternal, Status: r.status, Message: "unreadable JSON-RPC reply"}
		}
		return nil, statusError(r)
	}
	if env.Error != nil {
		d := env.Error.Data
		msg := d.Message
		if msg == "" {
			msg = env.Error.Message
		}
		e := classifyHTTP(0, d.Name, msg, d.Debug)
		if d.Name == "" && env.Error.Code == 100 { // session expired
			e.Kind = KindAuth
		}
		return nil, e
	}
	var v any
	if len(env.Result) > 0 {
		if err := decodeJSON(env.Result, &v); err != nil {
			return nil, &Error{Kind: KindInternal, Message: "unreadable JSON-RPC result", Err: err}
		}
	}
	return v, nil
}

func (t *jsonrpc) authenticate(ctx context.Context) error {
	v, err := t.rpc(ctx, "common", "authenticate", []any{t.db, t.login, t.secret, map[string]any{}})
	if err != nil {
		return err
	}
	uid, ok := asInt(v)
	if !ok || uid == 0 {
		return &Error{Kind: KindAuth, Name: "odoo.exceptions.AccessDenied", Message: "Access Denied: wrong login, password or API key"}
	}
	t.uid.Store(uid)
	return nil
}

func (t *jsonrpc) call(ctx context.Context, model, method string, args []any, kwargs map[string]any) (any, error) {
	if t.uid.Load() == 0 {
		if err := t.authenticate(ctx); err != nil {
			return nil, err
		}
	}
	if args == nil {
		args = []any{}
	}
	if kwargs == nil {
		kwargs = map[string]any{}
	}
	return t.rpc(ctx, "object", "execute_kw", []any{t.db, t.uid.Load(), t.secret, model, method, args, kwargs})
}

// ---- XML-RPC ----

// xmlrpcT speaks Odoo's XML-RPC at /xmlrpc/2/common and /xmlrpc/2/object.
type xmlrpcT struct {
	httpPoster
	base, db, login, secret string
	uid                     atomic.Int64
}

func (t *xmlrpcT) protocol() Protocol { return ProtocolXMLRPC }

func (t *xmlrpcT) rpc(ctx context.Context, endpoint, method string, params []any) (any, error) {
	b, err := encodeXMLRPCCall(method, params)
	if err != nil {
		return nil, &Error{Kind: KindInvalid, Message: "encoding arguments", Err: err}
	}
	r, err := t.post(ctx, t.base+"/xmlrpc/2/"+endpoint, "text/xml", b, nil)
	if err != nil {
		return nil, err
	}
	if r.status != http.StatusOK {
		return nil, statusError(r)
	}
	v, fault, err := decodeXMLRPCResponse(r.body)
	if err != nil {
		return nil, &Error{Kind: KindInternal, Status: r.status, Message: "unreadable XML-RPC reply", Err: err}
	}
	if fault != nil {
		if isNoneFault(fault.String) {
			return nil, nil // the method ran and committed; only its None result could not be sent
		}
		return nil, fault.classify()
	}
	return v, nil
}

func (t *xmlrpcT) authenticate(ctx context.Context) error {
	v, err := t.rpc(ctx, "common", "authenticate", []any{t.db, t.login, t.secret, map[string]any{}})
	if err != nil {
		return err
	}
	uid, ok := asInt(v)
	if !ok || uid == 0 {
		return &Error{Kind: KindAuth, Name: "odoo.exceptions.AccessDenied", Message: "Access Denied: wrong login, password or API key"}
	}
	t.uid.Store(uid)
	return nil
}

func (t *xmlrpcT) call(ctx context.Context, model, method string, args []any, kwargs map[string]any) (any, error) {
	if t.uid.Load() == 0 {
		if err := t.authenticate(ctx); err != nil {
			return nil, err
		}
	}
	if args == nil {
		args = []any{}
	}
	if kwargs == nil {
		kwargs = map[string]any{}
	}
	return t.rpc(ctx, "object", "execute_kw", []any{t.db, t.uid.Load(), t.secret, model, method, args, kwargs})
}
