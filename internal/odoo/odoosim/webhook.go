package odoosim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"sync"
	"time"
)

// webhookFields are the fields each notification carries besides _id,
// _model and _action, as an automation rule's "Send Webhook Notification"
// action configured with these fields would send them.
var webhookFields = []string{"name", "state", "write_date"}

// OnChange registers a receiver for base_automation-style webhook
// notifications: after each call that changes a sale order, picking or
// invoice, the server POSTs, for each such record, the JSON object Odoo's
// "Send Webhook Notification" action posts:
//
//	{"_action": "Send Webhook Notification(#1)", "_id": 7, "_model": "sale.order",
//	 "name": "S00007", "state": "sale", "write_date": "2026-11-26 21:00:00"}
//
// with Content-Type application/json, keys sorted, a 1-second timeout and
// no retry, after the change is committed. Odoo cannot add headers or sign
// the body, so a non-empty secret is sent the only way Odoo can carry one:
// as the query parameter "token" of the URL. Notifications go out one at a
// time, in commit order, from a background goroutine; Close stops it.
func (s *Server) OnChange(rawURL, secret string) {
	if secret != "" {
		if u, err := url.Parse(rawURL); err == nil {
			q := u.Query()
			q.Set("token", secret)
			u.RawQuery = q.Encode()
			rawURL = u.String()
		}
	}
	s.hooks.add(rawURL)
}

type webhooks struct {
	mu      sync.Mutex
	urls    []string
	queue   chan []byte
	done    chan struct{}
	started bool
	closed  bool
	client  *http.Client
}

func newWebhooks() *webhooks {
	return &webhooks{queue: make(chan []byte, 1024), done: make(chan struct{}), client: &http.Client{Timeout: time.Second}}
}

func (h *webhooks) add(u string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.urls = append(h.urls, u)
	if !h.started && !h.closed {
		h.started = true
		go h.run()
	}
}

func (h *webhooks) active() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.urls) > 0 && !h.closed
}

func (h *webhooks) emit(bodies [][]byte) {
	if len(bodies) == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed || !h.started {
		return
	}
	for _, b := range bodies {
		select {
		case h.queue <- b:
		default: // a full queue drops notifications, as a lost webhook would be
		}
	}
}

func (h *webhooks) run() {
	defer close(h.done)
	for body := range h.queue {
		h.mu.Lock()
		urls := append([]string(nil), h.urls...)
		h.mu.Unlock()
		for _, u := range urls {
			resp, err := h.client.Post(u, "application/json", bytes.NewReader(body))
			if err == nil {
				resp.Body.Close()
			}
		}
	}
}

func (h *webhooks) close() {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	h.closed = true
	started := h.started
	close(h.queue)
	h.mu.Unlock()
	if started {
		<-h.done
	}
}

// webhookPayloads builds the notifications for the records the call
// changed (the caller holds the lock).
func (e *env) webhookPayloads() [][]byte {
	if len(e.touched) == 0 || !e.s.hooks.active() {
		return nil
	}
	models := make([]string, 0, len(e.touched))
	for m := range e.touched {
		models = append(models, m)
	}
	sort.Strings(models)
	var out [][]byte
	for _, model := range models {
		m := e.s.models[model]
		if !m.notify {
			continue
		}
		for _, id := range e.touched[model] {
			r := e.rec(model, id)
			if r == nil {
				continue
			}
			body := map[string]any{"_action": "Send Webhook Notification(#1)", "_id": id, "_model": model}
			for _, f := range webhookFields {
				if m.fields[f] != nil {
					body[f] = e.wireValue(m, r, f, false)
				}
			}
			b, _ := json.Marshal(body) // encoding/json sorts map keys
			out = append(out, b)
		}
	}
	return out
}
