// Package portal is the customer portal's REST API (v1): catalog and prices, availability,
// orders with a synchronous acknowledgement, status and tracking, invoices and statements,
// returns, and signed webhooks. It is an adapter of the hub: orders are received through the
// hub's one receipt path (hub.Receive, channel portal) and follow the same lifecycle as EDI
// orders; catalog, prices, invoices and returns come from the ERP port and its optional
// capabilities (waybill.Catalog, waybill.Billing, waybill.Returns).
//
// Every request is authenticated by an API key bound to one customer account, or to a portal
// operator allowed a set of accounts who names the account per request (Waybill-Account), and is
// scoped to that account: a resource of another account is reported exactly as one that does not
// exist. The OpenAPI 3.1 document is generated from the handlers (huma) and served at
// /v1/openapi.json; api/openapi.json in the repository is its committed copy.
package portal
