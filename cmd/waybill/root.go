package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/waybill-hub/waybill/internal/app"
	"github.com/waybill-hub/waybill/internal/config"
	"github.com/waybill-hub/waybill/internal/telemetry"
)

// globals are the flags every command shares.
type globals struct {
	configPath string
	dataDir    string
	dbURL      string
	logLevel   string
	stdout     io.Writer
	stderr     io.Writer
}

// run executes the command line and returns the process exit status.
func run(args []string, stdout, stderr io.Writer) int {
	root := newRootCmd(stdout, stderr)
	root.SetArgs(args)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		if ee.Err != nil {
			fmt.Fprintln(stderr, "waybill:", ee.Err)
		}
		return ee.Code
	}
	fmt.Fprintln(stderr, "waybill:", err)
	var ce config.Errors
	if errors.As(err, &ce) {
		return 2
	}
	return 1
}

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	g := &globals{stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:   "waybill",
		Short: "Waybill: the integration hub between Odoo and a distributor's partners",
		Long: `Waybill connects Odoo to trading partners (X12 EDI over AS2 and SFTP, CSV), customer portals
and warehouse, carrier and finance systems. Every message is stored before it is acknowledged,
processed by durable jobs, traceable to the Odoo documents it produced, and replayable after a fix.

Start with "waybill demo"; run the hub with "waybill serve --config waybill.yaml".`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	pf := root.PersistentFlags()
	pf.StringVarP(&g.configPath, "config", "c", os.Getenv("WAYBILL_CONFIG"), "configuration file (YAML); env WAYBILL_CONFIG")
	pf.StringVar(&g.dataDir, "data-dir", "", "data directory of the embedded SQLite store (overrides data_dir)")
	pf.StringVar(&g.dbURL, "database-url", "", "PostgreSQL URL (overrides database.url and selects postgres)")
	pf.StringVar(&g.logLevel, "log-level", "", "debug, info, warn or error (overrides log.level)")
	root.AddCommand(newServeCmd(g), newDemoCmd(g), newMigrateCmd(g), newDLQCmd(g), newTraceCmd(g), newAuditCmd(g),
		newMappingCmd(g), newAcksCmd(g), newKeysCmd(g), newOperatorsCmd(g), newArchiveCmd(g),
		newSFTPCmd(), newAS2Cmd(), newIntakeCmd(), newVersionCmd(g), newEDICmd(), newOdooSimCmd())
	return root
}

// loadConfig reads the configuration with the command-line overrides applied.
func (g *globals) loadConfig() (config.Config, error) {
	cfg, err := config.Load(g.configPath)
	if err != nil {
		return cfg, &ExitError{Code: 2, Err: err}
	}
	if g.dataDir != "" {
		cfg.DataDir = g.dataDir
	}
	if g.dbURL != "" {
		cfg.Database.Driver, cfg.Database.URL = "postgres", g.dbURL
	}
	if g.logLevel != "" {
		cfg.Log.Level = g.logLevel
	}
	if err := cfg.Validate(g.source()); err != nil {
		return cfg, &ExitError{Code: 2, Err: err}
	}
	return cfg, nil
}

func (g *globals) source() string {
	if g.configPath == "" {
		return "command line"
	}
	return g.configPath
}

func (g *globals) logger(cfg config.Config) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(cfg.Log.Level))
	opts := &slog.HandlerOptions{Level: lvl}
	var h slog.Handler = slog.NewTextHandler(g.stderr, opts)
	if cfg.Log.Format == "json" {
		h = slog.NewJSONHandler(g.stderr, opts)
	}
	// Log lines inside a traced operation carry its trace and correlation ids.
	return slog.New(telemetry.LogHandler(h))
}

// openStorage opens and migrates the store for an operator command.
func (g *globals) openStorage(ctx context.Context) (config.Config, *app.Storage, error) {
	cfg, err := g.loadConfig()
	if err != nil {
		return cfg, nil, err
	}
	st, err := app.OpenStorage(ctx, cfg)
	if err != nil {
		return cfg, nil, fmt.Errorf("opening the store: %w", err)
	}
	if err := st.Migrate(ctx); err != nil {
		st.DB.Close()
		return cfg, nil, err
	}
	return cfg, st, nil
}
