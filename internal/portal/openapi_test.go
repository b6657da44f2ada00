package portal_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/require"

	"github.com/waybill-hub/waybill/internal/app"
	"github.com/waybill-hub/waybill/internal/config"
	"github.com/waybill-hub/waybill/internal/sqlite"
)

// committedSpec is the OpenAPI document in the repository; CI fails when the handlers drift
// from it. Regenerate with: go test ./internal/portal -run TestOpenAPICommitted -update
var committedSpec = filepath.Join("..", "..", "api", "openapi.json")

func TestOpenAPICommitted(t *testing.T) {
	t.Parallel()
	b := setup(t, "sqlite")
	spec, err := b.portal.OpenAPI()
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, json.Indent(&buf, spec, "", "  "))
	buf.WriteByte('\n')
	if *update {
		require.NoError(t, os.WriteFile(committedSpec, buf.Bytes(), 0o644))
	}
	want, err := os.ReadFile(committedSpec)
	require.NoError(t, err, "run with -update to create it")
	require.Equal(t, string(want), buf.String(), "api/openapi.json is out of date: run go test ./internal/portal -run TestOpenAPICommitted -update and review the diff")

	doc, err := openapi3.NewLoader().LoadFromData(want)
	require.NoError(t, err)
	require.Equal(t, "3.1.0", doc.OpenAPI)
	require.NoError(t, doc.Validate(context.Background()), "the document is valid OpenAPI")
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			require.NotNil(t, op.Security, "%s %s has no security requirement", method, path)
			for status, r := range op.Responses.Map() {
				if status >= "400" {
					ct := r.Value.Content.Get("application/problem+json")
					require.NotNil(t, ct, "%s %s %s: errors are problem+json", method, path, status)
				}
			}
		}
	}
}

// TestServedByTheApp: the hub's own HTTP server serves the portal under /v1/, with the document
// at /v1/openapi.json.
func TestServedByTheApp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bk, err := sqlite.Open(ctx, t.TempDir())
	require.NoError(t, err)
	cfg := config.Default()
	cfg.Listen = "127.0.0.1:0"
	a, err := app.New(ctx, cfg, app.Options{Storage: app.StorageFor(bk), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	require.NoError(t, a.Start(ctx))
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		a.Stop(sctx)
	})
	res, err := http.Get("http://" + a.Addr() + "/v1/openapi.json")
	require.NoError(t, err)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	want, err := os.ReadFile(committedSpec)
	require.NoError(t, err)
	require.JSONEq(t, string(want), string(body))
	res, err = http.Get("http://" + a.Addr() + "/v1/orders")
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusUnauthorized, res.StatusCode)
}
