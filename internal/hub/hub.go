// Package hub holds the hub's use cases: the one receipt path every channel uses, the order
// workflow from a stored message to an order accepted by the ERP, dead-letter replay and trace.
// It talks to the store, the job queue and the ERP port; it knows no transport or ERP protocol.
package hub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"golang.org/x/time/rate"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/jobs"
	"github.com/waybill-hub/waybill/internal/store"
)

// Observer receives business events for metrics.
type Observer interface {
	MessageReceived(channel waybill.Channel, partner string, bytes int)
	Duplicate(channel waybill.Channel, partner, kind string) // kind: digest, transport, business_key
	OrderTransition(partner string, to waybill.OrderState)
}

type nopObserver struct{}

func (nopObserver) MessageReceived(waybill.Channel, string, int) {}
func (nopObserver) Duplicate(waybill.Channel, string, string)    {}
func (nopObserver) OrderTransition(string, waybill.OrderState)   {}

// Partners looks up partner settings by id.
type Partners interface {
	Partner(id string) (waybill.Partner, bool)
}

// PartnerMap is a Partners over a map.
type PartnerMap map[string]waybill.Partner

// Partner implements Partners.
func (m PartnerMap) Partner(id string) (waybill.Partner, bool) { p, ok := m[id]; return p, ok }

// Decoder turns a stored message into canonical orders. A decoding failure is returned as a coded
// error (EINVALID with a Location) so that it dead-letters with a reason a person can act on.
type Decoder func(ctx context.Context, msg *store.Message, partner waybill.Partner) ([]*waybill.Order, error)

// AcceptedHook runs in the transaction that records an order as accepted, to enqueue what
// follows (an 855, a portal webhook). It must only write through tx.
type AcceptedHook func(ctx context.Context, tx *store.Tx, q jobs.Queue, o *waybill.Order) error

// Config wires a Hub.
type Config struct {
	DB       *store.DB
	ERP      waybill.ERP
	Partners Partners
	Logger   *slog.Logger
	Observer Observer
	// BatchSize caps how many orders go to the ERP in one create/confirm call.
	BatchSize int
	// BatchParallel caps concurrent ERP batches.
	BatchParallel int
	// FairShare is how many jobs of one partner may wait at normal priority; past it, the
	// partner's new jobs queue at a lower priority, so that one partner's backlog does not hold
	// up the others' documents. 0 disables it.
	FairShare int
	// SyncRate bounds how many orders per second ERP syncs (SyncOrders, SyncOrder) apply, so
	// that a change-capture poll finding thousands of changed orders spreads their syncs over
	// seconds instead of taking the store and the ERP from the orders being placed meanwhile.
	// 0 means no limit.
	SyncRate int
	Now      func() time.Time
}

// Hub is the hub's application core. Create it with New, register its workers with the job
// queue (Workers), then Attach the queue before starting it.
type Hub struct {
	db       *store.DB
	erp      waybill.ERP
	partners Partners
	log      *slog.Logger
	obs      Observer
	now      func() time.Time
	q        jobs.Queue
	runner   *jobs.Runner
	batch    *coalescer[waybill.OrderDraft, submitted]
	fair     int
	syncRate *rate.Limiter // nil: no limit

	mu       sync.RWMutex
	decoders map[string]Decoder
	accepted []AcceptedHook
	senders  map[waybill.Channel]waybill.Sender
	synced   []SyncHook
	loader   PayloadLoader

	// Transactions shared by the work that waits at the same time.
	receipts  *coalescer[receipt, waybill.Receipt]
	accepts   *coalescer[acceptance, bool]
	processes *coalescer[processing, struct{}]
	reads     *coalescer[string, *store.Message]
}

var _ waybill.Intake = (*Hub)(nil)

// New returns a Hub.
func New(cfg Config) *Hub {
	h := &Hub{db: cfg.DB, erp: cfg.ERP, partners: cfg.Partners, log: cfg.Logger, obs: cfg.Observer, now: cfg.Now,
		decoders: map[string]Decoder{}, fair: cfg.FairShare}
	if h.log == nil {
		h.log = slog.Default()
	}
	if h.obs == nil {
		h.obs = nopObserver{}
	}
	if h.now == nil {
		h.now = func() time.Time { return time.Now().UTC() }
	}
	if h.partners == nil {
		h.partners = PartnerMap{}
	}
	if cfg.SyncRate > 0 {
		h.syncRate = rate.NewLimiter(rate.Limit(cfg.SyncRate), max(cfg.SyncRate/10, syncBatch))
	}
	h.runner = &jobs.Runner{DB: cfg.DB, Logger: h.log, OnDeadLetter: h.onDeadLetter, OnReplay: h.forgetMasterData}
	h.batch = newSubmitBatcher(cfg.ERP, cfg.BatchSize, cfg.BatchParallel)

	h.RegisterDecoder(DocOrderJSON, decodeOrderJSON)
	h.receipts = h.newReceiptBatcher()
	h.accepts = h.newAcceptBatcher()
	h.processes = h.newProcessBatcher()
	h.reads = h.newReadBatcher()
	return h
}

// SetJobObserver sets the observer of job outcomes.
func (h *Hub) SetJobObserver(o jobs.Observer) { h.runner.Observer = o }

// Attach gives the hub its job queue. It must be called before the queue starts.
func (h *Hub) Attach(q jobs.Queue) { h.q = q }

// Queue returns the attached queue.
func (h *Hub) Queue() jobs.Queue { return h.q }

// DB returns the store.
func (h *Hub) DB() *store.DB { return h.db }

// ERP returns the ERP port.
func (h *Hub) ERP() waybill.ERP { return h.erp }

// Runner returns the job runner, for flows that add workers of their own.
func (h *Hub) Runner() *jobs.Runner { return h.runner }

// RegisterDecoder makes docType messages decode with d.
func (h *Hub) RegisterDecoder(docType string, d Decoder) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.decoders[docType] = d
}

// OnAccepted registers a hook run when an order is accepted.
func (h *Hub) OnAccepted(fn AcceptedHook) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.accepted = append(h.accepted, fn)
}

// Workers registers the hub's job workers.
func (h *Hub) Workers(w *river.Workers) {
	river.AddWorker(w, &processWorker{h: h})
	river.AddWorker(w, &processBatchWorker{h: h})
	river.AddWorker(w, &submitWorker{h: h})
	river.AddWorker(w, &deliverWorker{h: h})
	river.AddWorker(w, &pollWorker{h: h})
	river.AddWorker(w, &syncWorker{h: h})
	river.AddWorker(w, &syncBatchWorker{h: h})
	river.AddWorker(w, &reconcileWorker{h: h})
}

// Close stops background work (the ERP batcher and the batchers of transactions).
func (h *Hub) Close() {
	h.batch.close()
	h.receipts.close()
	h.accepts.close()
	h.processes.close()
	h.reads.close()
}

func (h *Hub) partner(id string) (waybill.Partner, error) {
	p, ok := h.partners.Partner(id)
	if !ok {
		return waybill.Partner{}, &waybill.Error{Code: waybill.EINVALID, Reason: "unknown_partner",
			Message: fmt.Sprintf("no partner %q is configured", id), Where: waybill.Location{Partner: id}}
	}
	if p.ID == "" {
		p.ID = id
	}
	return p, nil
}

// PayloadLoader reads back a payload the retention job archived (the stored row keeps the
// metadata and a NULL payload). An error wrapping store.ErrNotFound means it was never archived.
type PayloadLoader interface {
	LoadPayload(ctx context.Context, m *store.Message) ([]byte, error)
}

// SetPayloadLoader lets replays of archived messages read their payload back from the archive.
func (h *Hub) SetPayloadLoader(l PayloadLoader) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.loader = l
}

// payload returns m's payload, from the archive when the store has purged it.
func (h *Hub) payload(ctx context.Context, m *store.Message) error {
	if m.Payload != nil || m.Size == 0 {
		return nil
	}
	h.mu.RLock()
	l := h.loader
	h.mu.RUnlock()
	if l == nil {
		return &waybill.Error{Code: waybill.ENOTFOUND, Reason: "payload_archived",
			Message: fmt.Sprintf("the payload of %s was archived and no archive is configured", m.ID)}
	}
	b, err := l.LoadPayload(ctx, m)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return &waybill.Error{Code: waybill.ENOTFOUND, Reason: "payload_missing", Message: fmt.Sprintf("the payload of %s is neither stored nor archived", m.ID), Err: err}
	case err != nil:
		return waybill.Unavailable(err, "reading the archived payload of %s", m.ID)
	}
	m.Payload = b
	return nil
}

// forgetMasterData empties the ERP adapter's master data cache, when it has one, so that a replay
// after a fix in the ERP sees the fix at once rather than after the cache's lifetime.
func (h *Hub) forgetMasterData() {
	if f, ok := h.erp.(interface{ Forget() }); ok {
		f.Forget()
	}
}

// Priorities of the hub's jobs: River runs lower numbers first.
const (
	priorityNormal  = 1
	priorityBacklog = 3
)

// fairOpts returns the insert options of a partner's next job: normal priority while the
// partner's waiting work (backlog, counted by the caller) is within its fair share, lower past it.
func (h *Hub) fairOpts(backlog int) *river.InsertOpts {
	if h.fair <= 0 || backlog <= h.fair {
		return nil
	}
	return &river.InsertOpts{Priority: priorityBacklog}
}
