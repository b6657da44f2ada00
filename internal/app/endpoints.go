package app

import (
	"context"
	"net"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/waybill-hub/waybill/internal/dashboard"
	"github.com/waybill-hub/waybill/internal/telemetry"
	"github.com/waybill-hub/waybill/internal/transport"
)

// endpointTarget is one partner endpoint to probe: an HTTP URL (AS2) or a TCP address (SFTP).
type endpointTarget struct {
	Partner, Name string
	URL           string // probed with GET: any HTTP answer means the endpoint is up
	Addr          string // probed with a TCP connection
}

// endpointProber keeps the last probe of every partner endpoint, for the technical health page
// and the waybill_endpoint_up / _latency_seconds metrics.
type endpointProber struct {
	client  *http.Client
	timeout time.Duration

	mu   sync.Mutex
	last map[string]dashboard.Endpoint
}

func newEndpointProber() *endpointProber {
	return &endpointProber{client: &http.Client{Timeout: 5 * time.Second}, timeout: 5 * time.Second, last: map[string]dashboard.Endpoint{}}
}

// targetsOf lists the endpoints of the partners' transports.
func targetsOf(pts []transport.PartnerTransport) []endpointTarget {
	var out []endpointTarget
	for _, pt := range pts {
		if as2 := pt.Transport.AS2; as2 != nil && as2.URL != "" {
			out = append(out, endpointTarget{Partner: pt.ID, Name: "as2 " + as2.URL, URL: as2.URL})
		}
		if s := pt.Transport.SFTP; s != nil && s.Remote != nil && s.Remote.Addr != "" {
			out = append(out, endpointTarget{Partner: pt.ID, Name: "sftp " + s.Remote.Addr, Addr: s.Remote.Addr})
		}
	}
	return out
}

// probe checks every target once, concurrently, and records the results.
func (p *endpointProber) probe(ctx context.Context, targets []endpointTarget) {
	var wg sync.WaitGroup
	for _, t := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			err := p.check(ctx, t)
			e := dashboard.Endpoint{Partner: t.Partner, Name: t.Name, Up: err == nil, Latency: time.Since(start), Checked: time.Now().UTC()}
			p.mu.Lock()
			if err != nil {
				e.LastFail = err.Error()
			} else if prev, ok := p.last[t.Partner+" "+t.Name]; ok {
				e.LastFail = prev.LastFail
			}
			p.last[t.Partner+" "+t.Name] = e
			p.mu.Unlock()
		}()
	}
	wg.Wait()
}

func (p *endpointProber) check(ctx context.Context, t endpointTarget) error {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	if t.URL != "" {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.URL, nil)
		if err != nil {
			return err
		}
		resp, err := p.client.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", t.Addr)
	if err != nil {
		return err
	}
	return c.Close()
}

// endpoints returns the last probes, sorted by partner and name.
func (p *endpointProber) endpoints(context.Context) []dashboard.Endpoint {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]dashboard.Endpoint, 0, len(p.last))
	for _, e := range p.last {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Partner != out[j].Partner {
			return out[i].Partner < out[j].Partner
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// states are the last probes for the metrics collector.
func (p *endpointProber) states(ctx context.Context) []telemetry.EndpointState {
	var out []telemetry.EndpointState
	for _, e := range p.endpoints(ctx) {
		out = append(out, telemetry.EndpointState{Partner: e.Partner, Endpoint: e.Name, Up: e.Up, Latency: e.Latency})
	}
	return out
}

// run probes the targets every interval until ctx ends.
func (p *endpointProber) run(ctx context.Context, targets []endpointTarget, every time.Duration) {
	if len(targets) == 0 {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		p.probe(ctx, targets)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
