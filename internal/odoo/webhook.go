package odoo

import (
	"crypto/subtle"
	"io"
	"net/http"
	"strings"
)

// WebhookHandler accepts Odoo's automation webhooks (base_automation, action "Send Webhook
// Notification") as a hint that something changed: it checks the shared secret and calls
// notify, which should trigger an immediate Changes poll. It never trusts the payload: change
// capture reads Odoo itself, so a lost or forged webhook costs at most a poll.
//
// The secret is accepted in the query parameter "token" (Odoo's webhook URL cannot carry custom
// headers), in the header "X-Waybill-Token", or as "Authorization: Bearer <secret>", and compared
// in constant time. Answers: 204 when notified, 401 for a missing or wrong secret, 405 for a
// method other than POST. An empty secret refuses every request. notify must not block.
func WebhookHandler(secret string, notify func()) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		got := r.URL.Query().Get("token")
		if got == "" {
			got = r.Header.Get("X-Waybill-Token")
		}
		if got == "" {
			if a := r.Header.Get("Authorization"); len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
				got = a[7:]
			}
		}
		if secret == "" || subtle.ConstantTimeCompare([]byte(got), []byte(secret)) != 1 {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20))
		if notify != nil {
			notify()
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// Wakeup turns webhook hints into a channel a poller selects on: Notify never blocks, and
// notifications that arrive while one is pending collapse into it.
type Wakeup struct{ ch chan struct{} }

// NewWakeup returns a Wakeup.
func NewWakeup() *Wakeup { return &Wakeup{ch: make(chan struct{}, 1)} }

// Notify records a hint.
func (w *Wakeup) Notify() {
	select {
	case w.ch <- struct{}{}:
	default:
	}
}

// C is the channel that receives a value when a hint is pending.
func (w *Wakeup) C() <-chan struct{} { return w.ch }
