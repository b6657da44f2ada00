package telemetry

import (
	"context"
	"encoding/json"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// metaKey is the job metadata key holding the enqueuer's trace context.
const metaKey = "otel"

// JobMiddleware traces jobs: on insert it stores the current trace context in the job's
// metadata; on work it starts a span "job <kind>" continuing that trace, with the job's kind,
// attempt and correlation id (read from the arguments' "correlation_id"), and puts the
// correlation id in the context for log lines. Add &JobMiddleware{} to river.Config.Middleware.
type JobMiddleware struct {
	river.MiddlewareDefaults
}

var (
	_ rivertype.JobInsertMiddleware = (*JobMiddleware)(nil)
	_ rivertype.WorkerMiddleware    = (*JobMiddleware)(nil)
)

// InsertMany implements rivertype.JobInsertMiddleware.
func (*JobMiddleware) InsertMany(ctx context.Context, params []*rivertype.JobInsertParams, inner func(context.Context) ([]*rivertype.JobInsertResult, error)) ([]*rivertype.JobInsertResult, error) {
	carrier := propagation.MapCarrier{}
	otel.GetTextMapPropagator().Inject(ctx, carrier)
	if len(carrier) > 0 {
		for _, p := range params {
			meta := map[string]any{}
			if len(p.Metadata) > 0 {
				if err := json.Unmarshal(p.Metadata, &meta); err != nil {
					continue // leave metadata we do not understand alone
				}
			}
			meta[metaKey] = map[string]string(carrier)
			if b, err := json.Marshal(meta); err == nil {
				p.Metadata = b
			}
		}
	}
	return inner(ctx)
}

// Work implements rivertype.WorkerMiddleware.
func (*JobMiddleware) Work(ctx context.Context, job *rivertype.JobRow, inner func(context.Context) error) error {
	var meta struct {
		OTel map[string]string `json:"otel"`
	}
	if len(job.Metadata) > 0 && json.Unmarshal(job.Metadata, &meta) == nil && len(meta.OTel) > 0 {
		ctx = otel.GetTextMapPropagator().Extract(ctx, propagation.MapCarrier(meta.OTel))
	}
	var args struct {
		CorrelationID string `json:"correlation_id"`
	}
	_ = json.Unmarshal(job.EncodedArgs, &args)
	ctx = WithCorrelation(ctx, args.CorrelationID)
	ctx, span := Start(ctx, "job "+job.Kind, attribute.String("job.kind", job.Kind), attribute.Int64("job.id", job.ID),
		attribute.Int("job.attempt", job.Attempt))
	span.SetAttributes(attribute.String("span.kind", trace.SpanKindConsumer.String()))
	err := inner(ctx)
	End(span, err)
	return err
}
