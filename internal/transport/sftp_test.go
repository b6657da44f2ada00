package transport_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/store"
)

// A file put on the built-in mailbox by a real SFTP client is stored when the client closes it,
// processed once and archived; the same file put again is a duplicate.
func TestSFTPMailboxInbound(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, be string) {
		b := setup(t, be, options{})
		c, _ := b.sftpClient(t, "globex", b.globexKey)
		put(t, c, "/in/po-1.json", orderJSON("SFTP-PO-1"))
		msgs := b.messages(t, "globex")
		require.Len(t, msgs, 1, "stored before the client's close returned")
		require.Equal(t, waybill.ChannelSFTP, msgs[0].Channel)
		b.eventually(t, 10*time.Second, func() bool { return b.stateOf(t, "SFTP-PO-1") == waybill.OrderAccepted })
		left, err := c.ReadDir("/in")
		require.NoError(t, err)
		require.Empty(t, left, "taken files leave in/")
		archived, _ := filepath.Glob(filepath.Join(b.dir, "sftp-archive", "globex", "*", "po-1.json"))
		require.Len(t, archived, 1)

		put(t, c, "/in/po-1-again.json", orderJSON("SFTP-PO-1"))
		require.Len(t, b.messages(t, "globex"), 2)
		require.Len(t, b.orders(t, "SFTP-PO-1"), 1, "processed once")

		// Jailed: another partner's folder is out of reach.
		_, err = c.ReadDir("/../hanse/in")
		require.Error(t, err, "'..' stops at the jail")
	})
}

// A document the hub emits for an SFTP mailbox partner lands in its out/ folder under its final
// name only (temporary name, then rename), and the partner can fetch it.
func TestSFTPOutboundToMailbox(t *testing.T) {
	t.Parallel()
	b := setup(t, "sqlite", options{})
	ctx := context.Background()
	id := emit(t, b, "globex", waybill.ChannelSFTP, "855", "po-ack-1.edi", []byte("ISA*ack~"))
	b.eventually(t, 10*time.Second, func() bool { m, _ := b.db.Message(ctx, id); return m.State == store.MessageSent })
	entries, err := os.ReadDir(filepath.Join(b.dir, "sftp", "globex", "out"))
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	require.Equal(t, []string{"po-ack-1.edi"}, names)
	c, _ := b.sftpClient(t, "globex", b.globexKey)
	f, err := c.Open("/out/po-ack-1.edi")
	require.NoError(t, err)
	defer f.Close()
	buf := make([]byte, 64)
	n, _ := f.Read(buf)
	require.Equal(t, "ISA*ack~", string(buf[:n]))
	m, _ := b.db.Message(ctx, id)
	require.Contains(t, b.kinds(t, m.CorrelationID), "outbound.sent")
	require.True(t, strings.HasSuffix(m.TransportID, "po-ack-1.edi"), m.TransportID)
}

// A partner cannot log in with another partner's key.
func TestSFTPMailboxWrongKeyRefused(t *testing.T) {
	t.Parallel()
	b := setup(t, "sqlite", options{})
	_, err := tryClient(b, "globex", b.hanseKey)
	require.Error(t, err)
}

// A connection dropped in the middle of an upload leaves a ".partial" file that is never taken:
// nothing reaches the hub, and the partner's next complete upload is processed.
func TestSFTPDroppedUploadNotStored(t *testing.T) {
	t.Parallel()
	b := setup(t, "sqlite", options{})
	c, nc := b.sftpClient(t, "globex", b.globexKey)
	f, err := c.Create("/in/po-half.json")
	require.NoError(t, err)
	full := orderJSON("HALF-1")
	_, err = f.Write(full[:len(full)/2])
	require.NoError(t, err)
	nc.Close() // the line drops before the partner closes the file
	in := filepath.Join(b.dir, "sftp", "globex", "in")
	require.Eventually(t, func() bool {
		entries, _ := os.ReadDir(in)
		return len(entries) == 1 && entries[0].Name() == "po-half.json.partial"
	}, 5*time.Second, 10*time.Millisecond)
	_, err = b.ch.Mailbox().Sweep(context.Background())
	require.NoError(t, err)
	require.Empty(t, b.messages(t, "globex"), "a partial file is never stored")

	c2, _ := b.sftpClient(t, "globex", b.globexKey)
	put(t, c2, "/in/po-half.json", full)
	b.eventually(t, 10*time.Second, func() bool { return b.stateOf(t, "HALF-1") == waybill.OrderAccepted })
	require.Len(t, b.messages(t, "globex"), 1)
}
