package transport_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/hub"
	"github.com/waybill-hub/waybill/internal/memerp"
	"github.com/waybill-hub/waybill/internal/partner"
	"github.com/waybill-hub/waybill/internal/transport"
)

const kontorShipments = `name: initech-asn
document: shipment
delimiter: ";"
columns:
  - {field: shipment_id, header: Lieferung}
  - {field: po_numbers, header: Bestellung}
  - {field: tracking_number, header: Sendung}
  - {field: item.line_number, header: Position}
  - {field: item.vendor_item, header: Artikel}
  - {field: item.quantity, header: Menge}
`

const kontorInvoices = `name: initech-invoices
document: invoice
delimiter: ";"
columns:
  - {field: invoice_number, header: Rechnung}
  - {field: po_number, header: Bestellung}
  - {field: line.vendor_item, header: Artikel}
  - {field: line.quantity, header: Menge}
  - {field: total, header: Summe}
`

// A CSV partner gets a CSV file per Odoo delivery done and per invoice posted, in its SFTP
// mailbox's out/, once each however often the order is synced.
func TestCSVShipmentsAndInvoicesOut(t *testing.T) {
	t.Parallel()
	var pe *memerp.PortalERP
	b := setup(t, "sqlite", options{
		wrapERP: func(e *memerp.ERP) waybill.ERP { pe = memerp.NewPortal(e); return pe },
		profiles: func(b *bundle) []transport.PartnerTransport {
			writeFile(t, filepath.Join(b.dir, "initech-asn.yaml"), []byte(kontorShipments))
			writeFile(t, filepath.Join(b.dir, "initech-invoices.yaml"), []byte(kontorInvoices))
			return []transport.PartnerTransport{{ID: "initech", Dir: b.dir, Transport: partner.Transport{
				SFTP: &partner.SFTP{Mailbox: &partner.SFTPMailbox{AuthorizedKeysFile: "hanse.pub"}},
				CSV:  &partner.CSV{MappingFile: "hanse-orders.yaml", ShipmentMappingFile: "initech-asn.yaml", InvoiceMappingFile: "initech-invoices.yaml"}}}}
		},
	})
	ctx := context.Background()
	_, err := b.app.Hub.Receive(ctx, waybill.InboundMessage{Channel: waybill.ChannelSFTP, Partner: "initech", Payload: orderJSON("CSV-OUT-1")})
	require.NoError(t, err)
	b.eventually(t, 10*time.Second, func() bool { return b.stateOf(t, "CSV-OUT-1") == waybill.OrderAccepted })
	o := b.orders(t, "CSV-OUT-1")[0].Order
	d := pe.Ship(o.ERP, "UPSN", "1Z42", nil)
	inv := pe.Invoice(o.ERP, "INV/2026/00042", waybill.PaymentNotPaid, time.Now().AddDate(0, 0, 30))
	sync := func() {
		require.NoError(t, b.app.Queue.Insert(ctx, hub.SyncOrder{OrderID: o.ID, CorrelationID: o.CorrelationID, Partner: o.Partner}, nil))
	}
	sync()
	out := filepath.Join(b.dir, "sftp", "initech", "out")
	read := func(name string) string {
		data, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			return ""
		}
		return string(data)
	}
	shipName := "shipment-" + strings.ReplaceAll(d.Ref.Name, "/", "-") + ".csv"
	invName := "invoice-" + strings.ReplaceAll(inv.Number, "/", "-") + ".csv"
	b.eventually(t, 10*time.Second, func() bool { return read(shipName) != "" && read(invName) != "" })
	require.Contains(t, read(shipName), "Lieferung;Bestellung;Sendung;Position;Artikel;Menge")
	require.Contains(t, read(shipName), "CSV-OUT-1;1Z42;")
	require.Contains(t, read(invName), "INV/2026/00042;CSV-OUT-1;")
	sync() // again: nothing sent twice
	b.eventually(t, 10*time.Second, func() bool {
		ms := b.messages(t, "initech")
		n := 0
		for _, m := range ms {
			if m.DocType == transport.DocCSVShipment || m.DocType == transport.DocCSVInvoice {
				n++
			}
		}
		return n == 2
	})
	entries, err := os.ReadDir(out)
	require.NoError(t, err)
	require.Len(t, entries, 2, "one shipment file and one invoice file")
}
