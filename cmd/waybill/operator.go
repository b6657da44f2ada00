package main

import (
	"context"
	"os"

	"github.com/waybill-hub/waybill/internal/app"
	"github.com/waybill-hub/waybill/internal/hub"
	"github.com/waybill-hub/waybill/internal/jobs"
)

// operatorHub opens the store with an insert-only job queue: enough for operator commands that
// enqueue work (replay) for a running hub, or for the next start, to pick up.
func (g *globals) operatorHub(ctx context.Context) (*hub.Hub, *app.Storage, error) {
	cfg, st, err := g.openStorage(ctx)
	if err != nil {
		return nil, nil, err
	}
	q, err := st.NewQueue(nil, jobs.Config{Workers: 1, MaxAttempts: cfg.Pipeline.MaxAttempts, BackoffBase: cfg.Pipeline.BackoffBase,
		BackoffMax: cfg.Pipeline.BackoffMax, PollInterval: cfg.Pipeline.PollInterval})
	if err != nil {
		st.DB.Close()
		return nil, nil, err
	}
	h := hub.New(hub.Config{DB: st.DB, Logger: g.logger(cfg)})
	h.Attach(q)
	return h, st, nil
}

// operatorName is who an operator command acts as, for the audit trail.
func operatorName(flag string) string {
	if flag != "" {
		return flag
	}
	for _, k := range []string{"WAYBILL_OPERATOR", "USER", "LOGNAME"} {
		if v := os.Getenv(k); v != "" {
			return v
		}
	}
	return "operator"
}
