package memerp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/waybill-hub/waybill"
)

// Handler serves e over HTTP: POST /rpc/<Method> with the method's arguments as a JSON array;
// GET /stats returns Stats. Errors are {"code","reason","message"} with status 200 so that a
// per-method error is told apart from a transport failure.
func Handler(e *ERP) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(e.Stats())
	})
	mux.HandleFunc("POST /down", func(w http.ResponseWriter, r *http.Request) { e.SetDown(r.URL.Query().Get("v") == "1") })
	mux.HandleFunc("POST /rpc/{method}", func(w http.ResponseWriter, r *http.Request) {
		var args []json.RawMessage
		if err := json.NewDecoder(r.Body).Decode(&args); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		res, err := dispatch(r.Context(), e, r.PathValue("method"), args)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(reply{Result: res, Error: encodeErr(err)})
	})
	return mux
}

type reply struct {
	Result any      `json:"result,omitempty"`
	Error  *wireErr `json:"error,omitempty"`
}

type wireErr struct {
	Code    string `json:"code"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

func encodeErr(err error) *wireErr {
	if err == nil {
		return nil
	}
	return &wireErr{Code: string(waybill.Code(err)), Reason: waybill.Reason(err), Message: err.Error()}
}

func (w *wireErr) err() error {
	if w == nil {
		return nil
	}
	return &waybill.Error{Code: waybill.ErrorCode(w.Code), Reason: w.Reason, Message: w.Message}
}

func arg[T any](args []json.RawMessage, i int) (T, error) {
	var v T
	if i >= len(args) {
		return v, fmt.Errorf("missing argument %d", i)
	}
	return v, json.Unmarshal(args[i], &v)
}

// itemResult carries per-item errors over the wire.
type itemResult[T any] struct {
	Value T        `json:"value"`
	Error *wireErr `json:"error,omitempty"`
}

func dispatch(ctx context.Context, e *ERP, method string, args []json.RawMessage) (any, error) {
	switch method {
	case "FindCustomer":
		k, err := arg[waybill.PartyKey](args, 0)
		if err != nil {
			return nil, err
		}
		return e.FindCustomer(ctx, k)
	case "FindProducts":
		k, err := arg[[]waybill.ProductKey](args, 0)
		if err != nil {
			return nil, err
		}
		res, err := e.FindProducts(ctx, k)
		out := make([]itemResult[waybill.Product], len(res))
		for i, r := range res {
			out[i] = itemResult[waybill.Product]{r.Product, encodeErr(r.Err)}
		}
		return out, err
	case "CreateOrders":
		d, err := arg[[]waybill.OrderDraft](args, 0)
		if err != nil {
			return nil, err
		}
		res, err := e.CreateOrders(ctx, d)
		type created struct {
			HubRef  string
			Order   waybill.ERPRef
			Created bool
		}
		out := make([]itemResult[created], len(res))
		for i, r := range res {
			out[i] = itemResult[created]{created{r.HubRef, r.Order, r.Created}, encodeErr(r.Err)}
		}
		return out, err
	case "ConfirmOrders":
		refs, err := arg[[]waybill.ERPRef](args, 0)
		if err != nil {
			return nil, err
		}
		res, err := e.ConfirmOrders(ctx, refs)
		out := make([]itemResult[waybill.Confirmation], len(res))
		for i, r := range res {
			er := r.Err
			r.Err = nil
			out[i] = itemResult[waybill.Confirmation]{r, encodeErr(er)}
		}
		return out, err
	case "OrderStatus":
		ref, err := arg[waybill.ERPRef](args, 0)
		if err != nil {
			return nil, err
		}
		return e.OrderStatus(ctx, ref)
	case "CancelOrder":
		ref, err := arg[waybill.ERPRef](args, 0)
		if err != nil {
			return nil, err
		}
		return nil, e.CancelOrder(ctx, ref)
	}
	return nil, waybill.Errorf(waybill.EINVALID, "unknown_method", "unknown method %q", method)
}

// Client reaches an ERP served by Handler. It implements waybill.ERP; methods the core does not
// need over the wire (addresses, prices, stock) answer locally.
type Client struct {
	URL  string
	HTTP *http.Client
}

var _ waybill.ERP = (*Client)(nil)

// NewClient returns a client of the ERP served at url.
func NewClient(url string) *Client {
	return &Client{URL: url, HTTP: &http.Client{Timeout: 10 * time.Second}}
}

func (c *Client) call(ctx context.Context, method string, out any, args ...any) error {
	body, err := json.Marshal(args)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL+"/rpc/"+method, bytes.NewReader(body))
	if err != nil {
		return err
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return waybill.Unavailable(err, "calling ERP %s", method)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return waybill.Unavailable(err, "reading ERP %s reply", method)
	}
	if resp.StatusCode != http.StatusOK {
		return waybill.Unavailable(errors.New(resp.Status), "calling ERP %s", method)
	}
	var rep struct {
		Result json.RawMessage `json:"result"`
		Error  *wireErr        `json:"error"`
	}
	if err := json.Unmarshal(raw, &rep); err != nil {
		return waybill.Unavailable(err, "decoding ERP %s reply", method)
	}
	if rep.Error != nil {
		return rep.Error.err()
	}
	if out != nil && len(rep.Result) > 0 {
		return json.Unmarshal(rep.Result, out)
	}
	return nil
}

func (c *Client) FindCustomer(ctx context.Context, key waybill.PartyKey) (waybill.Customer, error) {
	var out waybill.Customer
	err := c.call(ctx, "FindCustomer", &out, key)
	return out, err
}

func (c *Client) FindAddress(ctx context.Context, customer waybill.ERPRef, key waybill.PartyKey) (waybill.ERPRef, error) {
	return customer, nil
}

func (c *Client) FindProducts(ctx context.Context, keys []waybill.ProductKey) ([]waybill.ProductResult, error) {
	var res []itemResult[waybill.Product]
	if err := c.call(ctx, "FindProducts", &res, keys); err != nil {
		return nil, err
	}
	out := make([]waybill.ProductResult, len(res))
	for i, r := range res {
		out[i] = waybill.ProductResult{Product: r.Value, Err: r.Error.err()}
	}
	return out, nil
}

func (c *Client) Prices(ctx context.Context, customer waybill.ERPRef, reqs []waybill.PriceRequest) ([]waybill.PriceResult, error) {
	return nil, waybill.Errorf(waybill.EINVALID, "unsupported", "prices are not served over HTTP by the in-memory ERP")
}

func (c *Client) Stock(ctx context.Context, products []waybill.ERPRef, warehouse string) ([]waybill.InventoryPosition, error) {
	return nil, waybill.Errorf(waybill.EINVALID, "unsupported", "stock is not served over HTTP by the in-memory ERP")
}

func (c *Client) CreateOrders(ctx context.Context, drafts []waybill.OrderDraft) ([]waybill.OrderResult, error) {
	var res []itemResult[struct {
		HubRef  string
		Order   waybill.ERPRef
		Created bool
	}]
	if err := c.call(ctx, "CreateOrders", &res, drafts); err != nil {
		return nil, err
	}
	out := make([]waybill.OrderResult, len(res))
	for i, r := range res {
		out[i] = waybill.OrderResult{HubRef: r.Value.HubRef, Order: r.Value.Order, Created: r.Value.Created, Err: r.Error.err()}
	}
	return out, nil
}

func (c *Client) ConfirmOrders(ctx context.Context, refs []waybill.ERPRef) ([]waybill.Confirmation, error) {
	var res []itemResult[waybill.Confirmation]
	if err := c.call(ctx, "ConfirmOrders", &res, refs); err != nil {
		return nil, err
	}
	out := make([]waybill.Confirmation, len(res))
	for i, r := range res {
		out[i] = r.Value
		out[i].Err = r.Error.err()
	}
	return out, nil
}

func (c *Client) CancelOrder(ctx context.Context, ref waybill.ERPRef) error {
	return c.call(ctx, "CancelOrder", nil, ref)
}

func (c *Client) OrderStatus(ctx context.Context, ref waybill.ERPRef) (waybill.OrderStatus, error) {
	var out waybill.OrderStatus
	err := c.call(ctx, "OrderStatus", &out, ref)
	return out, err
}

// RemoteStats fetches the served ERP's Stats.
func (c *Client) RemoteStats(ctx context.Context) (Stats, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.URL+"/stats", nil)
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return Stats{}, err
	}
	defer resp.Body.Close()
	var s Stats
	return s, json.NewDecoder(resp.Body).Decode(&s)
}
