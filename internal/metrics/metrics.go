// Package metrics exposes the hub's Prometheus metrics under stable names with bounded label sets
// (partner, channel, job kind, state, reason): pipeline counters and histograms fed by observers,
// and gauges read from the store at scrape time (queue depth and age, open dead letters, orders
// by state).
package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/jobs"
)

// Metrics holds the hub's metrics in their own registry.
type Metrics struct {
	Registry *prometheus.Registry

	received    *prometheus.CounterVec
	receivedB   *prometheus.CounterVec
	duplicates  *prometheus.CounterVec
	transitions *prometheus.CounterVec
	jobDuration *prometheus.HistogramVec
	jobOutcomes *prometheus.CounterVec
	retries     *prometheus.CounterVec
	deadLetters *prometheus.CounterVec
}

// New creates the metrics and registers the Go and process collectors.
func New() *Metrics {
	m := &Metrics{Registry: prometheus.NewRegistry()}
	m.received = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "waybill_messages_received_total",
		Help: "Inbound messages stored, by channel and partner (duplicates included)."}, []string{"channel", "partner"})
	m.receivedB = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "waybill_messages_received_bytes_total",
		Help: "Bytes of inbound messages stored, by channel and partner."}, []string{"channel", "partner"})
	m.duplicates = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "waybill_duplicates_total",
		Help: "Duplicates detected and not processed again, by channel, partner and kind (digest, transport, business_key)."},
		[]string{"channel", "partner", "kind"})
	m.transitions = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "waybill_order_transitions_total",
		Help: "Order lifecycle transitions, by partner and state reached."}, []string{"partner", "state"})
	m.jobDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "waybill_job_duration_seconds",
		Help: "Time a job attempt ran, by kind and outcome.", Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}},
		[]string{"kind", "outcome"})
	m.jobOutcomes = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "waybill_job_attempts_total",
		Help: "Job attempts by kind and outcome (ok, retry, dead, snoozed)."}, []string{"kind", "outcome"})
	m.retries = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "waybill_job_retries_total",
		Help: "Job attempts that failed transiently and will be retried, by kind."}, []string{"kind"})
	m.deadLetters = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "waybill_dead_letters_total",
		Help: "Jobs dead-lettered, by kind and reason."}, []string{"kind", "reason"})
	m.Registry.MustRegister(m.received, m.receivedB, m.duplicates, m.transitions, m.jobDuration, m.jobOutcomes, m.retries,
		m.deadLetters, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}

// MessageReceived implements hub.Observer.
func (m *Metrics) MessageReceived(ch waybill.Channel, partner string, n int) {
	m.received.WithLabelValues(string(ch), partner).Inc()
	m.receivedB.WithLabelValues(string(ch), partner).Add(float64(n))
}

// Duplicate implements hub.Observer.
func (m *Metrics) Duplicate(ch waybill.Channel, partner, kind string) {
	m.duplicates.WithLabelValues(string(ch), partner, kind).Inc()
}

// OrderTransition implements hub.Observer.
func (m *Metrics) OrderTransition(partner string, to waybill.OrderState) {
	m.transitions.WithLabelValues(partner, string(to)).Inc()
}

// JobFinished implements jobs.Observer.
func (m *Metrics) JobFinished(kind, outcome string, d time.Duration) {
	m.jobDuration.WithLabelValues(kind, outcome).Observe(d.Seconds())
	m.jobOutcomes.WithLabelValues(kind, outcome).Inc()
	if outcome == "retry" {
		m.retries.WithLabelValues(kind).Inc()
	}
}

// DeadLettered implements jobs.Observer.
func (m *Metrics) DeadLettered(kind, reason string) {
	m.deadLetters.WithLabelValues(kind, reason).Inc()
}

// StoreSource is what the scrape-time collector reads.
type StoreSource interface {
	QueueStats(ctx context.Context) ([]jobs.KindStats, error)
	OpenDeadLetters(ctx context.Context) (map[string]int64, error)
	OrdersByState(ctx context.Context) (map[waybill.OrderState]int64, error)
}

// WatchStore registers gauges read from src at scrape time, cached for a second so that
// frequent scrapes do not load the database.
func (m *Metrics) WatchStore(src StoreSource, log *slog.Logger) {
	m.Registry.MustRegister(&storeCollector{src: src, log: log})
}

var (
	queueDepthDesc = prometheus.NewDesc("waybill_jobs", "Unfinished jobs by kind and state.", []string{"kind", "state"}, nil)
	queueAgeDesc   = prometheus.NewDesc("waybill_jobs_oldest_age_seconds", "Age of the oldest unfinished job by kind and state.", []string{"kind", "state"}, nil)
	openDLDesc     = prometheus.NewDesc("waybill_dead_letters_open", "Dead letters waiting for a person, by reason.", []string{"reason"}, nil)
	ordersDesc     = prometheus.NewDesc("waybill_orders", "Orders by lifecycle state.", []string{"state"}, nil)
	upDesc         = prometheus.NewDesc("waybill_store_up", "Whether the store answered the last scrape (1) or not (0).", nil, nil)
)

type storeCollector struct {
	src StoreSource
	log *slog.Logger

	mu      sync.Mutex
	at      time.Time
	metrics []prometheus.Metric
}

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{queueDepthDesc, queueAgeDesc, openDLDesc, ordersDesc, upDesc} {
		ch <- d
	}
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.at) > time.Second {
		c.metrics = c.read()
		c.at = time.Now()
	}
	for _, m := range c.metrics {
		ch <- m
	}
}

func (c *storeCollector) read() []prometheus.Metric {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	var out []prometheus.Metric
	up := 1.0
	if qs, err := c.src.QueueStats(ctx); err == nil {
		for _, s := range qs {
			out = append(out, prometheus.MustNewConstMetric(queueDepthDesc, prometheus.GaugeValue, float64(s.Count), s.Kind, s.State),
				prometheus.MustNewConstMetric(queueAgeDesc, prometheus.GaugeValue, s.Oldest.Seconds(), s.Kind, s.State))
		}
	} else {
		up = 0
		c.log.Warn("metrics: reading queue stats", "error", err)
	}
	if dl, err := c.src.OpenDeadLetters(ctx); err == nil {
		for r, n := range dl {
			out = append(out, prometheus.MustNewConstMetric(openDLDesc, prometheus.GaugeValue, float64(n), r))
		}
	} else {
		up = 0
	}
	if os, err := c.src.OrdersByState(ctx); err == nil {
		for _, s := range waybill.OrderStates {
			out = append(out, prometheus.MustNewConstMetric(ordersDesc, prometheus.GaugeValue, float64(os[s]), string(s)))
		}
	} else {
		up = 0
	}
	return append(out, prometheus.MustNewConstMetric(upDesc, prometheus.GaugeValue, up))
}
