package edi

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/hub"
	"github.com/waybill-hub/waybill/internal/partner"
	"github.com/waybill-hub/waybill/internal/store"
	"github.com/waybill-hub/waybill/mappings"
	"github.com/waybill-hub/waybill/partners"
)

// demoSamples are the 850s the demo sends: each sample partner's golden example.
var demoSamples = []struct{ partner, file string }{
	{"acme", "base/004010/850/v1/basic.x12"},
	{"globex", "partners/globex/850/v1/basic.x12"},
}

// InstallDemo installs the EDI flow for the sample partners (the partners package) with the
// built-in mappings on h, and, when outDir is not empty, a folder sender that writes what the
// flow sends to outDir/<partner>/. Call it before the job queue starts.
func InstallDemo(h *hub.Hub, log *slog.Logger, outDir string) (*Flow, error) {
	reg, err := partner.LoadFS(partners.FS, "partners")
	if err != nil {
		return nil, err
	}
	f, err := New(Options{Hub: h, Partners: reg, Library: NewLibrary(mappings.FS), Logger: log})
	if err != nil {
		return nil, err
	}
	f.Install()
	if outDir != "" {
		h.RegisterSender(waybill.ChannelFolder, dirSender(outDir))
	}
	return f, nil
}

// dirSender writes outbound messages to files; the demo's stand-in for the folder transport.
type dirSender string

func (d dirSender) Send(_ context.Context, m waybill.OutboundMessage) (waybill.SendResult, error) {
	dir := filepath.Join(string(d), m.Partner)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return waybill.SendResult{}, waybill.Unavailable(err, "creating %s", dir)
	}
	name := m.Filename
	if name == "" {
		name = m.ID + ".x12"
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, m.Payload, 0o640); err != nil {
		return waybill.SendResult{}, waybill.Unavailable(err, "writing %s", p)
	}
	return waybill.SendResult{TransportID: p, At: time.Now().UTC()}, nil
}

// demoERP is what DemoTraffic needs to seed an in-memory ERP with the sample master data.
type demoERP interface {
	AddCustomer(code, name string) waybill.Customer
	AddProduct(sku, gtin string, price waybill.Decimal) waybill.Product
}

// DemoTraffic sends each sample partner's 850 to the hub (as if over AS2), waits until each is
// answered with an 855 (at most 30 seconds), and prints the functional acknowledgements, the
// 855s and the ERP's sale orders to w. When the ERP can be seeded (the built-in ERP can), the
// sample partners' customers and products are added first. The hub must be started.
func (f *Flow) DemoTraffic(ctx context.Context, w io.Writer) error {
	if e, ok := f.h.ERP().(demoERP); ok {
		e.AddCustomer("ACME", "Acme Retail")
		e.AddCustomer("GLOBEX", "Globex Stores")
		e.AddProduct("SKU-1", "00012345678905", waybill.MustDecimal("12.50"))
		e.AddProduct("SKU-2", "", waybill.MustDecimal("3.10"))
		e.AddProduct("SKU-3", "00012345678912", waybill.MustDecimal("5.00"))
	}
	fmt.Fprintln(w, "EDI sample traffic:")
	var cors []string
	for _, s := range demoSamples {
		data, err := mappings.FS.ReadFile(s.file)
		if err != nil {
			return err
		}
		rc, err := f.h.Receive(ctx, waybill.InboundMessage{Channel: waybill.ChannelAS2, Partner: s.partner, DocType: hub.DocX12,
			Payload: data, Filename: s.partner + "-850.x12"})
		if err != nil {
			return err
		}
		cors = append(cors, rc.CorrelationID)
		fmt.Fprintf(w, "  %-8s 850 received as %s\n", s.partner, rc.MessageID)
	}
	db := f.h.DB()
	deadline := time.Now().Add(30 * time.Second)
	for {
		n := 0
		for _, s := range demoSamples {
			ms, err := db.Messages(ctx, store.MessageFilter{Partner: s.partner, Direction: store.Outbound, DocType: "855", Limit: 1})
			if err != nil {
				return err
			}
			n += len(ms)
		}
		if n == len(demoSamples) {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the EDI sample traffic was not answered within 30s (see waybill dlq list)")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	for _, s := range demoSamples {
		for _, doc := range []string{"997", "999", "855"} {
			ms, err := db.Messages(ctx, store.MessageFilter{Partner: s.partner, Direction: store.Outbound, DocType: doc, Limit: 5})
			if err != nil {
				return err
			}
			for _, m := range ms {
				full, err := db.Message(ctx, m.ID)
				if err != nil {
					return err
				}
				fmt.Fprintf(w, "\n%s sent to %s (%s):\n", doc, s.partner, m.ID)
				for _, line := range strings.Split(strings.TrimRight(string(full.Payload), "\r\n"), "\n") {
					fmt.Fprintf(w, "    %s\n", strings.TrimRight(line, "\r"))
				}
			}
		}
	}
	fmt.Fprintln(w, "\nERP sale orders:")
	for i, cor := range cors {
		orders, err := db.OrdersByCorrelation(ctx, cor)
		if err != nil {
			return err
		}
		for _, rec := range orders {
			o := rec.Order
			line := fmt.Sprintf("  %s: PO %s %s, %d lines", demoSamples[i].partner, o.PONumber, o.State, len(o.Lines))
			if !o.ERP.IsZero() {
				line += " → sale order " + o.ERP.Name
				if st, err := f.h.ERP().OrderStatus(ctx, o.ERP); err == nil {
					line += " (" + st.State + ")"
				}
			}
			fmt.Fprintln(w, line)
		}
	}
	return nil
}
