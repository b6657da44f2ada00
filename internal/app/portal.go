package app

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/jobs"
	"github.com/waybill-hub/waybill/internal/portal"
	"github.com/waybill-hub/waybill/internal/store"
)

// mountPortal builds the customer portal API over the hub, serves it under /v1/ and ties its
// background work (webhook dispatcher, availability refresh) to the job queue's start and stop.
func mountPortal(a *App) {
	pc := a.Config.Portal
	p := portal.New(a.Hub, a.Log, portal.Config{OrderWait: pc.OrderWait, RateLimit: pc.RateLimit, Burst: pc.Burst,
		AvailabilityRefresh: pc.AvailabilityRefresh, CatalogTTL: pc.CatalogTTL, WebhookAttempts: pc.WebhookAttempts})
	a.mux.Handle("/v1/", p.Handler())
	// Availability follows Odoo's changes: a synced order (a delivery, a reservation) has the
	// cached figures re-read in the background, besides the periodic refresh; at most once a
	// second, so that a busy change capture does not keep the ERP reading stock.
	var last atomic.Int64
	a.Hub.OnSync(func(context.Context, *store.Tx, jobs.Queue, *waybill.Order, waybill.OrderStatus, waybill.OrderState) error {
		if now := time.Now().UnixNano(); now-last.Load() > int64(time.Second) {
			last.Store(now)
			p.RefreshAvailability()
		}
		return nil
	})
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
