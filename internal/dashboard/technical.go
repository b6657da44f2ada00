package dashboard

import (
	"context"
	"net/http"
	"sort"
	"time"

	"github.com/waybill-hub/waybill/internal/jobs"
)

// Technical is the technical health page's data.
type Technical struct {
	StoreOK      bool
	StoreLatency time.Duration
	StoreError   string

	ERPConfigured bool
	ERPOK         bool
	ERPLatency    time.Duration
	ERPError      string
	Breaker       string

	Queue      []jobs.KindStats
	QueueError string

	Attempts  map[string]float64
	RetryRate string

	Failures24h []FailureCount // dead letters created in the last 24 h by kind and reason
	Transform   int64          // of which transformation failures (process_message)

	Endpoints     []Endpoint
	EndpointsNote string
	Certs         []CertView
	CertsNote     string

	Archived, Purged int64
}

// FailureCount is a count of dead letters of a kind and reason.
type FailureCount struct {
	Kind, Reason string
	Count        int64
}

// CertView is a certificate with its remaining validity.
type CertView struct {
	CertInfo
	Remaining time.Duration
	Warn      bool // expires within 30 days
	Expired   bool
}

func (s *Server) technical(w http.ResponseWriter, r *http.Request) {
	t := s.TechnicalHealth(r.Context())
	s.render(w, r, "technical", http.StatusOK, page{Title: "Technical health", Nav: "technical", Data: t})
}

// TechnicalHealth probes the store and the ERP and reads queue, failure, endpoint and certificate
// state. Each probe has its own short deadline; a failing probe is shown, not fatal.
func (s *Server) TechnicalHealth(ctx context.Context) *Technical {
	t := &Technical{}
	now := s.cfg.Now()
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	start := time.Now()
	err := s.cfg.DB.Ping(pctx)
	t.StoreLatency = time.Since(start)
	cancel()
	t.StoreOK = err == nil
	if err != nil {
		t.StoreError = err.Error()
	}
	h := s.cfg.Health
	if h.ERPPing != nil {
		t.ERPConfigured = true
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		start := time.Now()
		err := h.ERPPing(pctx)
		t.ERPLatency = time.Since(start)
		cancel()
		t.ERPOK = err == nil
		if err != nil {
			t.ERPError = err.Error()
		}
	}
	if h.Breaker != nil {
		t.Breaker = h.Breaker()
	}
	if qs, err := s.cfg.Queue.Stats(ctx); err != nil {
		t.QueueError = err.Error()
	} else {
		t.Queue = qs
	}
	if h.Counters != nil {
		t.Attempts = h.Counters()
		total := t.Attempts["job_attempts/ok"] + t.Attempts["job_attempts/retry"] + t.Attempts["job_attempts/dead"]
		if total > 0 {
			t.RetryRate = pct(t.Attempts["job_attempts/retry"] / total)
		}
	}
	if fs, err := s.cfg.DB.DeadLettersCreated(ctx, now.Add(-24*time.Hour), now.Add(time.Minute)); err == nil {
		for _, f := range fs {
			t.Failures24h = append(t.Failures24h, FailureCount{f.Kind, f.Reason, f.Count})
			if f.Kind == "process_message" {
				t.Transform += f.Count
			}
		}
	}
	if h.Endpoints != nil {
		t.Endpoints = h.Endpoints(ctx)
	} else {
		t.EndpointsNote = "no endpoint probes are configured"
	}
	if h.Certs != nil {
		if len(h.Certs()) == 0 {
			t.CertsNote = "no certificates are configured (AS2 not in use)"
		}
		for _, c := range h.Certs() {
			rem := c.NotAfter.Sub(now)
			t.Certs = append(t.Certs, CertView{CertInfo: c, Remaining: rem, Warn: rem < 30*24*time.Hour, Expired: rem <= 0})
		}
		sort.Slice(t.Certs, func(i, j int) bool { return t.Certs[i].NotAfter.Before(t.Certs[j].NotAfter) })
	} else {
		t.CertsNote = "no certificates are configured (AS2 not in use)"
	}
	t.Archived, t.Purged, _ = s.cfg.DB.ArchiveStats(ctx)
	return t
}
