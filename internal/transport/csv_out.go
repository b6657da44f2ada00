package transport

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/csvfeed"
	"github.com/waybill-hub/waybill/internal/jobs"
	"github.com/waybill-hub/waybill/internal/store"
)

// Document types of the CSV files sent to CSV partners.
const (
	DocCSVShipment = "csv-shipment"
	DocCSVInvoice  = "csv-invoice"
)

// csvOut is a CSV partner's outbound mappings and channel.
type csvOut struct {
	shipments, invoices *csvfeed.Mapping
	channel             waybill.Channel
}

// buildCSVOut loads the outbound CSV mappings of the profiles that have them.
func (c *Channels) buildCSVOut() []error {
	var errs []error
	for _, pt := range c.sorted() {
		cv := pt.Transport.CSV
		if cv == nil || (cv.ShipmentMappingFile == "" && cv.InvoiceMappingFile == "") {
			continue
		}
		out := csvOut{channel: outboundChannel(pt)}
		load := func(field, name string, want csvfeed.Document) *csvfeed.Mapping {
			if name == "" {
				return nil
			}
			where := fmt.Sprintf("partner %s: transport.csv.%s", pt.ID, field)
			data, err := pt.readFile(name)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", where, err))
				return nil
			}
			m, err := csvfeed.LoadMapping(pt.path(name), data)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", where, err))
				return nil
			}
			if m.Document != want {
				errs = append(errs, fmt.Errorf("%s: must map %ss, %s maps %ss", where, want, name, m.Document))
				return nil
			}
			return m
		}
		out.shipments = load("shipment_mapping_file", cv.ShipmentMappingFile, csvfeed.DocShipment)
		out.invoices = load("invoice_mapping_file", cv.InvoiceMappingFile, csvfeed.DocInvoice)
		if c.csvOut == nil {
			c.csvOut = map[string]csvOut{}
		}
		c.csvOut[pt.ID] = out
	}
	return errs
}

// outboundChannel is the profile's outbound channel: Transport.Outbound, else the first
// configured channel that can carry files.
func outboundChannel(pt PartnerTransport) waybill.Channel {
	t := pt.Transport
	switch {
	case t.Outbound != "":
		return waybill.Channel(t.Outbound)
	case t.SFTP != nil:
		return waybill.ChannelSFTP
	case t.Folder != nil:
		return waybill.ChannelFolder
	case t.AS2 != nil:
		return waybill.ChannelAS2
	}
	return waybill.ChannelFolder
}

// onSyncCSV sends a CSV partner one file per ERP delivery done and per invoice posted, once each
// (recorded per partner, document and ERP reference), in the sync transaction.
func (c *Channels) onSyncCSV(ctx context.Context, tx *store.Tx, _ jobs.Queue, o *waybill.Order, st waybill.OrderStatus, _ waybill.OrderState) error {
	out, ok := c.csvOut[o.Partner]
	if !ok {
		return nil
	}
	if out.shipments != nil {
		for _, d := range st.Deliveries {
			if d.State != "done" {
				continue
			}
			sh := shipmentOf(o, d)
			var buf bytes.Buffer
			if err := csvfeed.EncodeShipments(&buf, out.shipments, []waybill.Shipment{sh}); err != nil {
				return fmt.Errorf("encoding the CSV shipment %s for %s: %w", d.Ref.Name, o.Partner, err)
			}
			if err := c.emitOnce(ctx, tx, o, out.channel, DocCSVShipment, d.Ref.Name, buf.Bytes()); err != nil {
				return err
			}
		}
	}
	if out.invoices != nil {
		for _, inv := range st.Invoices {
			if inv.State != "posted" {
				continue
			}
			var buf bytes.Buffer
			if err := csvfeed.EncodeInvoices(&buf, out.invoices, []waybill.Invoice{invoiceOf(o, inv)}); err != nil {
				return fmt.Errorf("encoding the CSV invoice %s for %s: %w", inv.Number, o.Partner, err)
			}
			if err := c.emitOnce(ctx, tx, o, out.channel, DocCSVInvoice, inv.Number, buf.Bytes()); err != nil {
				return err
			}
		}
	}
	return nil
}

// emitOnce emits a CSV document unless one was emitted for this ERP reference before.
func (c *Channels) emitOnce(ctx context.Context, tx *store.Tx, o *waybill.Order, ch waybill.Channel, doc, ref string, payload []byte) error {
	prev, err := tx.EDIFulfilment(ctx, o.Partner, doc, ref)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if prev != nil && prev.MessageID != "" {
		return nil
	}
	name := strings.NewReplacer("/", "-", " ", "-").Replace(fmt.Sprintf("%s-%s.csv", strings.TrimPrefix(doc, "csv-"), ref))
	id, err := c.hub.Emit(ctx, tx, &waybill.OutboundMessage{CorrelationID: o.CorrelationID, Partner: o.Partner, Channel: ch,
		DocType: doc, Filename: name, ContentType: "text/csv", Payload: payload}, ref, o.PONumber)
	if err != nil {
		return err
	}
	return tx.PutEDIFulfilment(ctx, &store.EDIFulfilment{Partner: o.Partner, SetID: doc, ERPRef: ref, OrderID: o.ID, MessageID: id, State: "sent"})
}

// shipmentOf is the canonical shipment of one ERP delivery of o: one package holding what the
// delivery moved, by order line (matched on the ERP product).
func shipmentOf(o *waybill.Order, d waybill.Delivery) waybill.Shipment {
	sh := waybill.Shipment{ID: d.Ref.Name, Partner: o.Partner, OrderIDs: []string{o.ID}, PONumbers: []string{o.PONumber},
		ShipTo: o.ShipTo, CarrierSCAC: d.Carrier, TrackingNumber: d.TrackingRef, ShipDate: d.DoneAt, ERP: d.Ref,
		Backorder: !d.BackorderOf.IsZero()}
	pkg := waybill.Package{Tracking: d.TrackingRef}
	for _, m := range d.Moves {
		if m.Done.IsZero() {
			continue
		}
		it := waybill.PackageItem{OrderID: o.ID, VendorItem: m.SKU, GTIN: m.GTIN, Quantity: m.Done, UOM: m.UOM}
		for _, l := range o.Lines {
			if l.Product.ID == m.Product.ID {
				it.LineNumber, it.BuyerItem, it.UOM = l.Number, l.BuyerItem, l.UOM
				if it.VendorItem == "" {
					it.VendorItem = l.VendorItem
				}
				break
			}
		}
		pkg.Contents = append(pkg.Contents, it)
	}
	sh.Packages = []waybill.Package{pkg}
	return sh
}

// invoiceOf is the canonical invoice of an ERP invoice of o.
func invoiceOf(o *waybill.Order, inv waybill.ERPInvoice) waybill.Invoice {
	return waybill.Invoice{Partner: o.Partner, Account: o.Account, Number: inv.Number, InvoiceDate: inv.Date, DueDate: inv.DueDate,
		OrderID: o.ID, PONumber: o.PONumber, PODate: o.PODate, Currency: inv.Currency, BillTo: o.BillTo, ShipTo: o.ShipTo,
		Lines: inv.Lines, Untaxed: inv.Untaxed, TaxTotal: inv.Tax, Total: inv.Total, Residual: inv.Residual,
		PaymentState: inv.PaymentState, ERP: inv.Ref}
}
