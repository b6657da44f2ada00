package app

import (
	"context"

	"github.com/waybill-hub/waybill/internal/jobs"
	"github.com/waybill-hub/waybill/internal/portal"
)

// mountPortal builds the customer portal API over the hub, serves it under /v1/ and ties its
// background work (webhook dispatcher, availability refresh) to the job queue's start and stop.
func mountPortal(a *App) {
	p := portal.New(a.Hub, a.Log, portal.Config{})
	a.mux.Handle("/v1/", p.Handler())
	a.Queue = &portalQueue{Queue: a.Queue, p: p}
}

// portalQueue starts the portal's background work after the queue starts and stops it before.
type portalQueue struct {
	jobs.Queue
	p *portal.Server
}

func (q *portalQueue) Start(ctx context.Context) error {
	if err := q.Queue.Start(ctx); err != nil {
		return err
	}
	q.p.Start(ctx)
	return nil
}

func (q *portalQueue) Stop(ctx context.Context) error {
	q.p.Stop()
	return q.Queue.Stop(ctx)
}
