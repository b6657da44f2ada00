package portal_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/waybill-hub/waybill/internal/portal"
)

// receiver is a webhook endpoint that verifies signatures and can fail on purpose.
type receiver struct {
	t       *testing.T
	srv     *httptest.Server
	mu      sync.Mutex
	secret  string
	fail    int // answer 500 to this many requests first
	got     []portal.Event
	bad     int // requests whose signature did not verify
	hits    int
	arrived chan struct{}
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{t: t, arrived: make(chan struct{}, 100)}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer func() { r.mu.Unlock(); r.arrived <- struct{}{} }()
		r.hits++
		if err := portal.Verify(r.secret, req.Header, body, time.Now(), 5*time.Minute); err != nil {
			r.bad++
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if r.fail > 0 {
			r.fail--
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		var ev portal.Event
		if err := json.Unmarshal(body, &ev); err != nil || ev.ID != req.Header.Get("webhook-id") {
			r.bad++
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		r.got = append(r.got, ev)
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) events() []portal.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]portal.Event(nil), r.got...)
}

func (r *receiver) waitFor(t *testing.T, n int) []portal.Event {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for len(r.events()) < n {
		select {
		case <-r.arrived:
		case <-deadline:
			t.Fatalf("%d events arrived, want %d", len(r.events()), n)
		}
	}
	return r.events()
}

func (b *bundle) subscribe(t *testing.T, key string, r *receiver, events ...string) portal.Subscription {
	t.Helper()
	res := b.call(t, key, "POST", "/v1/webhooks", map[string]any{"url": r.srv.URL + "/hook", "events": events})
	require.Equal(t, http.StatusCreated, res.Status, "%s", res.Body)
	var sub portal.Subscription
	res.json(t, &sub)
	require.Contains(t, sub.Secret, "whsec_")
	r.mu.Lock()
	r.secret = sub.Secret
	r.mu.Unlock()
	return sub
}

func TestWebhookDelivered(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, be string) {
		b := setup(t, be)
		r := newReceiver(t)
		sub := b.subscribe(t, "acme", r, portal.EventOrderAccepted)
		res := b.call(t, "acme", "POST", "/v1/orders", order("PO-W1"), "Idempotency-Key", "k1")
		require.Equal(t, http.StatusCreated, res.Status)
		var o orderView
		res.json(t, &o)
		evs := r.waitFor(t, 1)
		require.Equal(t, portal.EventOrderAccepted, evs[0].Type)
		require.Equal(t, "ACME", evs[0].Account)
		var data orderView
		require.NoError(t, json.Unmarshal(evs[0].Data, &data))
		require.Equal(t, o.ID, data.ID)
		require.Equal(t, o.ERPOrder, data.ERPOrder)
		require.Zero(t, r.bad)

		// The delivery log shows it delivered.
		var log struct{ Items []portal.DeliveryView }
		b.eventually(t, 5*time.Second, func() bool {
			b.call(t, "acme", "GET", "/v1/webhooks/"+sub.ID+"/deliveries", nil).json(t, &log)
			return len(log.Items) == 1 && log.Items[0].State == "delivered"
		})
		require.Equal(t, 1, log.Items[0].Attempts)

		// Test-send, then replay of the delivered event.
		ts := b.call(t, "acme", "POST", "/v1/webhooks/"+sub.ID+"/test", nil)
		require.Equal(t, http.StatusAccepted, ts.Status, "%s", ts.Body)
		r.waitFor(t, 2)
		rp := b.call(t, "acme", "POST", "/v1/webhooks/"+sub.ID+"/deliveries/"+log.Items[0].ID+"/replay", nil)
		require.Equal(t, http.StatusAccepted, rp.Status, "%s", rp.Body)
		evs = r.waitFor(t, 3)
		require.Equal(t, "test", evs[1].Type)
		require.Equal(t, evs[0].ID, evs[2].ID, "a replay resends the same event id, so receivers can deduplicate")

		// Unsubscribed: nothing more arrives for new orders.
		require.Equal(t, http.StatusNoContent, b.call(t, "acme", "DELETE", "/v1/webhooks/"+sub.ID, nil).Status)
		require.Equal(t, http.StatusCreated, b.call(t, "acme", "POST", "/v1/orders", order("PO-W2"), "Idempotency-Key", "k2").Status)
		require.Equal(t, http.StatusNotFound, b.call(t, "acme", "GET", "/v1/webhooks/"+sub.ID+"/deliveries", nil).Status)
		require.Len(t, r.events(), 3)
	})
}

func TestWebhookRetriedThenDeadThenReplayed(t *testing.T) {
	t.Parallel()
	b := setup(t, "sqlite")
	r := newReceiver(t)
	r.fail = 2 // fails twice, then takes it: delivered on the third attempt of three
	sub := b.subscribe(t, "acme", r, "*")
	require.Equal(t, http.StatusCreated, b.call(t, "acme", "POST", "/v1/orders", order("PO-R1"), "Idempotency-Key", "k1").Status)
	r.waitFor(t, 1)
	var log struct{ Items []portal.DeliveryView }
	b.eventually(t, 5*time.Second, func() bool {
		b.call(t, "acme", "GET", "/v1/webhooks/"+sub.ID+"/deliveries", nil).json(t, &log)
		return len(log.Items) == 1 && log.Items[0].State == "delivered"
	})
	require.Equal(t, 3, log.Items[0].Attempts)

	// A receiver that keeps failing: dead after three attempts, then replayed once it is fixed.
	r.mu.Lock()
	r.fail = 3
	r.mu.Unlock()
	require.Equal(t, http.StatusCreated, b.call(t, "acme", "POST", "/v1/orders", order("PO-R2"), "Idempotency-Key", "k2").Status)
	b.eventually(t, 5*time.Second, func() bool {
		b.call(t, "acme", "GET", "/v1/webhooks/"+sub.ID+"/deliveries", nil).json(t, &log)
		return len(log.Items) == 2 && log.Items[0].State == "dead"
	})
	require.Equal(t, 3, log.Items[0].Attempts)
	require.Equal(t, 500, log.Items[0].LastStatus)
	require.Contains(t, log.Items[0].LastError, "500")
	require.Len(t, r.events(), 1)
	rp := b.call(t, "acme", "POST", "/v1/webhooks/"+sub.ID+"/deliveries/"+log.Items[0].ID+"/replay", nil)
	require.Equal(t, http.StatusAccepted, rp.Status)
	evs := r.waitFor(t, 2)
	require.Equal(t, portal.EventOrderAccepted, evs[1].Type)
	require.Zero(t, r.bad)
}

func TestWebhookSignature(t *testing.T) {
	t.Parallel()
	secret := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	ts := time.Unix(1614265330, 0)
	body := []byte(`{"test": 2432232314}`)
	sig, err := portal.Sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", ts, body)
	require.NoError(t, err)
	// The Standard Webhooks reference vector.
	require.Equal(t, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", sig)
	h := http.Header{}
	h.Set("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek")
	h.Set("webhook-timestamp", "1614265330")
	h.Set("webhook-signature", "v1,bogus "+sig)
	require.NoError(t, portal.Verify(secret, h, body, ts, time.Minute))
	require.Error(t, portal.Verify(secret, h, []byte(`{"test": 1}`), ts, time.Minute), "another body")
	require.Error(t, portal.Verify(secret, h, body, ts.Add(time.Hour), time.Minute), "replayed too late")
}

func TestWebhookRejected(t *testing.T) {
	t.Parallel()
	b := setup(t, "sqlite")
	r := newReceiver(t)
	b.subscribe(t, "acme", r, portal.EventOrderRejected)
	res := b.call(t, "acme", "POST", "/v1/orders", order("PO-REJ", line("NOPE", "1")), "Idempotency-Key", "k1")
	require.Equal(t, http.StatusUnprocessableEntity, res.Status)
	evs := r.waitFor(t, 1)
	require.Equal(t, portal.EventOrderRejected, evs[0].Type)
	var rej portal.Rejection
	require.NoError(t, json.Unmarshal(evs[0].Data, &rej))
	require.Equal(t, "PO-REJ", rej.PONumber)
	require.Len(t, rej.Reasons, 1)
}
