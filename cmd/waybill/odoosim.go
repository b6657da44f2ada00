package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/waybill-hub/waybill/internal/odoo/odoosim"
)

// newOdooSimCmd returns `waybill odoosim`, which serves the Odoo simulator
// until interrupted. Exit status 2 for bad flags or an address that cannot
// be listened on.
func newOdooSimCmd() *cobra.Command {
	var (
		listen, version, profile, database string
		seedDemo                           bool
	)
	cmd := &cobra.Command{
		Use:   "odoosim",
		Short: "Serve a simulated Odoo (JSON-2, JSON-RPC, XML-RPC) for tests and demos",
		Long: `Serve an in-memory Odoo that speaks Odoo's external API (JSON-2 on 19.0, JSON-RPC at
/jsonrpc, XML-RPC at /xmlrpc/2) and simulates the distribution flow: partners, products, stock,
sale orders, deliveries with backorders, invoices and payments. Data lives in memory and is lost
when the command stops (Ctrl-C).

--profile odoo19 adds the latency and the throughput ceiling measured on a real Odoo 19 on a
2-core box; --profile zero answers at once. --seed-demo creates customers, products with stock
and a customer pricelist.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if version != "17.0" && version != "18.0" && version != "19.0" {
				return &ExitError{Code: 2, Err: fmt.Errorf("--version must be 17.0, 18.0 or 19.0, not %q", version)}
			}
			opts := odoosim.Options{Version: version, Database: database}
			switch profile {
			case "odoo19":
				opts.Latency = odoosim.Odoo19Profile()
			case "zero", "":
			default:
				return &ExitError{Code: 2, Err: fmt.Errorf("--profile must be odoo19 or zero, not %q", profile)}
			}
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return &ExitError{Code: 2, Err: fmt.Errorf("listening on %s: %w", listen, err)}
			}
			sim := odoosim.New(opts)
			defer sim.Close()
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "Odoo %s simulator listening on http://%s\n", sim.Version(), ln.Addr())
			fmt.Fprintf(out, "  database: %s\n  login:    %s\n  password: %s\n  API key:  %s (uid %d)\n",
				sim.Database(), odoosim.AdminLogin, odoosim.AdminPassword, odoosim.AdminAPIKey, odoosim.AdminUID)
			if seedDemo {
				d := sim.SeedDemo()
				fmt.Fprintf(out, "  demo:     %d customers, %d products, pricelist %d; salesperson login sales / sales, API key sim-sales-key (uid %d)\n",
					len(d.Customers), len(d.Products), d.Pricelist, d.Salesperson)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
			errc := make(chan error, 1)
			go func() { errc <- srv.Serve(ln) }()
			select {
			case err := <-errc:
				return &ExitError{Code: 1, Err: fmt.Errorf("serving: %w", err)}
			case <-ctx.Done():
			}
			shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return &ExitError{Code: 1, Err: fmt.Errorf("stopping: %w", err)}
			}
			fmt.Fprintln(out, "stopped")
			return nil
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:8069", "address to listen on")
	cmd.Flags().StringVar(&version, "version", "19.0", "Odoo version to simulate: 17.0, 18.0 or 19.0")
	cmd.Flags().StringVar(&profile, "profile", "zero", "latency profile: odoo19 or zero")
	cmd.Flags().StringVar(&database, "database", "sim", "database name")
	cmd.Flags().BoolVar(&seedDemo, "seed-demo", false, "create demo customers, products with stock and a pricelist")
	return cmd
}
