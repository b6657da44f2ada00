package transport_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/store"
)

// A file dropped in a partner's watched folder is stored, processed and archived; a document for
// the partner is written to its out folder under its final name.
func TestFolderIntakeAndOutbound(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, be string) {
		b := setup(t, be, options{})
		ctx := context.Background()
		writeFile(t, filepath.Join(b.folderDir, "po.json.tmp"), orderJSON("DIR-1"))
		res, err := b.ch.Watcher().Scan(ctx)
		require.NoError(t, err)
		require.Zero(t, res.Taken, "a temporary name is not taken")
		require.NoError(t, os.Rename(filepath.Join(b.folderDir, "po.json.tmp"), filepath.Join(b.folderDir, "po.json")))
		res, err = b.ch.Watcher().Scan(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, res.Taken)
		b.eventually(t, 10*time.Second, func() bool { return b.stateOf(t, "DIR-1") == waybill.OrderAccepted })
		archived, _ := filepath.Glob(filepath.Join(b.dir, "folder-archive", "plant", "*", "po.json"))
		require.Len(t, archived, 1)
		msgs := b.messages(t, "plant")
		require.Len(t, msgs, 1)
		require.Equal(t, waybill.ChannelFolder, msgs[0].Channel)

		id := emit(t, b, "plant", waybill.ChannelFolder, "855", "", []byte("ack"))
		b.eventually(t, 10*time.Second, func() bool { m, _ := b.db.Message(ctx, id); return m.State == store.MessageSent })
		entries, err := os.ReadDir(b.folderOut)
		require.NoError(t, err)
		require.Len(t, entries, 1)
		require.Equal(t, id+".edi", entries[0].Name())
	})
}
