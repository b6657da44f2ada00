package app

import (
	"context"
	"time"

	"github.com/riverqueue/river"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/hub"
	"github.com/waybill-hub/waybill/internal/odoo"
)

// mountChangeCapture polls the ERP's changes on the queue leader every erp.odoo.poll_interval,
// and, for Odoo with a webhook secret, accepts Odoo's automation webhooks at /hooks/odoo as a hint
// to poll at once (never as the only source: the poll runs regardless).
func (a *App) mountChangeCapture() {
	if _, ok := a.ERP.(waybill.ChangeFeed); !ok {
		return
	}
	every := a.Config.ERP.Odoo.PollInterval
	if every <= 0 {
		every = 30 * time.Second
	}
	a.Queue.AddPeriodic(every, func() river.JobArgs { return hub.PollERPChanges{} }, true)
	// The safety net: every 10 polls, re-read orders the ERP owns that have not moved for 10 polls.
	a.Queue.AddPeriodic(10*every, func() river.JobArgs { return hub.ReconcileERP{IdleSeconds: int((10 * every).Seconds())} }, false)
	if secret := a.Config.ERP.Odoo.WebhookSecret; secret != "" {
		a.mux.Handle("POST /hooks/odoo", odoo.WebhookHandler(secret, func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := a.Queue.Insert(ctx, hub.PollERPChanges{}, nil); err != nil {
				a.Log.Warn("odoo webhook: scheduling a poll", "error", err)
			}
		}))
	}
}
