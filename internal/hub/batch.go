package hub

import (
	"context"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/waybill-hub/waybill"
)

// batcher coalesces concurrent create-and-confirm requests into batched ERP calls: while one
// batch is in flight, requests queue, and the next batch takes all of them (up to size). An idle
// hub therefore sends a lone order at once, and a busy one amortizes the ERP's per-call cost.
type batcher struct {
	erp      waybill.ERP
	size     int
	reqs     chan *batchReq
	slots    chan struct{}
	stop     chan struct{}
	stopOnce sync.Once
}

type batchReq struct {
	ctx   context.Context
	draft waybill.OrderDraft
	done  chan batchRes
}

type batchRes struct {
	created waybill.OrderResult
	conf    waybill.Confirmation
	err     error
}

func newBatcher(erp waybill.ERP, size, parallel int) *batcher {
	if size <= 0 {
		size = 50
	}
	if parallel <= 0 {
		parallel = 4
	}
	b := &batcher{erp: erp, size: size, reqs: make(chan *batchReq, 4096), slots: make(chan struct{}, parallel), stop: make(chan struct{})}
	go b.loop()
	return b
}

func (b *batcher) close() { b.stopOnce.Do(func() { close(b.stop) }) }

// submit creates (find-before-create) and confirms one order through the next batch.
func (b *batcher) submit(ctx context.Context, d waybill.OrderDraft) (waybill.OrderResult, waybill.Confirmation, error) {
	r := &batchReq{ctx: ctx, draft: d, done: make(chan batchRes, 1)}
	select {
	case b.reqs <- r:
	case <-ctx.Done():
		return waybill.OrderResult{}, waybill.Confirmation{}, ctx.Err()
	}
	select {
	case res := <-r.done:
		return res.created, res.conf, res.err
	case <-ctx.Done():
		return waybill.OrderResult{}, waybill.Confirmation{}, ctx.Err()
	}
}

func (b *batcher) loop() {
	for {
		var first *batchReq
		select {
		case first = <-b.reqs:
		case <-b.stop:
			return
		}
		select { // wait for a free slot; requests keep queueing meanwhile
		case b.slots <- struct{}{}:
		case <-b.stop:
			return
		}
		batch := []*batchReq{first}
	fill:
		for len(batch) < b.size {
			select {
			case r := <-b.reqs:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		go func() {
			defer func() { <-b.slots }()
			b.run(batch)
		}()
	}
}

func (b *batcher) run(batch []*batchReq) {
	live := batch[:0:0]
	for _, r := range batch {
		if r.ctx.Err() == nil {
			live = append(live, r)
		}
	}
	if len(live) == 0 {
		return
	}
	// The batch runs on behalf of several jobs: it is cancelled only when all of them are.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for _, r := range live {
			<-r.ctx.Done()
		}
		cancel()
	}()
	// The batch is a span in the trace of its first job, linked to the traces of the others.
	var links []trace.Link
	for _, r := range live {
		if sc := trace.SpanContextFromContext(r.ctx); sc.IsValid() {
			links = append(links, trace.Link{SpanContext: sc})
		}
	}
	ctx, span := tracer.Start(trace.ContextWithSpanContext(ctx, trace.SpanContextFromContext(live[0].ctx)), "erp batch",
		trace.WithLinks(links...), trace.WithAttributes(attribute.Int("waybill.batch_size", len(live))))
	defer span.End()
	drafts := make([]waybill.OrderDraft, len(live))
	for i, r := range live {
		drafts[i] = r.draft
	}
	created, err := b.erp.CreateOrders(ctx, drafts)
	if err == nil && len(created) != len(drafts) {
		err = waybill.Errorf(waybill.EINTERNAL, "erp_reply", "ERP answered %d of %d creates", len(created), len(drafts))
	}
	if err != nil {
		for _, r := range live {
			r.done <- batchRes{err: err}
		}
		return
	}
	var refs []waybill.ERPRef
	var idx []int
	for i, c := range created {
		if c.Err != nil {
			live[i].done <- batchRes{created: c, err: c.Err}
			continue
		}
		refs = append(refs, c.Order)
		idx = append(idx, i)
	}
	if len(refs) == 0 {
		return
	}
	confs, err := b.erp.ConfirmOrders(ctx, refs)
	if err == nil && len(confs) != len(refs) {
		err = waybill.Errorf(waybill.EINTERNAL, "erp_reply", "ERP answered %d of %d confirmations", len(confs), len(refs))
	}
	for j, i := range idx {
		res := batchRes{created: created[i]}
		if err != nil {
			res.err = err
		} else {
			res.conf = confs[j]
			res.err = confs[j].Err
		}
		live[i].done <- res
	}
}
