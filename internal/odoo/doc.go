// Package odoo is the hub's connector to Odoo 17, 18 and 19: a Client that speaks JSON-2 (Odoo
// 19+), JSON-RPC and XML-RPC, classifies Odoo's errors into Waybill's coded errors, limits its own
// concurrency and rate, opens a circuit breaker while Odoo is down, and implements the waybill.ERP
// port on top of Odoo's standard models, with the optional capabilities waybill.ChangeFeed (change
// capture), waybill.OrderChanger (changes to a confirmed sale order), waybill.Catalog and
// waybill.Billing (the portal's catalog, invoices and statement) and waybill.Returns (return
// transfers through the stock.return.picking wizard and credit notes for what came back).
//
// Every write is find-before-create on the hub reference, stored in sale.order.origin as
// "waybill:<HubRef>", so that a create retried after a crash or a time-out never makes a second
// record. Field names that differ between Odoo versions are chosen from the detected version
// (see fields.go).
package odoo
