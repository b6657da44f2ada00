package telemetry

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
)

// HTTPMetrics records request latency by API and status class, with bounded labels: the API
// name is chosen by the caller ("dashboard", "portal", "as2"), never taken from the path.
type HTTPMetrics struct {
	duration *prometheus.HistogramVec
}

// NewHTTPMetrics registers waybill_http_request_duration_seconds{api, method, code} in reg.
// Calling it again with the same registry (from another API's wiring) shares the histogram.
func NewHTTPMetrics(reg prometheus.Registerer) *HTTPMetrics {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "waybill_http_request_duration_seconds",
		Help:    "HTTP request latency by API, method and status class (2xx, 4xx, 5xx).",
		Buckets: []float64{.005, .01, .025, .05, .1, .2, .5, 1, 2.5, 5, 10}}, []string{"api", "method", "code"})
	if err := reg.Register(h); err != nil {
		var are prometheus.AlreadyRegisteredError
		if !errors.As(err, &are) {
			panic(err)
		}
		h = are.ExistingCollector.(*prometheus.HistogramVec)
	}
	return &HTTPMetrics{duration: h}
}

// Wrap measures h under the API name api and traces each request as a span continuing the
// caller's trace context (W3C traceparent).
func (m *HTTPMetrics) Wrap(api string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ctx := otel.GetTextMapPropagator().Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		ctx, span := Start(ctx, api+" "+r.Method, attribute.String("http.method", r.Method), attribute.String("http.api", api))
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		h.ServeHTTP(rec, r.WithContext(ctx))
		span.SetAttributes(attribute.Int("http.status_code", rec.code))
		span.End()
		method := r.Method
		switch method {
		case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodHead:
		default:
			method = "other"
		}
		m.duration.WithLabelValues(api, method, strconv.Itoa(rec.code/100)+"xx").Observe(time.Since(start).Seconds())
	})
}

type statusRecorder struct {
	http.ResponseWriter
	code    int
	written bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.written {
		s.code, s.written = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	s.written = true
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
