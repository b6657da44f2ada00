package load

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/waybill-hub/waybill/internal/telemetry"
)

// spanStats collects the durations of the hub's trace spans by name, so a run shows where an
// order's time goes (receiving, the job, each ERP call) next to its end-to-end latency.
type spanStats struct {
	mu   sync.Mutex
	by   map[string][]time.Duration
	prev trace.TracerProvider
	tp   *sdktrace.TracerProvider
}

// recordSpans installs a tracer provider that samples every span into the returned spanStats,
// until stop puts the previous provider back.
func recordSpans() *spanStats {
	s := &spanStats{by: map[string][]time.Duration{}, prev: otel.GetTracerProvider()}
	s.tp = telemetry.NewProvider(s, telemetry.Config{ServiceName: "loadportal", SampleRatio: 1})
	otel.SetTracerProvider(s.tp)
	return s
}

func (s *spanStats) stop() {
	otel.SetTracerProvider(s.prev)
	_ = s.tp.Shutdown(context.Background())
}

// reset forgets what was recorded so far (the read phase, the warm-up).
func (s *spanStats) reset() {
	s.mu.Lock()
	s.by = map[string][]time.Duration{}
	s.mu.Unlock()
}

// OnEnd implements sdktrace.SpanProcessor.
func (s *spanStats) OnEnd(sp sdktrace.ReadOnlySpan) {
	d := sp.EndTime().Sub(sp.StartTime())
	s.mu.Lock()
	s.by[sp.Name()] = append(s.by[sp.Name()], d)
	s.mu.Unlock()
}

// OnStart implements sdktrace.SpanProcessor.
func (s *spanStats) OnStart(context.Context, sdktrace.ReadWriteSpan) {}

// Shutdown implements sdktrace.SpanProcessor.
func (s *spanStats) Shutdown(context.Context) error { return nil }

// ForceFlush implements sdktrace.SpanProcessor.
func (s *spanStats) ForceFlush(context.Context) error { return nil }

// String lists each span name with its count and p50, p99 and maximum, slowest p99 first.
func (s *spanStats) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	type row struct {
		name          string
		n             int
		p50, p99, max time.Duration
	}
	var rows []row
	for name, ds := range s.by {
		ds = slices.Clone(ds)
		slices.Sort(ds)
		at := func(p float64) time.Duration { return ds[min(len(ds)-1, int(float64(len(ds))*p))] }
		rows = append(rows, row{name, len(ds), at(0.5), at(0.99), ds[len(ds)-1]})
	}
	slices.SortFunc(rows, func(a, b row) int { return int(b.p99 - a.p99) })
	var b strings.Builder
	b.WriteString("spans (count, p50, p99, max):\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "  %-40s %6d %9s %9s %9s\n", r.name, r.n, r.p50.Round(10*time.Microsecond), r.p99.Round(10*time.Microsecond), r.max.Round(10*time.Microsecond))
	}
	return b.String()
}
