package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/app"
	"github.com/waybill-hub/waybill/internal/config"
	"github.com/waybill-hub/waybill/internal/dashboard"
	"github.com/waybill-hub/waybill/internal/edi"
	"github.com/waybill-hub/waybill/internal/odoo/odoosim"
	"github.com/waybill-hub/waybill/internal/store"
	"github.com/waybill-hub/waybill/internal/transport"
)

const demoMarker = ".waybill-demo"

func newDemoCmd(g *globals) *cobra.Command {
	var once bool
	var listen string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the hub on an embedded store with sample partners and traffic",
		Long: `Start a complete hub on an embedded SQLite store in ./waybill-demo (recreated at each run) and the
built-in Odoo simulator on loopback (reached over its real JSON-2 API), with sample partners, and
send sample traffic through it: order JSON (good orders, a resent file, a duplicate PO, an unknown
item, an invalid order), two retail partners' X12 850s (answered with 997/999 and 855), and
documents over AS2, SFTP and CSV; then ship, invoice and post in "Odoo" and let change capture
move the orders on. It prints what happened and where to look, and keeps serving until
interrupted. With --once, exit when the sample traffic is done.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir := g.dataDir
			if dir == "" {
				dir = "waybill-demo"
			}
			if err := resetDemoDir(dir); err != nil {
				return err
			}
			cfg := config.Default()
			cfg.DataDir = dir
			cfg.Listen = listen
			cfg.Log.Level = "error"
			if g.logLevel != "" {
				cfg.Log.Level = g.logLevel
			}
			cfg.Pipeline.PollInterval = 20 * time.Millisecond
			cfg.Pipeline.BackoffBase = 200 * time.Millisecond
			cfg.Pipeline.BackoffMax = 2 * time.Second
			cfg.ERP.Odoo.PollInterval = 2 * time.Second
			cfg.Partners = []config.Partner{
				{ID: "acme-retail", Name: "Acme Retail (web orders)", Account: "ACME", DuplicatePolicy: "reject"},
				{ID: "globex-stores", Name: "Globex Stores (store systems)", Account: "GLOBEX", DuplicatePolicy: "flag"},
				{ID: "portal", Name: "Customer portal"},
			}
			if err := cfg.Validate("demo"); err != nil {
				return err
			}
			ctx := cmd.Context()
			w := g.stdout
			od, err := startDemoOdoo(ctx)
			if err != nil {
				return fmt.Errorf("starting the Odoo simulator: %w", err)
			}
			defer od.close()
			if err := od.seed(ctx); err != nil {
				return err
			}
			log := g.logger(cfg)
			app.TuneRuntime(cfg.Runtime)
			a, err := app.New(ctx, cfg, app.Options{ERP: od.client, Logger: log})
			if err != nil {
				return err
			}
			flow, err := edi.InstallDemo(a.Hub, log, filepath.Join(dir, "outbound"))
			if err != nil {
				return err
			}
			if err := dashboard.CreateOperator(ctx, a.Storage.DB, "demo", dashboard.RoleAdmin, "waybill-demo"); err != nil {
				return fmt.Errorf("creating the demo operator: %w", err)
			}
			if err := a.Start(ctx); err != nil {
				return err
			}
			defer func() {
				sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				a.Stop(sctx)
			}()
			fmt.Fprintf(w, "Waybill demo\n  store:     embedded SQLite in %s\n  Odoo:      simulator (Odoo 19, JSON-2) at %s, database sim, user %s, API key %s\n  hub HTTP:  http://%s\n\n",
				dir, od.url, odoosim.AdminLogin, odoosim.AdminAPIKey, a.Addr())

			if err := runDemoTraffic(ctx, a, g); err != nil {
				return err
			}
			fmt.Fprintln(w)
			if err := flow.DemoTraffic(ctx, w); err != nil {
				return err
			}
			fmt.Fprintln(w)
			exch, err := transport.DemoExchange(ctx, a.Hub, w, transport.DemoOptions{Dir: filepath.Join(dir, "transport"),
				AS2Partner: "acme-retail", SFTPPartner: "globex-stores", Logger: log})
			if err != nil {
				return err
			}
			defer exch.Stop(context.Background())
			if err := demoFulfil(ctx, a, od, w); err != nil {
				return err
			}
			base := fmt.Sprintf("waybill --data-dir %s", dir)
			fmt.Fprintf(w, "\nWhere to look:\n")
			fmt.Fprintf(w, "  http://%s/ui/                  # the operator dashboard (user demo, password waybill-demo)\n", a.Addr())
			fmt.Fprintf(w, "  %s dlq list                  # failed work waiting for a person\n", base)
			fmt.Fprintf(w, "  %s trace PO-1001             # the chain of one order, receipt to Odoo and back\n", base)
			fmt.Fprintf(w, "  %s audit verify --seal       # the hash-chained audit trail\n", base)
			fmt.Fprintf(w, "  curl http://%s/metrics        # Prometheus metrics; /healthz, /readyz\n", a.Addr())
			fmt.Fprintf(w, "  %s/outbound/                         # the X12 documents the hub sent\n", dir)
			if once {
				return nil
			}
			fmt.Fprintf(w, "\nServing until interrupted (Ctrl-C).\n")
			<-ctx.Done()
			return nil
		},
	}
	cmd.Flags().BoolVar(&once, "once", false, "exit when the sample traffic is done")
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:8080", "HTTP listen address")
	return cmd
}

// resetDemoDir empties a demo data directory, refusing to touch one the demo did not create.
func resetDemoDir(dir string) error {
	if _, err := os.Stat(dir); err == nil {
		if _, err := os.Stat(filepath.Join(dir, demoMarker)); err != nil {
			entries, _ := os.ReadDir(dir)
			if len(entries) > 0 {
				return &ExitError{Code: 2, Err: fmt.Errorf("%s exists and was not made by the demo; choose another --data-dir", dir)}
			}
		}
		if err := os.RemoveAll(dir); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, demoMarker), []byte("created by waybill demo; removed at the next demo run\n"), 0o640)
}

type demoStep struct {
	partner, what string
	order         waybill.Order
	raw           []byte
}

func demoOrder(po string, lines ...[3]string) waybill.Order {
	o := waybill.Order{PONumber: po, PODate: time.Now().UTC().Truncate(24 * time.Hour), Currency: "USD"}
	for i, l := range lines {
		o.Lines = append(o.Lines, waybill.Line{Number: fmt.Sprint(i + 1), VendorItem: l[0], Quantity: waybill.MustDecimal(l[1]), UOM: "EA",
			UnitPrice: waybill.MustDecimal(l[2]), HasUnitPrice: l[2] != "0"})
	}
	return o
}

func runDemoTraffic(ctx context.Context, a *app.App, g *globals) error {
	steps := []demoStep{
		{partner: "acme-retail", what: "order", order: demoOrder("WEB-1001", [3]string{"WID-100", "24", "4.25"}, [3]string{"GAD-300", "2", "39.90"})},
		{partner: "acme-retail", what: "order", order: demoOrder("WEB-1002", [3]string{"WID-200", "10", "12.00"})},
		{partner: "acme-retail", what: "the same file again (transport duplicate)", order: demoOrder("WEB-1002", [3]string{"WID-200", "10", "12.00"})},
		{partner: "globex-stores", what: "order", order: demoOrder("ST-77", [3]string{"WID-100", "100", "0"})},
		{partner: "globex-stores", what: "PO ST-77 again with other lines (duplicate PO, flagged)", order: demoOrder("ST-77", [3]string{"WID-200", "5", "0"})},
		{partner: "acme-retail", what: "order for an item the ERP does not know", order: demoOrder("WEB-1003", [3]string{"NEW-999", "6", "2.00"})},
		{partner: "acme-retail", what: "order with a zero quantity (invalid)", order: demoOrder("WEB-1004", [3]string{"WID-100", "0", "4.25"})},
		{partner: "acme-retail", what: "unreadable JSON", raw: []byte(`{"po_number": "WEB-1005", "lines": [`)},
	}
	events, cancel := a.Queue.Subscribe()
	defer cancel()
	w := g.stdout
	fmt.Fprintln(w, "Sample traffic:")
	for _, s := range steps {
		payload := s.raw
		if payload == nil {
			payload, _ = json.Marshal(s.order)
		}
		rc, err := a.Hub.Receive(ctx, waybill.InboundMessage{Channel: waybill.ChannelHTTP, Partner: s.partner, Payload: payload,
			Filename: s.order.PONumber + ".json"})
		if err != nil {
			return err
		}
		dup := ""
		if rc.Duplicate {
			dup = " → duplicate of " + rc.DuplicateOf + ", not processed"
		}
		fmt.Fprintf(w, "  %-12s %-55s %s%s\n", s.partner, s.what, rc.MessageID, dup)
	}
	// Wait until the pipeline is idle: no unfinished jobs left.
	deadline := time.After(30 * time.Second)
	for {
		stats, err := a.Queue.Stats(ctx)
		if err != nil {
			return err
		}
		busy := int64(0)
		for _, s := range stats {
			if s.State != "scheduled" {
				busy += s.Count
			}
		}
		if busy == 0 {
			break
		}
		select {
		case <-events:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			return fmt.Errorf("the sample traffic did not finish within 30s")
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	orders, err := a.Storage.DB.Orders(ctx, store.OrderFilter{Limit: 100})
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "\nOrders:")
	for i := len(orders) - 1; i >= 0; i-- {
		o := orders[i].Order
		erpName := o.ERP.Name
		if erpName == "" {
			erpName = "-"
		}
		fmt.Fprintf(w, "  %-12s PO %-8s %-10s ERP %-7s %s\n", o.Partner, o.PONumber, o.State, erpName, o.ID)
	}
	dls, err := a.Storage.DB.DeadLetters(ctx, store.DeadLetterFilter{})
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "\nDead letters (fix the cause, then replay):")
	for _, d := range dls {
		fmt.Fprintf(w, "  %s  %-12s %-16s %s\n", d.ID, d.Partner, d.Reason, clip(d.Message, 90))
	}
	return nil
}

// demoFulfil ships, invoices and posts every accepted demo order in Odoo, then polls Odoo's
// changes and waits until the hub has seen them.
func demoFulfil(ctx context.Context, a *app.App, od *demoOdoo, w io.Writer) error {
	var ids []int64
	for _, st := range []waybill.OrderState{waybill.OrderAccepted, waybill.OrderAllocated} {
		orders, err := a.Storage.DB.Orders(ctx, store.OrderFilter{State: st, Limit: 100})
		if err != nil {
			return err
		}
		for _, o := range orders {
			ids = append(ids, o.Order.ERP.ID)
		}
	}
	fmt.Fprintf(w, "\nIn Odoo: %d sale orders delivered (tracking numbers set), invoiced and posted.\n", len(ids))
	if err := od.fulfil(ctx, ids); err != nil {
		return fmt.Errorf("fulfilling in the Odoo simulator: %w", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := a.Hub.PollChanges(ctx); err != nil {
			return err
		}
		counts, err := a.Storage.DB.CountOrdersByState(ctx)
		if err != nil {
			return err
		}
		out, err := a.Storage.DB.CountMessages(ctx)
		if err != nil {
			return err
		}
		if (counts[waybill.OrderInvoiced]+counts[waybill.OrderClosed] >= int64(len(ids)) && out["out/queued"] == 0) || time.Now().After(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	after, err := a.Storage.DB.Orders(ctx, store.OrderFilter{Limit: 100})
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "Orders after change capture:")
	for i := len(after) - 1; i >= 0; i-- {
		o := after[i].Order
		if o.ERP.Name == "" {
			continue
		}
		var shipped, ordered waybill.Decimal
		for _, l := range o.Lines {
			shipped, ordered = shipped.Add(l.Qty.Shipped), ordered.Add(l.Qty.Ordered)
		}
		fmt.Fprintf(w, "  %-14s PO %-9s %-9s Odoo %-7s shipped %s of %s\n", o.Partner, o.PONumber, o.State, o.ERP.Name, shipped, ordered)
	}
	// The EDI partners' 810s follow their 856s once those are out (a scheduled job): wait a little.
	var byDoc map[string]int
	for end := time.Now().Add(20 * time.Second); ; {
		sent, err := a.Storage.DB.Messages(ctx, store.MessageFilter{Direction: store.Outbound, Limit: 1000})
		if err != nil {
			return err
		}
		byDoc = map[string]int{}
		for _, m := range sent {
			byDoc[m.DocType]++
		}
		if byDoc["810"] >= byDoc["856"] || time.Now().After(end) {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
		if _, err := a.Hub.PollChanges(ctx); err != nil {
			return err
		}
	}
	docs := make([]string, 0, len(byDoc))
	for d, n := range byDoc {
		docs = append(docs, fmt.Sprintf("%s ×%d", d, n))
	}
	sort.Strings(docs)
	fmt.Fprintf(w, "Outbound documents sent: %s\n", strings.Join(docs, ", "))
	return nil
}
