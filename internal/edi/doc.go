// Package edi maps X12 transaction sets to and from Waybill's canonical documents and runs the
// EDI side of the order flow: it reads an interchange stored by the hub, validates it against the
// schema and the partner's guide, acknowledges it (TA1, 997 or 999), translates each accepted 850
// with the partner's mapping version and cross-references, checks it against master data and the
// partner's price agreement, hands the orders to the hub's order workflow, and answers each order
// the ERP accepted (or the hub rejected) with an 855.
//
// Mappings are data (see Library and Mapping): a base mapping per transaction set, X12 version
// and mapping version, and partner overlays, each with golden examples (RunExamples).
package edi
