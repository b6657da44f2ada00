package transport_test

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/waybill-hub/waybill/internal/transport"
)

// The demo exchanges documents over AS2, SFTP and CSV on loopback with the running hub.
func TestDemoExchange(t *testing.T) {
	t.Parallel()
	b := setup(t, "sqlite", options{})
	var out bytes.Buffer
	d, err := transport.DemoExchange(context.Background(), b.app.Hub, &out, transport.DemoOptions{Dir: filepath.Join(t.TempDir(), "demo"),
		AS2Partner: "acme", SFTPPartner: "globex", CSVPartner: "hanse", Items: []string{"SKU-1", "SKU-2"}})
	require.NoError(t, err, out.String())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, d.Stop(ctx))
	t.Log("\n" + out.String())
	s := out.String()
	for _, want := range []string{"MDN \"automatic-action/MDN-sent-automatically; processed\"", "accepted", "not accepted: row 4, column 3 (Qty)",
		"in the mailbox's out/"} {
		require.Contains(t, s, want)
	}
}
