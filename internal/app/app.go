// Package app assembles a running hub from its configuration: the store backend and its job
// queue, the ERP adapter, the hub's use cases and workers, metrics, the audit sealer and the HTTP
// server. cmd/waybill and the end-to-end tests build on it; it holds wiring only.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivertype"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/config"
	"github.com/waybill-hub/waybill/internal/dashboard"
	"github.com/waybill-hub/waybill/internal/hub"
	"github.com/waybill-hub/waybill/internal/jobs"
	"github.com/waybill-hub/waybill/internal/memerp"
	"github.com/waybill-hub/waybill/internal/metrics"
	"github.com/waybill-hub/waybill/internal/partner"
	"github.com/waybill-hub/waybill/internal/postgres"
	"github.com/waybill-hub/waybill/internal/sqlite"
	"github.com/waybill-hub/waybill/internal/store"
	"github.com/waybill-hub/waybill/internal/telemetry"
	"github.com/waybill-hub/waybill/internal/transport"
)

// Storage is an opened store with the means to make its job queue.
type Storage struct {
	DB *store.DB
	// NewQueue makes the job queue over this store; nil workers makes an insert-only queue.
	NewQueue func(workers *river.Workers, cfg jobs.Config) (jobs.Queue, error)
	// MigrateQueue applies the job queue's own migrations.
	MigrateQueue func(ctx context.Context) error
}

// OpenStorage opens the configured database (it does not migrate).
func OpenStorage(ctx context.Context, cfg config.Config) (*Storage, error) {
	switch cfg.Database.Driver {
	case "postgres":
		b, err := postgres.Open(ctx, cfg.Database.URL, postgres.Options{})
		if err != nil {
			return nil, err
		}
		return postgresStorage(b), nil
	default:
		b, err := sqlite.Open(ctx, cfg.DataDir)
		if err != nil {
			return nil, err
		}
		return sqliteStorage(b), nil
	}
}

// SQLiteStorage wraps an opened SQLite backend.
func sqliteStorage(b *sqlite.Backend) *Storage {
	db := store.New(b)
	drv := riversqlite.New(b.DB())
	return &Storage{
		DB: db,
		NewQueue: func(w *river.Workers, c jobs.Config) (jobs.Queue, error) {
			return jobs.NewRiverQueue(db, drv, w, c)
		},
		MigrateQueue: func(ctx context.Context) error { return jobs.Migrate(ctx, drv) },
	}
}

func postgresStorage(b *postgres.Backend) *Storage {
	db := store.New(b)
	drv := riverpgxv5.New(b.Pool())
	return &Storage{
		DB: db,
		NewQueue: func(w *river.Workers, c jobs.Config) (jobs.Queue, error) {
			return jobs.NewRiverQueue(db, drv, w, c)
		},
		MigrateQueue: func(ctx context.Context) error { return jobs.Migrate(ctx, drv) },
	}
}

// StorageFor wraps an already opened backend (tests).
func StorageFor(b store.Backend) *Storage {
	switch b := b.(type) {
	case *sqlite.Backend:
		return sqliteStorage(b)
	case *postgres.Backend:
		return postgresStorage(b)
	}
	panic(fmt.Sprintf("app: unknown backend %T", b))
}

// Migrate applies the store's and the queue's migrations.
func (s *Storage) Migrate(ctx context.Context) error {
	if err := s.DB.Migrate(ctx); err != nil {
		return err
	}
	return s.MigrateQueue(ctx)
}

// App is a running hub.
type App struct {
	Config  config.Config
	Log     *slog.Logger
	Storage *Storage
	Hub     *hub.Hub
	Queue   jobs.Queue
	Metrics *metrics.Metrics
	ERP     waybill.ERP
	// Workers is the job queue's worker registry: flows add their workers to it while mounting.
	Workers *river.Workers
	// Partners are the partner profiles loaded from partners_dir (nil without one).
	Partners *partner.Registry
	// Channels are the partner transports built from the profiles (nil without profiles).
	Channels *transport.Channels

	dashboard *dashboard.Server
	probes    *endpointProber
	mux       *http.ServeMux
	server    *http.Server
	listener  net.Listener
	stopBG    context.CancelFunc
	bg        sync.WaitGroup
}

// Options are the parts a caller may supply instead of building them from config.
type Options struct {
	Storage *Storage    // an opened storage (tests); nil opens cfg.Database
	ERP     waybill.ERP // an ERP (tests, demo); nil builds cfg.ERP
	Logger  *slog.Logger
}

// New builds the hub, migrating the store. It starts nothing; call Start.
func New(ctx context.Context, cfg config.Config, opts Options) (*App, error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	st := opts.Storage
	if st == nil {
		var err error
		if st, err = OpenStorage(ctx, cfg); err != nil {
			return nil, err
		}
	}
	if err := st.Migrate(ctx); err != nil {
		return nil, err
	}
	erp := opts.ERP
	if erp == nil {
		var err error
		if erp, err = buildERP(ctx, cfg); err != nil {
			return nil, err
		}
	}
	m := metrics.New()
	h := hub.New(hub.Config{DB: st.DB, ERP: erp, Partners: hub.PartnerMap(cfg.DomainPartners()), Logger: log, Observer: m,
		BatchSize: cfg.Pipeline.BatchSize, BatchParallel: cfg.Pipeline.BatchParallel, FairShare: cfg.Pipeline.FairShare,
		SyncRate: cfg.Pipeline.SyncRate})
	h.SetJobObserver(m)
	workers := river.NewWorkers()
	h.Workers(workers)
	jc := jobs.Config{Workers: cfg.Pipeline.Workers, SyncWorkers: cfg.Pipeline.SyncWorkers, MaxAttempts: cfg.Pipeline.MaxAttempts, BackoffBase: cfg.Pipeline.BackoffBase,
		BackoffMax: cfg.Pipeline.BackoffMax, PollInterval: cfg.Pipeline.PollInterval, JobTimeout: cfg.Pipeline.JobTimeout,
		RescueAfter: cfg.Pipeline.RescueAfter, Logger: log.With("component", "jobs"),
		Middleware: []rivertype.Middleware{&telemetry.JobMiddleware{}}}
	q, err := st.NewQueue(workers, jc)
	if err != nil {
		return nil, err
	}
	h.Attach(q)
	m.WatchStore(storeSource{st.DB, q}, log)
	a := &App{Config: cfg, Log: log, Storage: st, Hub: h, Queue: q, Metrics: m, ERP: erp, Workers: workers, mux: http.NewServeMux(),
		probes: newEndpointProber()}
	a.routes()
	a.mountChangeCapture()
	h.SetPayloadLoader(a.Archiver())
	mountPortal(a)
	mountOperations(a)
	if err := mountEDI(ctx, a); err != nil {
		return nil, err
	}
	mountEDIFulfilment(a)
	if a.Partners != nil {
		tc := cfg.Transport
		if tc.SFTP.Root == "" {
			tc.SFTP.Root = filepath.Join(cfg.DataDir, "sftp")
		}
		if tc.SFTP.ArchiveDir == "" {
			tc.SFTP.ArchiveDir = filepath.Join(cfg.DataDir, "archive", "sftp")
		}
		if tc.Folder.ArchiveDir == "" {
			tc.Folder.ArchiveDir = filepath.Join(cfg.DataDir, "archive", "folder")
		}
		ch, err := MountTransports(a, tc, transport.FromRegistry(a.Partners))
		if err != nil {
			return nil, fmt.Errorf("building partner transports: %w", err)
		}
		a.Channels = ch
	}
	return a, nil
}

func buildERP(ctx context.Context, cfg config.Config) (waybill.ERP, error) {
	switch cfg.ERP.Kind {
	case "http":
		return memerp.NewClient(cfg.ERP.URL), nil
	case "odoo":
		return newOdoo(ctx, cfg)
	default:
		return memerp.New(true), nil
	}
}

// Mux returns the HTTP mux, for adapters to add their routes before Start.
func (a *App) Mux() *http.ServeMux { return a.mux }

// Start starts the job queue, the audit sealer and, when listen is not empty, the HTTP server.
func (a *App) Start(ctx context.Context) error {
	if err := a.Queue.Start(ctx); err != nil {
		return fmt.Errorf("starting job queue: %w", err)
	}
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	a.stopBG = cancel
	a.bg.Add(1)
	go func() {
		defer a.bg.Done()
		a.sealLoop(bg)
	}()
	a.bg.Add(1)
	go func() {
		defer a.bg.Done()
		a.RunRetention(bg)
	}()
	if a.dashboard != nil {
		a.bg.Add(1)
		go func() {
			defer a.bg.Done()
			a.dashboard.Warm(bg)
		}()
	}
	if a.Channels != nil {
		if err := a.Channels.Start(ctx); err != nil {
			return fmt.Errorf("starting partner transports: %w", err)
		}
	}
	if a.Partners != nil {
		targets := targetsOf(transport.FromRegistry(a.Partners))
		a.bg.Add(1)
		go func() {
			defer a.bg.Done()
			a.probes.run(bg, targets, time.Minute)
		}()
	}
	if a.Config.Listen != "" {
		ln, err := net.Listen("tcp", a.Config.Listen)
		if err != nil {
			return fmt.Errorf("listening on %s: %w", a.Config.Listen, err)
		}
		a.listener = ln
		a.server = &http.Server{Handler: a.mux, ReadHeaderTimeout: 10 * time.Second}
		go func() {
			if err := a.server.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				a.Log.Error("http server", "error", err)
			}
		}()
	}
	return nil
}

// Addr returns the HTTP listener's address, once started.
func (a *App) Addr() string {
	if a.listener == nil {
		return ""
	}
	return a.listener.Addr().String()
}

// Stop stops accepting work, lets running jobs finish (until ctx ends), and closes the store.
func (a *App) Stop(ctx context.Context) error {
	if a.server != nil {
		_ = a.server.Shutdown(ctx)
	}
	if a.Channels != nil {
		if err := a.Channels.Stop(ctx); err != nil {
			a.Log.Warn("stopping partner transports", "error", err)
		}
	}
	err := a.Queue.Stop(ctx)
	if a.stopBG != nil {
		a.stopBG()
	}
	a.bg.Wait()
	a.Hub.Close()
	if _, serr := a.Storage.DB.SealAudit(context.WithoutCancel(ctx)); serr != nil {
		a.Log.Warn("sealing audit trail at shutdown", "error", serr)
	}
	return errors.Join(err, a.Storage.DB.Close())
}

func (a *App) sealLoop(ctx context.Context) {
	t := time.NewTicker(a.Config.Audit.SealInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := a.Storage.DB.SealAudit(ctx); err != nil && ctx.Err() == nil {
				a.Log.Warn("sealing audit trail", "error", err)
			}
		}
	}
}

type storeSource struct {
	db *store.DB
	q  jobs.Queue
}

func (s storeSource) QueueStats(ctx context.Context) ([]jobs.KindStats, error) { return s.q.Stats(ctx) }
func (s storeSource) OpenDeadLetters(ctx context.Context) (map[string]int64, error) {
	return s.db.CountDeadLetters(ctx)
}
func (s storeSource) OrdersByState(ctx context.Context) (map[waybill.OrderState]int64, error) {
	return s.db.CountOrdersByState(ctx)
}
