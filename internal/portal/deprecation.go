package portal

import (
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
)

// Deprecate marks an operation deprecated since a time, to be removed at sunset (zero when not
// yet decided): the OpenAPI document says so, and every response carries Deprecation (RFC 9745)
// and Sunset (RFC 8594) headers and a Link to the policy.
func Deprecate(op *huma.Operation, since, sunset time.Time) {
	op.Deprecated = true
	if op.Metadata == nil {
		op.Metadata = map[string]any{}
	}
	op.Metadata["deprecated_at"] = since
	if !sunset.IsZero() {
		op.Metadata["sunset"] = sunset
	}
}

// deprecation adds the deprecation headers of deprecated operations.
func deprecation(ctx huma.Context, next func(huma.Context)) {
	op := ctx.Operation()
	if op != nil && op.Deprecated {
		if at, ok := op.Metadata["deprecated_at"].(time.Time); ok {
			ctx.SetHeader("Deprecation", "@"+itoa(int(at.Unix())))
		}
		if at, ok := op.Metadata["sunset"].(time.Time); ok {
			ctx.SetHeader("Sunset", at.UTC().Format(http.TimeFormat))
		}
		ctx.AppendHeader("Link", `</docs/portal.md#versioning-and-deprecation>; rel="deprecation"`)
	}
	next(ctx)
}
