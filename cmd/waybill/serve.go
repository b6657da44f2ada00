package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/waybill-hub/waybill/internal/app"
	"github.com/waybill-hub/waybill/internal/telemetry"
)

func newServeCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Run the hub: job workers, audit sealer and the HTTP server (/healthz, /readyz, /metrics)",
		Long: `Run the hub until interrupted (SIGINT or SIGTERM), then let running jobs finish.

The HTTP server listens on "listen" (default 127.0.0.1:8080) and serves /healthz (process up),
/readyz (store and job queue reachable) and /metrics (Prometheus).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := g.loadConfig()
			if err != nil {
				return err
			}
			log := g.logger(cfg)
			ctx := cmd.Context()
			shutdownTracing, err := telemetry.Setup(ctx, cfg.Telemetry)
			if err != nil {
				return fmt.Errorf("starting tracing: %w", err)
			}
			defer shutdownTracing(context.Background())
			app.TuneRuntime(cfg.Runtime)
			a, err := app.New(ctx, cfg, app.Options{Logger: log})
			if err != nil {
				return fmt.Errorf("starting: %w", err)
			}
			if err := a.Start(ctx); err != nil {
				return err
			}
			log.Info("waybill serving", "addr", a.Addr(), "database", cfg.Database.Driver, "erp", cfg.ERP.Kind)
			<-ctx.Done()
			log.Info("shutting down")
			sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			return a.Stop(sctx)
		},
	}
}
