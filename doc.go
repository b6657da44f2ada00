// Package waybill holds the hub's domain: the canonical documents every channel translates to and
// from (orders, shipments, invoices, inventory positions, price agreements, return authorisations,
// partners), the order lifecycle with its transitions and their owners, coded errors, and the ports
// (interfaces) that adapters implement: the ERP, message intake and outbound delivery.
//
// The package uses the standard library only. It knows no SQL, HTTP, YAML or X12; adapters live under
// internal/ and the public X12 engine in x12. Money and quantities are Decimal values, never floats;
// times are UTC, with a partner's zone applied only at the edges.
package waybill
