package telemetry

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/waybill-hub/waybill/internal/store"
)

// EndpointState is a partner endpoint's last probe.
type EndpointState struct {
	Partner, Endpoint string
	Up                bool
	Latency           time.Duration
}

// Sources are what the operations collector reads at scrape time; nil fields are skipped.
type Sources struct {
	DB        *store.DB
	Breaker   func() string // the ERP circuit breaker: closed, open, half-open
	Endpoints func(ctx context.Context) []EndpointState
	Log       *slog.Logger
}

var (
	overdueDesc  = prometheus.NewDesc("waybill_acks_overdue", "Outbound EDI sets whose functional acknowledgement (997/999) is overdue by the partner's SLA, by partner and transaction set.", []string{"partner", "doc_type"}, nil)
	breakerDesc  = prometheus.NewDesc("waybill_erp_breaker_state", "The ERP circuit breaker: 1 for the current state (closed, open, half-open), 0 for the others.", []string{"state"}, nil)
	endpointUp   = prometheus.NewDesc("waybill_endpoint_up", "Whether a partner endpoint answered its last probe.", []string{"partner", "endpoint"}, nil)
	endpointLat  = prometheus.NewDesc("waybill_endpoint_latency_seconds", "Latency of a partner endpoint's last probe.", []string{"partner", "endpoint"}, nil)
	archivedDesc = prometheus.NewDesc("waybill_payloads_archived", "Payloads written to the archive; purged ones are no longer in the database.", []string{"purged"}, nil)
)

// Collector is a prometheus.Collector over Sources, cached for a few seconds so that frequent
// scrapes do not load the database.
type Collector struct {
	src Sources

	mu      sync.Mutex
	at      time.Time
	metrics []prometheus.Metric
}

// NewCollector returns a collector over src; register it in the hub's registry.
func NewCollector(src Sources) *Collector {
	if src.Log == nil {
		src.Log = slog.Default()
	}
	return &Collector{src: src}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{overdueDesc, breakerDesc, endpointUp, endpointLat, archivedDesc} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.at) > 5*time.Second {
		c.metrics = c.read()
		c.at = time.Now()
	}
	for _, m := range c.metrics {
		ch <- m
	}
}

func gauge(d *prometheus.Desc, v float64, labels ...string) prometheus.Metric {
	return prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
}

func (c *Collector) read() []prometheus.Metric {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	var out []prometheus.Metric
	if db := c.src.DB; db != nil {
		now := db.Now()
		if counts, err := db.OverdueAcks(ctx, now); err == nil {
			for _, n := range counts {
				out = append(out, gauge(overdueDesc, float64(n.Count), n.Partner, n.SetID))
			}
		} else {
			c.src.Log.Warn("telemetry: reading overdue acknowledgements", "error", err)
		}
		if a, p, err := db.ArchiveStats(ctx); err == nil {
			out = append(out, gauge(archivedDesc, float64(a-p), "false"), gauge(archivedDesc, float64(p), "true"))
		}
	}
	if c.src.Breaker != nil {
		cur := c.src.Breaker()
		for _, s := range []string{"closed", "open", "half-open"} {
			v := 0.0
			if s == cur {
				v = 1
			}
			out = append(out, gauge(breakerDesc, v, s))
		}
	}
	if c.src.Endpoints != nil {
		for _, e := range c.src.Endpoints(ctx) {
			up := 0.0
			if e.Up {
				up = 1
			}
			out = append(out, gauge(endpointUp, up, e.Partner, e.Endpoint), gauge(endpointLat, e.Latency.Seconds(), e.Partner, e.Endpoint))
		}
	}
	return out
}
