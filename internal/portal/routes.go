package portal

import (
	"net/http"
	"reflect"

	"github.com/danielgtaylor/huma/v2"
)

// op describes an operation: its scope is checked by authenticate and published as its security
// requirement.
func op(id, method, path, scope, summary string, status int, errs ...int) huma.Operation {
	o := huma.Operation{OperationID: id, Method: method, Path: path, Summary: summary, DefaultStatus: status,
		Metadata: map[string]any{"scope": scope}, Security: []map[string][]string{{"apiKey": {scope}}},
		Errors: append([]int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusTooManyRequests,
			http.StatusInternalServerError}, errs...)}
	o.Tags = []string{tagOf(path)}
	return o
}

func tagOf(path string) string {
	switch {
	case len(path) >= 11 && path[:11] == "/v1/catalog", len(path) >= 16 && path[:16] == "/v1/availability":
		return "Catalog"
	case len(path) >= 10 && path[:10] == "/v1/orders":
		return "Orders"
	case len(path) >= 12 && path[:12] == "/v1/invoices", len(path) >= 13 && path[:13] == "/v1/statement":
		return "Billing"
	case len(path) >= 11 && path[:11] == "/v1/returns":
		return "Returns"
	}
	return "Webhooks"
}

// alsoResponds documents a second success status with the operation's body schema.
func (s *Server) alsoResponds(o *huma.Operation, status int, desc string, body any) {
	schema := s.api.OpenAPI().Components.Schemas.Schema(reflect.TypeOf(body), true, "")
	if o.Responses == nil {
		o.Responses = map[string]*huma.Response{}
	}
	o.Responses[itoa(status)] = &huma.Response{Description: desc,
		Content: map[string]*huma.MediaType{"application/json": {Schema: schema}}}
}

func (s *Server) register() {
	api := s.api
	huma.Register(api, op("list-catalog", http.MethodGet, "/v1/catalog", ScopeCatalogRead,
		"List the products the account may buy, with its prices", http.StatusOK, http.StatusNotImplemented, http.StatusServiceUnavailable), s.listCatalog)
	huma.Register(api, op("get-catalog-item", http.MethodGet, "/v1/catalog/{sku}", ScopeCatalogRead,
		"Get one product with the account's prices and quantity rules", http.StatusOK, http.StatusNotFound, http.StatusNotImplemented, http.StatusServiceUnavailable), s.getCatalogItem)
	huma.Register(api, op("get-availability", http.MethodGet, "/v1/availability", ScopeCatalogRead,
		"Available-to-promise per product and warehouse", http.StatusOK, http.StatusUnprocessableEntity, http.StatusNotImplemented, http.StatusServiceUnavailable), s.availability)

	create := op("create-order", http.MethodPost, "/v1/orders", ScopeOrdersWrite,
		"Place an order and get the ERP's acknowledgement", http.StatusCreated, http.StatusConflict, http.StatusUnprocessableEntity, http.StatusServiceUnavailable)
	create.Description = "Validated against the catalog, prices and availability, then accepted or rejected by the ERP within the request. " +
		"202 means the ERP could not answer in time: the order is stored and completes later (follow status_url)."
	s.alsoResponds(&create, http.StatusAccepted, "Taken; the ERP has not answered yet", Order{})
	s.alsoResponds(&create, http.StatusOK, "Replayed: the order was cancelled since", Order{})
	huma.Register(api, create, s.createOrder)
	huma.Register(api, op("list-orders", http.MethodGet, "/v1/orders", ScopeOrdersRead, "List the account's orders", http.StatusOK), s.listOrders)
	huma.Register(api, op("get-order", http.MethodGet, "/v1/orders/{id}", ScopeOrdersRead,
		"Get an order with its lines, history, shipments and tracking", http.StatusOK, http.StatusNotFound), s.getOrder)
	cancel := op("cancel-order", http.MethodPost, "/v1/orders/{id}/cancel", ScopeOrdersWrite,
		"Cancel an order; after acceptance this files a change request (202)", http.StatusOK, http.StatusNotFound, http.StatusConflict, http.StatusPreconditionFailed)
	s.alsoResponds(&cancel, http.StatusAccepted, "A cancellation request was filed for the ERP to decide", Order{})
	huma.Register(api, cancel, s.cancelOrder)
	edit := op("edit-order", http.MethodPatch, "/v1/orders/{id}", ScopeOrdersWrite,
		"Change an order before acceptance (If-Match required); afterwards this files a change request (202)", http.StatusOK,
		http.StatusNotFound, http.StatusConflict, http.StatusPreconditionFailed, http.StatusPreconditionRequired, http.StatusUnprocessableEntity)
	s.alsoResponds(&edit, http.StatusAccepted, "A change request was filed for the ERP to decide", Order{})
	huma.Register(api, edit, s.editOrder)

	huma.Register(api, op("list-invoices", http.MethodGet, "/v1/invoices", ScopeInvoicesRead,
		"List the account's invoices with their payment state", http.StatusOK, http.StatusNotImplemented, http.StatusServiceUnavailable), s.listInvoices)
	huma.Register(api, op("get-invoice", http.MethodGet, "/v1/invoices/{id}", ScopeInvoicesRead,
		"Get an invoice with its lines", http.StatusOK, http.StatusNotFound, http.StatusNotImplemented, http.StatusServiceUnavailable), s.getInvoice)
	huma.Register(api, op("get-statement", http.MethodGet, "/v1/statement", ScopeInvoicesRead,
		"The account's open items, ageing, balance, terms and remaining credit", http.StatusOK, http.StatusNotImplemented, http.StatusServiceUnavailable), s.statement)

	huma.Register(api, op("create-return", http.MethodPost, "/v1/returns", ScopeReturnsWrite,
		"Request a return (RMA) of shipped lines", http.StatusCreated, http.StatusNotFound, http.StatusUnprocessableEntity, http.StatusNotImplemented, http.StatusServiceUnavailable), s.createReturn)
	huma.Register(api, op("list-returns", http.MethodGet, "/v1/returns", ScopeReturnsRead, "List the account's returns", http.StatusOK), s.listReturns)
	huma.Register(api, op("get-return", http.MethodGet, "/v1/returns/{id}", ScopeReturnsRead, "Get a return and its state", http.StatusOK, http.StatusNotFound), s.getReturn)

	huma.Register(api, op("create-webhook", http.MethodPost, "/v1/webhooks", ScopeWebhooksAdmin,
		"Subscribe to events; the response shows the signing secret once", http.StatusCreated, http.StatusUnprocessableEntity), s.createWebhook)
	huma.Register(api, op("list-webhooks", http.MethodGet, "/v1/webhooks", ScopeWebhooksAdmin, "List the subscriptions", http.StatusOK), s.listWebhooks)
	huma.Register(api, op("delete-webhook", http.MethodDelete, "/v1/webhooks/{id}", ScopeWebhooksAdmin, "End a subscription", http.StatusNoContent, http.StatusNotFound), s.deleteWebhook)
	huma.Register(api, op("list-deliveries", http.MethodGet, "/v1/webhooks/{id}/deliveries", ScopeWebhooksAdmin,
		"The delivery log of a subscription", http.StatusOK, http.StatusNotFound), s.listDeliveries)
	huma.Register(api, op("replay-delivery", http.MethodPost, "/v1/webhooks/{id}/deliveries/{delivery_id}/replay", ScopeWebhooksAdmin,
		"Send a delivered or dead delivery again", http.StatusAccepted, http.StatusNotFound, http.StatusConflict), s.replayDelivery)
	huma.Register(api, op("test-webhook", http.MethodPost, "/v1/webhooks/{id}/test", ScopeWebhooksAdmin,
		"Send a test event", http.StatusAccepted, http.StatusNotFound), s.testWebhook)
}
