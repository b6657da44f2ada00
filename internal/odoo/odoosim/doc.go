// Package odoosim is an in-memory Odoo server for tests and demos. It speaks
// Odoo's external wire protocols (JSON-2 on 19.0, JSON-RPC at /jsonrpc and
// XML-RPC at /xmlrpc/2/...) and reproduces the part of Odoo's behaviour that
// the hub depends on: the ORM methods (search, read, create, write, unlink,
// fields_get, name_search) with Odoo domains, and the distribution flow from
// partner and product to sale order, delivery with backorders, invoice and
// payment, with the field names of Odoo 17.0, 18.0 or 19.0.
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
package odoosim
