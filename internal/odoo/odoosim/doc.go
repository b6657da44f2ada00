// Package odoosim is an in-memory Odoo server for tests and demos. It speaks
// Odoo's external wire protocols (JSON-2 on 19.0, JSON-RPC at /jsonrpc and
// XML-RPC at /xmlrpc/2/...) and reproduces the part of Odoo's behaviour that
// the hub depends on: the ORM methods (search, read, create, write, unlink,
// fields_get, name_search) with Odoo domains, and the distribution flow from
// partner and product to sale order, delivery with backorders, invoice and
// payment, returns through the stock.return.picking wizard (create_returns on
// 17.0, action_create_returns from 18.0) and credit notes (out_refund), with
// the field names of Odoo 17.0, 18.0 or 19.0.
//
// A Server is safe for concurrent use. Record ids and document sequences
// (S00001, WH/OUT/00001, INV/2026/00001) are deterministic: they depend only on
// the order of the calls. The latency model (LatencyProfile, Odoo19Profile)
// and the worker limit reproduce the throughput ceiling measured on a real
// Odoo 19 server; Faults injects the failures a real deployment shows.
//
// Where the simulator differs from real Odoo, the difference is documented on
// the method or model concerned; the rule is that anything the connector may
// rely on must behave as in real Odoo.
//
// Field names follow the version: on 19.0 sale and purchase order lines have
// product_uom_id and tax_ids, res.users has group_ids and there is no
// uom_po_id; 18.0 and 19.0 products are type 'consu' with is_storable, 17.0
// storable products are type (and detailed_type) 'product'. From 17.0 on,
// stock.move has quantity and picked (no quantity_done) and button_validate
// has no immediate-transfer wizard. As in Odoo, a product invoices ordered
// quantities unless its invoice_policy is 'delivery'.
//
// Not simulated: multiple companies and currencies, lots, packages, routes
// other than one-step delivery and receipt, down-payment invoices, the
// reversal wizard (account.move.reversal) and reconciliation of credit notes
// with invoices, read_group and web_search_read, the session endpoints (/web/session/*,
// /web/dataset/call_kw) and API-key management. Every product gets the one
// default sales tax (Options.SalesTax), rounded per line.
package odoosim
