package app

import (
	"context"
	"fmt"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/config"
	"github.com/waybill-hub/waybill/internal/odoo"
)

func newOdoo(ctx context.Context, cfg config.Config) (waybill.ERP, error) {
	oc := odoo.Default()
	o := cfg.ERP.Odoo
	oc.URL, oc.Database, oc.User, oc.APIKey = o.URL, o.Database, o.User, o.APIKey
	oc.Protocol, oc.Version = odoo.Protocol(o.Protocol), o.Version
	if o.Timeout > 0 {
		oc.Timeout = o.Timeout
	}
	oc.MaxConcurrency, oc.RateLimit, oc.Warehouse = o.MaxConcurrency, o.RateLimit, o.Warehouse
	oc.Breaker.Failures = o.BreakerFailures
	if o.BreakerCooldown > 0 {
		oc.Breaker.Cooldown = o.BreakerCooldown
	}
	c, err := odoo.New(ctx, oc)
	if err != nil {
		return nil, fmt.Errorf("connecting to Odoo at %s: %w", o.URL, err)
	}
	return c, nil
}
