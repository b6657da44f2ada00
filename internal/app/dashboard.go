package app

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/config"
	"github.com/waybill-hub/waybill/internal/dashboard"
	"github.com/waybill-hub/waybill/internal/odoo"
	"github.com/waybill-hub/waybill/internal/retention"
	"github.com/waybill-hub/waybill/internal/store"
	"github.com/waybill-hub/waybill/internal/telemetry"
)

// ArchiveDirEnv overrides where retention archives payloads (default: DATA_DIR/archive).
const ArchiveDirEnv = "WAYBILL_ARCHIVE_DIR"

// mountOperations mounts the operators' dashboard under /ui/ (and redirects / to it).
func mountOperations(a *App) {
	partners := make([]string, 0, len(a.Config.Partners))
	for _, p := range a.Config.Partners {
		partners = append(partners, p.ID)
	}
	srv, err := dashboard.New(dashboard.Config{DB: a.Storage.DB, Actions: a.Hub, Queue: a.Queue, Logger: a.Log.With("component", "dashboard"),
		Loader: a.Archiver(), Health: a.health(), Partners: partners})
	if err != nil {
		a.Log.Error("dashboard disabled", "error", err)
		return
	}
	a.dashboard = srv
	hm := telemetry.NewHTTPMetrics(a.Metrics.Registry)
	srv.Mount(a.mux, func(h http.Handler) http.Handler { return hm.Wrap("dashboard", h) })
	health := a.health()
	if err := a.Metrics.Registry.Register(telemetry.NewCollector(telemetry.Sources{DB: a.Storage.DB, Breaker: health.Breaker, Endpoints: a.probes.states,
		Log: a.Log.With("component", "telemetry")})); err != nil {
		a.Log.Error("operations metrics disabled", "error", err)
	}
}

// Archiver returns the retention archiver over the app's store and archive folder.
func (a *App) Archiver() *retention.Archiver {
	return ArchiverFor(a.Config, a.Storage.DB, a.Log.With("component", "retention"))
}

// ArchiverFor returns the retention archiver of a configuration (its retention section; the
// default policy keeps 90 days online for every document type).
// Payloads go to an S3-compatible bucket when $WAYBILL_ARCHIVE_S3_ENDPOINT is set (with
// $WAYBILL_ARCHIVE_S3_BUCKET, _REGION, _PREFIX and the credentials in $AWS_ACCESS_KEY_ID and
// $AWS_SECRET_ACCESS_KEY), otherwise to gzip files under $WAYBILL_ARCHIVE_DIR (default
// DATA_DIR/archive).
func ArchiverFor(cfg config.Config, db *store.DB, log *slog.Logger) *retention.Archiver {
	var arc retention.Archive
	if ep := os.Getenv("WAYBILL_ARCHIVE_S3_ENDPOINT"); ep != "" {
		arc = &retention.S3{Endpoint: ep, Bucket: os.Getenv("WAYBILL_ARCHIVE_S3_BUCKET"), Region: os.Getenv("WAYBILL_ARCHIVE_S3_REGION"),
			Prefix: os.Getenv("WAYBILL_ARCHIVE_S3_PREFIX"), AccessKey: os.Getenv("AWS_ACCESS_KEY_ID"), SecretKey: os.Getenv("AWS_SECRET_ACCESS_KEY")}
	} else {
		dir := os.Getenv(ArchiveDirEnv)
		if dir == "" {
			dir = filepath.Join(cfg.DataDir, "archive")
		}
		arc = retention.Folder{Dir: dir}
	}
	pol := cfg.Retention
	if pol.Every == 0 && pol.DefaultDays == 0 && len(pol.Rules) == 0 {
		pol = retention.Default()
	}
	return &retention.Archiver{DB: db, Archive: arc, Policy: pol, Log: log}
}

// RunRetention runs the scheduled retention job until ctx ends: archive and purge payloads due
// under the policy, once at start and then every Policy.Every.
func (a *App) RunRetention(ctx context.Context) { a.Archiver().Schedule(ctx) }

// health wires the technical health page's probes: the Odoo connector's reachability and
// breaker when the ERP is Odoo (also behind a decorator with Unwrap, such as telemetry.TraceERP),
// and job attempt counters from the metrics registry.
func (a *App) health() dashboard.Health {
	h := dashboard.Health{Counters: a.jobCounters, Certs: a.as2Certs, Endpoints: a.probes.endpoints}
	erp := a.ERP
	for {
		u, ok := erp.(interface{ Unwrap() waybill.ERP })
		if !ok {
			break
		}
		erp = u.Unwrap()
	}
	if c, ok := erp.(*odoo.Client); ok {
		h.Breaker = func() string { return string(c.BreakerState()) }
		h.ERPPing = func(ctx context.Context) error {
			_, err := c.Call(ctx, "res.partner", "search_count", nil, map[string]any{"domain": []any{}})
			return err
		}
	} else if p, ok := erp.(interface{ Ping(context.Context) error }); ok {
		h.ERPPing = p.Ping
	}
	return h
}

// as2Certs reads the AS2 certificates' expiry from the metrics registry, where the transport
// channels export it (waybill_as2_certificate_expiry_seconds); none until transports are mounted.
func (a *App) as2Certs() []dashboard.CertInfo {
	mfs, err := a.Metrics.Registry.Gather()
	if err != nil {
		return nil
	}
	now := time.Now().UTC()
	var out []dashboard.CertInfo
	for _, mf := range mfs {
		if mf.GetName() != "waybill_as2_certificate_expiry_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			c := dashboard.CertInfo{Usage: "AS2, partner's", NotAfter: now.Add(time.Duration(m.GetGauge().GetValue() * float64(time.Second)))}
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case "partner":
					c.Partner = l.GetValue()
				case "ours":
					if l.GetValue() == "true" {
						c.Usage = "AS2, ours"
					}
				case "serial":
					c.Subject = "serial " + l.GetValue()
				}
			}
			out = append(out, c)
		}
	}
	return out
}

// jobCounters sums waybill_job_attempts_total by outcome.
func (a *App) jobCounters() map[string]float64 {
	out := map[string]float64{}
	mfs, err := a.Metrics.Registry.Gather()
	if err != nil {
		return out
	}
	for _, mf := range mfs {
		if mf.GetName() != "waybill_job_attempts_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "outcome" {
					out["job_attempts/"+l.GetValue()] += m.GetCounter().GetValue()
				}
			}
		}
	}
	return out
}
