package hub

import (
	"context"
	"slices"
	"testing"

	"github.com/riverqueue/river"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/waybill-hub/waybill/internal/store"
)

// TestProcessJobsGroupByPriority checks the jobs a receipt batch enqueues: one process_messages
// job per priority, in the order of the messages, each message with its receipt's trace
// context; a priority with one message gets a plain process_message job.
func TestProcessJobsGroupByPriority(t *testing.T) {
	// Not parallel: it installs the process's propagator.
	prev := otel.GetTextMapPropagator()
	otel.SetTextMapPropagator(propagation.TraceContext{})
	t.Cleanup(func() { otel.SetTextMapPropagator(prev) })

	backlog := &river.InsertOpts{Priority: priorityBacklog}
	ms := make([]*store.Message, 5)
	ctxs := make([]context.Context, 5)
	for i := range ms {
		ms[i] = &store.Message{ID: store.NewID("msg"), CorrelationID: store.NewID("cor"), Partner: "acme"}
		var tid trace.TraceID
		tid[0] = byte(i + 1)
		sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: trace.SpanID{1}, TraceFlags: trace.FlagsSampled})
		ctxs[i] = trace.ContextWithSpanContext(context.Background(), sc)
	}
	ctxs[4] = context.Background() // a receipt without a trace
	opts := []*river.InsertOpts{nil, nil, backlog, nil, nil}

	jobs := processJobs(ms, opts, ctxs)
	if len(jobs) != 2 {
		t.Fatalf("%d jobs, want 2 (one per priority): %+v", len(jobs), jobs)
	}
	batch, ok := jobs[0].Args.(ProcessMessages)
	if !ok || jobs[0].InsertOpts != nil {
		t.Fatalf("first job: %T with %+v, want process_messages at normal priority", jobs[0].Args, jobs[0].InsertOpts)
	}
	var ids []string
	for _, m := range batch.Messages {
		ids = append(ids, m.MessageID)
	}
	if want := []string{ms[0].ID, ms[1].ID, ms[3].ID, ms[4].ID}; !slices.Equal(ids, want) {
		t.Fatalf("normal-priority messages %v, want %v", ids, want)
	}
	for i, m := range batch.Messages[:3] {
		got := trace.SpanContextFromContext(otel.GetTextMapPropagator().Extract(context.Background(), propagation.MapCarrier(m.Trace)))
		if want := trace.SpanContextFromContext(ctxs[[]int{0, 1, 3}[i]]).TraceID(); got.TraceID() != want {
			t.Errorf("message %s carries trace %s, want its receipt's %s", m.MessageID, got.TraceID(), want)
		}
	}
	if batch.Messages[3].Trace != nil {
		t.Errorf("a receipt without a trace carries %v", batch.Messages[3].Trace)
	}
	one, ok := jobs[1].Args.(ProcessMessage)
	if !ok || jobs[1].InsertOpts != backlog || one.MessageID != ms[2].ID || one.Trace != nil {
		t.Fatalf("second job: %T %+v with %+v, want process_message for %s at backlog priority, its trace in its metadata",
			jobs[1].Args, jobs[1].Args, jobs[1].InsertOpts, ms[2].ID)
	}
}
