package app

import (
	"github.com/waybill-hub/waybill/internal/transport"
)

// MountTransports builds the partner channels (AS2, HTTP intake, SFTP mailbox and pollers,
// watched folders) over the app's hub, adds their HTTP endpoints to the app's mux and the AS2
// certificate expiry gauge to its metrics. Call it before a.Start; start the channels after
// a.Start with Channels.Start and stop them with Channels.Stop before a.Stop.
func MountTransports(a *App, cfg transport.Config, profiles []transport.PartnerTransport) (*transport.Channels, error) {
	if cfg.Logger == nil {
		cfg.Logger = a.Log
	}
	ch, err := transport.New(cfg, a.Hub, profiles)
	if err != nil {
		return nil, err
	}
	ch.Mount(a.mux)
	if err := a.Metrics.Registry.Register(ch.Collector()); err != nil {
		a.Log.Warn("registering the AS2 certificate expiry metric", "error", err)
	}
	return ch, nil
}
