package transport_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/partner"
	"github.com/waybill-hub/waybill/internal/transport"
	"github.com/waybill-hub/waybill/partners"
)

// The sample partner profiles (embedded) build their channels: their folders are watched and
// documents for them are written to their out folders.
func TestSampleProfilesBuild(t *testing.T) {
	data := t.TempDir()
	t.Setenv("WAYBILL_DATA", data)
	reg, err := partner.LoadFS(partners.FS, "partners")
	require.NoError(t, err)
	profiles := transport.FromRegistry(reg)
	require.NotEmpty(t, profiles)
	b := setup(t, "sqlite", options{profiles: func(*bundle) []transport.PartnerTransport {
		var out []transport.PartnerTransport
		for _, p := range profiles {
			p.ID = "sample-" + p.ID // the setup's own acme is a different partner
			out = append(out, p)
		}
		return out
	}})
	ctx := context.Background()
	var dirs []string
	for _, p := range b.ch.Watcher().Partners {
		dirs = append(dirs, p.Dir)
	}
	require.Contains(t, dirs, filepath.Join(data, "folder", "acme", "in"))
	id := emit(t, b, "sample-acme", waybill.ChannelFolder, "855", "ack.edi", []byte("ISA*sample~"))
	b.eventually(t, 10*time.Second, func() bool {
		_, err := os.Stat(filepath.Join(data, "folder", "acme", "out", "ack.edi"))
		return err == nil
	})
	_ = ctx
	_ = id
}
