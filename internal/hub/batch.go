package hub

import (
	"context"
	"errors"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/waybill-hub/waybill"
)

// coalescer gathers concurrent requests into batches: while a batch is in flight (up to
// parallel at once), requests queue, and the next batch takes all of them (up to size). An idle
// hub therefore sends a lone request at once, and a busy one amortizes the ERP's per-call cost.
type coalescer[Req, Res any] struct {
	size     int
	run      func(batch []*pending[Req, Res]) // answers every live request of the batch
	reqs     chan *pending[Req, Res]
	slots    chan struct{}
	stop     chan struct{}
	stopOnce sync.Once
	mu       sync.RWMutex // held shared while queueing a request, exclusively to close
	closed   bool
}

// errClosed is returned for a request made after the coalescer was closed: it was not run.
var errClosed = errors.New("batcher closed")

// errAlone is the answer of a batch to a request it leaves to its caller to run alone: every
// request of a batch whose transaction failed, or one whose work panicked, so that each fails,
// or panics, only in its own caller.
//
// A lone request, or one the batch cannot take, is run by the batch itself, so that the requests
// arriving meanwhile queue up for the next batch (that is what makes batches under load).
var errAlone = errors.New("to be run alone")

// safely runs fn and reports whether it panicked (the panic is dropped: the caller runs the work
// again on its own goroutine, where it panics again and is handled as before).
func safely(fn func()) (panicked bool) {
	defer func() {
		if recover() != nil {
			panicked = true
		}
	}()
	fn()
	return false
}

// pending is one request waiting in a coalescer.
type pending[Req, Res any] struct {
	ctx  context.Context
	req  Req
	done chan outcome[Res]
}

type outcome[Res any] struct {
	res Res
	err error
}

func newCoalescer[Req, Res any](size, parallel int, run func([]*pending[Req, Res])) *coalescer[Req, Res] {
	if size <= 0 {
		size = 50
	}
	if parallel <= 0 {
		parallel = 4
	}
	c := &coalescer[Req, Res]{size: size, run: run, reqs: make(chan *pending[Req, Res], 4096),
		slots: make(chan struct{}, parallel), stop: make(chan struct{})}
	go c.loop()
	return c
}

// close stops the coalescer: requests already queued still run, later ones get errClosed.
func (c *coalescer[Req, Res]) close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.stopOnce.Do(func() { close(c.stop) })
}

// do sends req with the next batch and waits for its answer.
func (c *coalescer[Req, Res]) do(ctx context.Context, req Req) (Res, error) {
	p := &pending[Req, Res]{ctx: ctx, req: req, done: make(chan outcome[Res], 1)}
	var zero Res
	c.mu.RLock()
	if c.closed {
		c.mu.RUnlock()
		return zero, errClosed
	}
	select {
	case c.reqs <- p:
		c.mu.RUnlock()
	case <-ctx.Done():
		c.mu.RUnlock()
		return zero, ctx.Err()
	}
	select {
	case o := <-p.done:
		return o.res, o.err
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}

func (c *coalescer[Req, Res]) loop() {
	for {
		var first *pending[Req, Res]
		select {
		case first = <-c.reqs:
		case <-c.stop:
			c.drain(nil)
			return
		}
		select { // wait for a free slot; requests keep queueing meanwhile
		case c.slots <- struct{}{}:
		case <-c.stop:
			c.drain(first)
			return
		}
		batch := []*pending[Req, Res]{first}
	fill:
		for len(batch) < c.size {
			select {
			case p := <-c.reqs:
				batch = append(batch, p)
			default:
				break fill
			}
		}
		go func() {
			defer func() { <-c.slots }()
			c.runLive(batch)
		}()
	}
}

// drain runs first (when not nil) and the requests still queued once the coalescer is closed,
// so that none waits for an answer that never comes.
func (c *coalescer[Req, Res]) drain(first *pending[Req, Res]) {
	var batch []*pending[Req, Res]
	if first != nil {
		batch = append(batch, first)
	}
	for {
		select {
		case p := <-c.reqs:
			batch = append(batch, p)
			if len(batch) < c.size {
				continue
			}
		default:
		}
		if len(batch) == 0 {
			return
		}
		c.runLive(batch)
		batch = batch[:0]
	}
}

// runLive runs the requests of batch whose callers still wait, if any.
func (c *coalescer[Req, Res]) runLive(batch []*pending[Req, Res]) {
	live := batch[:0:0]
	for _, p := range batch {
		if p.ctx.Err() == nil {
			live = append(live, p)
		}
	}
	if len(live) > 0 {
		c.run(live)
	}
}

// batchContext is the context a batch runs in on behalf of several requests: it is cancelled
// only when all of them are, and it is a span named name in the trace of the first request,
// linked to the traces of the others. The caller ends the span and calls cancel.
func batchContext[Req, Res any](name string, live []*pending[Req, Res]) (context.Context, trace.Span, context.CancelFunc) {
	base, cancel := context.WithCancel(context.Background())
	go func() {
		for _, p := range live {
			select {
			case <-p.ctx.Done():
			case <-base.Done(): // the batch is over (a request's context may never end)
				return
			}
		}
		cancel()
	}()
	var links []trace.Link
	for _, p := range live {
		if sc := trace.SpanContextFromContext(p.ctx); sc.IsValid() {
			links = append(links, trace.Link{SpanContext: sc})
		}
	}
	ctx, span := tracer.Start(trace.ContextWithSpanContext(base, trace.SpanContextFromContext(live[0].ctx)), name,
		trace.WithLinks(links...), trace.WithAttributes(attribute.Int("waybill.batch_size", len(live))))
	return ctx, span, cancel
}

// submitted is the ERP's answer to one order draft: its creation (or the order found on the hub
// reference) and its confirmation.
type submitted struct {
	created waybill.OrderResult
	conf    waybill.Confirmation
}

// newSubmitBatcher coalesces create-and-confirm requests into batched ERP calls.
func newSubmitBatcher(erp waybill.ERP, size, parallel int) *coalescer[waybill.OrderDraft, submitted] {
	return newCoalescer(size, parallel, func(live []*pending[waybill.OrderDraft, submitted]) {
		ctx, span, cancel := batchContext("erp batch", live)
		defer cancel()
		defer span.End()
		drafts := make([]waybill.OrderDraft, len(live))
		for i, p := range live {
			drafts[i] = p.req
		}
		created, err := erp.CreateOrders(ctx, drafts)
		if err == nil && len(created) != len(drafts) {
			err = waybill.Errorf(waybill.EINTERNAL, "erp_reply", "ERP answered %d of %d creates", len(created), len(drafts))
		}
		if err != nil {
			for _, p := range live {
				p.done <- outcome[submitted]{err: err}
			}
			return
		}
		var refs []waybill.ERPRef
		var idx []int
		for i, c := range created {
			if c.Err != nil {
				live[i].done <- outcome[submitted]{res: submitted{created: c}, err: c.Err}
				continue
			}
			refs = append(refs, c.Order)
			idx = append(idx, i)
		}
		if len(refs) == 0 {
			return
		}
		confs, err := erp.ConfirmOrders(ctx, refs)
		if err == nil && len(confs) != len(refs) {
			err = waybill.Errorf(waybill.EINTERNAL, "erp_reply", "ERP answered %d of %d confirmations", len(confs), len(refs))
		}
		for j, i := range idx {
			o := outcome[submitted]{res: submitted{created: created[i]}}
			if err != nil {
				o.err = err
			} else {
				o.res.conf, o.err = confs[j], confs[j].Err
			}
			live[i].done <- o
		}
	})
}
