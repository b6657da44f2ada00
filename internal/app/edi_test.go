package app_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/waybill-hub/waybill/internal/app"
	"github.com/waybill-hub/waybill/internal/config"
	"github.com/waybill-hub/waybill/internal/memerp"
	"github.com/waybill-hub/waybill/internal/sqlite"
	"github.com/waybill-hub/waybill/partners"
)

// TestMountEDIRecordsMappingVersions starts the app twice over the same store with the sample
// profiles, the second time with Acme moved to 850 mapping v2: the audit trail shows who set
// each version and the change.
func TestMountEDIRecordsMappingVersions(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	pdir := filepath.Join(t.TempDir(), "partners")
	require.NoError(t, os.MkdirAll(filepath.Join(pdir, "guides"), 0o755))
	for _, name := range []string{"acme.yaml", "globex.yaml", "guides/acme-850.guide"} {
		data, err := partners.FS.ReadFile(name)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(pdir, name), data, 0o644))
	}
	t.Setenv(app.EnvPartnersDir, pdir)
	t.Setenv("USER", "tester")
	start := func() {
		b, err := sqlite.Open(ctx, dir)
		require.NoError(t, err)
		cfg := config.Default()
		cfg.Listen = ""
		a, err := app.New(ctx, cfg, app.Options{Storage: app.StorageFor(b), ERP: memerp.New(true)})
		require.NoError(t, err)
		_, ok := a.Hub.Partners().Partner("acme")
		require.True(t, ok, "the profiles join the hub's partners")
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		require.NoError(t, a.Stop(sctx))
	}
	start()
	acme := filepath.Join(pdir, "acme.yaml")
	data, err := os.ReadFile(acme)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(acme, []byte(strings.Replace(string(data),
		`{set: "850", direction: in, mapping: v1`, `{set: "850", direction: in, mapping: v2`, 1)), 0o644))
	start()

	b, err := sqlite.Open(ctx, dir)
	require.NoError(t, err)
	st := app.StorageFor(b)
	defer st.DB.Close()
	trail, err := st.DB.AuditTrail(ctx, "partner:acme")
	require.NoError(t, err)
	var summaries []string
	for _, r := range trail {
		if r.Kind == "mapping.version" {
			summaries = append(summaries, r.Summary)
		}
	}
	require.Contains(t, summaries, "acme 850 in mapping set to v1 by config (tester)")
	require.Contains(t, summaries, "acme 850 in mapping changed from v1 to v2 by config (tester)")
	require.Len(t, summaries, 5, "4 documents set, then one change")
}

// TestMountEDIReportsProfileErrors shows that a bad profile stops the app with field-named errors.
func TestMountEDIReportsProfileErrors(t *testing.T) {
	pdir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(pdir, "bad.yaml"), []byte("erp: {account: X}\nx12: {sender_id: ''}\n"), 0o644))
	t.Setenv(app.EnvPartnersDir, pdir)
	b, err := sqlite.Open(context.Background(), t.TempDir())
	require.NoError(t, err)
	cfg := config.Default()
	cfg.Listen = ""
	_, err = app.New(context.Background(), cfg, app.Options{Storage: app.StorageFor(b), ERP: memerp.New(true)})
	require.ErrorContains(t, err, "bad.yaml: x12.sender_id must be 1-15 characters")
	require.ErrorContains(t, err, "bad.yaml: x12.version must be 004010 or 005010")
}
