package portal

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/jobs"
	"github.com/waybill-hub/waybill/internal/store"
)

// Webhook event types.
const (
	EventOrderAccepted  = "order.accepted"
	EventOrderRejected  = "order.rejected"
	EventOrderShipped   = "order.shipped"
	EventOrderDelivered = "order.delivered"
	EventOrderInvoiced  = "order.invoiced"
	EventReturnUpdated  = "return.updated"
	EventTest           = "test"
	// EventOrderCancelled: the order was cancelled at the customer's request (before acceptance,
	// or through the ERP by a change request). Its data is the order.
	EventOrderCancelled = "order.cancelled"
	// EventChangeRequestUpdated: a change request was decided (accepted or refused). Its data is
	// a ChangeDecision.
	EventChangeRequestUpdated = "change_request.updated"
)

// Events lists the event types a subscription may name.
var Events = []string{EventOrderAccepted, EventOrderRejected, EventOrderShipped, EventOrderDelivered, EventOrderInvoiced, EventReturnUpdated,
	EventOrderCancelled, EventChangeRequestUpdated}

// Event is the body of every webhook delivery.
type Event struct {
	ID        string          `json:"id" doc:"Unique per event; equals the webhook-id header"`
	Type      string          `json:"type"`
	Timestamp time.Time       `json:"timestamp"`
	Account   string          `json:"account"`
	Data      json.RawMessage `json:"data"`
}

// NewSecret returns a new webhook signing secret ("whsec_" + base64 of 24 random bytes).
func NewSecret() string {
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return "whsec_" + base64.StdEncoding.EncodeToString(b[:])
}

// Sign returns the webhook-signature header value for a delivery, Standard Webhooks style: "v1,"
// and the base64 HMAC-SHA256, keyed with the secret's decoded bytes, of "id.timestamp.body".
func Sign(secret, id string, ts time.Time, body []byte) (string, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return "", fmt.Errorf("webhook secret is not base64: %w", err)
	}
	m := hmac.New(sha256.New, key)
	fmt.Fprintf(m, "%s.%d.", id, ts.Unix())
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil)), nil
}

// Verify checks a delivery's headers against the secret, as a receiver does: one of the
// space-separated signatures must match, and the timestamp must be within tolerance of now.
func Verify(secret string, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	id, tsS, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	sec, err := strconv.ParseInt(tsS, 10, 64)
	if err != nil || id == "" {
		return errors.New("missing webhook-id or webhook-timestamp")
	}
	ts := time.Unix(sec, 0)
	if ts.Before(now.Add(-tolerance)) || ts.After(now.Add(tolerance)) {
		return errors.New("webhook timestamp outside tolerance")
	}
	want, err := Sign(secret, id, ts, body)
	if err != nil {
		return err
	}
	for _, s := range strings.Fields(sigs) {
		if hmac.Equal([]byte(s), []byte(want)) {
			return nil
		}
	}
	return errors.New("no matching webhook signature")
}

// Publish queues an event for every active subscription of the account to it, in the caller's
// transaction (the transactional outbox): the deliveries exist exactly when the change that
// caused them commits. data is marshalled as the event's data.
func (s *Server) Publish(ctx context.Context, tx *store.Tx, account, event string, data any) error {
	subs, err := tx.WebhooksFor(ctx, account)
	if err != nil {
		return err
	}
	var raw json.RawMessage
	for _, w := range subs {
		if !slices.Contains(w.Events, event) && !slices.Contains(w.Events, "*") {
			continue
		}
		if raw == nil {
			if raw, err = json.Marshal(data); err != nil {
				return err
			}
		}
		id := store.NewID("evt")
		body, _ := json.Marshal(Event{ID: id, Type: event, Timestamp: s.now(), Account: account, Data: raw})
		if err := tx.InsertDelivery(ctx, &store.Delivery{ID: id, WebhookID: w.ID, Account: account, Event: event, Payload: body}); err != nil {
			return err
		}
		tx.AfterCommit(s.poke)
	}
	return nil
}

// onAccepted runs in the hub's accepting transaction: it wakes the request waiting for the order
// and queues the order.accepted webhooks.
func (s *Server) onAccepted(ctx context.Context, tx *store.Tx, _ jobs.Queue, o *waybill.Order) error {
	corr := o.CorrelationID
	tx.AfterCommit(func() { s.wait.notify(corr) })
	if o.Account == "" {
		return nil
	}
	rec := &store.OrderRecord{Order: o, CreatedAt: s.now(), UpdatedAt: s.now()}
	return s.Publish(ctx, tx, o.Account, EventOrderAccepted, s.view(ctx, rec, false, false))
}

// dispatchLoop delivers due webhooks, sends pending returns to the ERP and follows the approved
// and received ones there, when woken and at DispatchInterval.
func (s *Server) dispatchLoop(ctx context.Context) {
	t := time.NewTicker(s.cfg.DispatchInterval)
	defer t.Stop()
	for {
		for s.dispatchOnce(ctx) > 0 && ctx.Err() == nil {
		}
		s.sendReturns(ctx)
		s.followReturns(ctx)
		if n, err := s.db.PurgeIdempotency(ctx, s.now().Add(-s.cfg.IdempotencyTTL)); err == nil && n > 0 {
			s.log.Debug("purged idempotency keys", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.wake:
		}
	}
}

// dispatchOnce attempts the due deliveries, a few at once, and returns how many it attempted.
func (s *Server) dispatchOnce(ctx context.Context) int {
	due, err := s.db.DueDeliveries(ctx, s.now(), 32)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("reading due webhook deliveries", "error", err)
		}
		return 0
	}
	sem := make(chan struct{}, 8)
	done := make(chan struct{}, len(due))
	n := 0
	for _, d := range due {
		ok, err := s.db.ClaimDelivery(ctx, d, s.now().Add(s.cfg.WebhookTimeout+5*time.Second))
		if err != nil || !ok {
			continue
		}
		n++
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; done <- struct{}{} }()
			s.deliver(ctx, d)
		}()
	}
	for range n {
		<-done
	}
	return n
}

// deliver makes one attempt and records it.
func (s *Server) deliver(ctx context.Context, d *store.Delivery) {
	w, err := s.db.Webhook(ctx, d.WebhookID)
	d.Attempts++
	if err == nil {
		d.LastStatus, err = s.post(ctx, w, d)
	}
	switch {
	case err == nil:
		d.State, d.LastError = store.DeliveryDelivered, ""
	case d.Attempts >= s.cfg.WebhookAttempts:
		d.State, d.LastError = store.DeliveryDead, err.Error()
	default:
		d.State, d.LastError = store.DeliveryPending, err.Error()
		d.NextAt = s.now().Add(jobs.Backoff{Base: s.cfg.WebhookBackoff, Max: time.Hour}.Delay(d.Attempts))
	}
	if err := s.db.RecordDeliveryAttempt(context.WithoutCancel(ctx), d); err != nil {
		s.log.Warn("recording webhook attempt", "delivery", d.ID, "error", err)
	}
	if d.State == store.DeliveryDead {
		s.log.Warn("webhook delivery dead", "delivery", d.ID, "webhook", d.WebhookID, "account", d.Account, "event", d.Event, "error", d.LastError)
	}
}

// post sends a delivery signed with the subscription's secret; a non-2xx answer is an error.
func (s *Server) post(ctx context.Context, w *store.Webhook, d *store.Delivery) (int, error) {
	ts := s.now()
	sig, err := Sign(w.Secret, d.ID, ts, d.Payload)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.WebhookTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(d.Payload))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "waybill-webhooks/1")
	req.Header.Set("webhook-id", d.ID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts.Unix(), 10))
	req.Header.Set("webhook-signature", sig)
	resp, err := s.cfg.HTTPClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("posting to the receiver: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("the receiver answered %s", resp.Status)
	}
	return resp.StatusCode, nil
}

// WebhookRequest is the body of POST /v1/webhooks.
type WebhookRequest struct {
	URL    string   `json:"url" format:"uri" maxLength:"2000" doc:"HTTPS endpoint (HTTP only for loopback)"`
	Events []string `json:"events" minItems:"1" doc:"Event types, or * for all" enum:"order.accepted,order.rejected,order.shipped,order.delivered,order.invoiced,return.updated,order.cancelled,change_request.updated,*"`
}

// Subscription is a webhook subscription. Secret is shown only when it is created.
type Subscription struct {
	ID        string    `json:"id"`
	URL       string    `json:"url"`
	Events    []string  `json:"events"`
	Active    bool      `json:"active"`
	Secret    string    `json:"secret,omitempty" doc:"The signing secret, shown once"`
	CreatedAt time.Time `json:"created_at"`
}

// DeliveryView is one entry of a subscription's delivery log.
type DeliveryView struct {
	ID         string    `json:"id"`
	Event      string    `json:"event"`
	State      string    `json:"state" enum:"pending,delivered,dead"`
	Attempts   int       `json:"attempts"`
	NextAt     time.Time `json:"next_attempt_at,omitzero" required:"false"`
	LastStatus int       `json:"last_status,omitempty"`
	LastError  string    `json:"last_error,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

func viewSub(w *store.Webhook) Subscription {
	return Subscription{ID: w.ID, URL: w.URL, Events: w.Events, Active: w.Active, CreatedAt: w.CreatedAt}
}

func viewDelivery(d *store.Delivery) DeliveryView {
	v := DeliveryView{ID: d.ID, Event: d.Event, State: string(d.State), Attempts: d.Attempts, LastStatus: d.LastStatus,
		LastError: d.LastError, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt}
	if d.State == store.DeliveryPending {
		v.NextAt = d.NextAt
	}
	return v
}

type createWebhookInput struct {
	AccountParam
	Body WebhookRequest
}

type subscriptionOutput struct {
	Body Subscription
}

func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return errors.New("not an absolute URL")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		h := u.Hostname()
		if h == "localhost" || strings.HasPrefix(h, "127.") || h == "::1" {
			return nil
		}
	}
	return errors.New("the URL must use https (http only for loopback)")
}

func (s *Server) createWebhook(ctx context.Context, in *createWebhookInput) (*subscriptionOutput, error) {
	p := principal(ctx)
	if err := checkURL(in.Body.URL); err != nil {
		return nil, problem(http.StatusUnprocessableEntity, ProbValidation, err.Error())
	}
	w := &store.Webhook{ID: store.NewID("whk"), Client: p.Key.Client, Account: p.Account, URL: in.Body.URL, Secret: NewSecret(),
		Events: in.Body.Events, Active: true}
	if err := s.db.InsertWebhook(ctx, w); err != nil {
		return nil, fromErr(err)
	}
	v := viewSub(w)
	v.Secret = w.Secret
	return &subscriptionOutput{Body: v}, nil
}

type listWebhooksOutput struct {
	Body struct {
		Items []Subscription `json:"items"`
		Page
	}
}

func (s *Server) listWebhooks(ctx context.Context, in *struct{ AccountParam }) (*listWebhooksOutput, error) {
	p := principal(ctx)
	subs, err := s.db.Webhooks(ctx, p.Account)
	if err != nil {
		return nil, fromErr(err)
	}
	out := &listWebhooksOutput{}
	out.Body.Items = []Subscription{}
	for _, w := range subs {
		if w.Client == p.Key.Client {
			out.Body.Items = append(out.Body.Items, viewSub(w))
		}
	}
	return out, nil
}

type webhookIDInput struct {
	AccountParam
	ID string `path:"id" maxLength:"64"`
}

// ownWebhook loads a subscription of the caller's client and account; any other is not found.
func (s *Server) ownWebhook(ctx context.Context, id string) (*store.Webhook, error) {
	p := principal(ctx)
	w, err := s.db.Webhook(ctx, id)
	if err != nil || w.Account != p.Account || w.Client != p.Key.Client || !w.Active {
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, fromErr(err)
		}
		return nil, notFound("webhook subscription")
	}
	return w, nil
}

func (s *Server) deleteWebhook(ctx context.Context, in *webhookIDInput) (*struct{}, error) {
	w, err := s.ownWebhook(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	if err := s.db.DeactivateWebhook(ctx, w.ID); err != nil {
		return nil, fromErr(err)
	}
	return nil, nil
}

type deliveriesInput struct {
	AccountParam
	ListParams
	ID string `path:"id" maxLength:"64"`
}

type deliveriesOutput struct {
	Body struct {
		Items []DeliveryView `json:"items"`
		Page
	}
}

func (s *Server) listDeliveries(ctx context.Context, in *deliveriesInput) (*deliveriesOutput, error) {
	w, err := s.ownWebhook(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	before, err := decodeCursor(in.Cursor)
	if err != nil {
		return nil, err
	}
	limit := in.Limit
	if limit <= 0 {
		limit = 50
	}
	ds, err := s.db.Deliveries(ctx, w.ID, before, limit+1)
	if err != nil {
		return nil, fromErr(err)
	}
	out := &deliveriesOutput{}
	out.Body.Items = []DeliveryView{}
	for i, d := range ds {
		if i == limit {
			out.Body.NextCursor = encodeCursor(ds[i-1].ID)
			break
		}
		out.Body.Items = append(out.Body.Items, viewDelivery(d))
	}
	return out, nil
}

type replayInput struct {
	AccountParam
	ID         string `path:"id" maxLength:"64"`
	DeliveryID string `path:"delivery_id" maxLength:"64"`
}

type deliveryOutput struct {
	Body DeliveryView
}

func (s *Server) replayDelivery(ctx context.Context, in *replayInput) (*deliveryOutput, error) {
	w, err := s.ownWebhook(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	d, err := s.db.Delivery(ctx, in.DeliveryID)
	if err != nil || d.WebhookID != w.ID {
		return nil, notFound("delivery")
	}
	if d.State == store.DeliveryPending {
		return nil, problem(http.StatusConflict, ProbConflict, "the delivery is still pending")
	}
	if err := s.db.ReplayDelivery(ctx, d.ID); err != nil {
		return nil, fromErr(err)
	}
	s.poke()
	d, err = s.db.Delivery(ctx, d.ID)
	if err != nil {
		return nil, fromErr(err)
	}
	return &deliveryOutput{Body: viewDelivery(d)}, nil
}

func (s *Server) testWebhook(ctx context.Context, in *webhookIDInput) (*deliveryOutput, error) {
	w, err := s.ownWebhook(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	id := store.NewID("evt")
	body, _ := json.Marshal(Event{ID: id, Type: EventTest, Timestamp: s.now(), Account: w.Account, Data: json.RawMessage(`{"message":"test event"}`)})
	d := &store.Delivery{ID: id, WebhookID: w.ID, Account: w.Account, Event: EventTest, Payload: body}
	if err := s.db.InTx(ctx, func(tx *store.Tx) error { return tx.InsertDelivery(ctx, d) }); err != nil {
		return nil, fromErr(err)
	}
	s.poke()
	return &deliveryOutput{Body: viewDelivery(d)}, nil
}
