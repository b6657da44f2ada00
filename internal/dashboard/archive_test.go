package dashboard_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/store"
)

// TestReplayFromArchive: a message dead-letters, retention archives and purges its payload, the
// cause is fixed, and the replay from the dashboard reads the payload back from the archive.
func TestReplayFromArchive(t *testing.T) {
	t.Parallel()
	b := setup(t, "sqlite")
	ctx := context.Background()
	rc, err := b.app.Hub.Receive(ctx, waybill.InboundMessage{Channel: waybill.ChannelHTTP, Partner: "acme", DocType: "late-json",
		Payload: orderJSON("PO-ARC", "3")})
	require.NoError(t, err)
	var dl *store.DeadLetter
	b.eventually(t, 10*time.Second, func() bool {
		dls, err := b.db.DeadLetters(ctx, store.DeadLetterFilter{Reason: "unknown_doc_type"})
		require.NoError(t, err)
		if len(dls) > 0 {
			dl = dls[0]
		}
		return dl != nil
	})

	arc := b.app.Archiver()
	arc.Policy.DefaultDays = 1
	arc.Now = func() time.Time { return time.Now().Add(72 * time.Hour) }
	res, err := arc.Run(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, res.Archived)
	m, err := b.db.Message(ctx, rc.MessageID)
	require.NoError(t, err)
	require.Nil(t, m.Payload, "purged")

	// The fix: a translation for the document type.
	b.app.Hub.RegisterDecoder("late-json", func(_ context.Context, msg *store.Message, _ waybill.Partner) ([]*waybill.Order, error) {
		if msg.Payload == nil {
			return nil, waybill.Errorf(waybill.EINVALID, "no_payload", "message %s has no payload", msg.ID)
		}
		var o waybill.Order
		if err := json.Unmarshal(msg.Payload, &o); err != nil {
			return nil, waybill.Errorf(waybill.EINVALID, "bad_json", "%v", err)
		}
		return []*waybill.Order{&o}, nil
	})

	c := b.client(t)
	c.login("olga")
	code, _, h := c.post("/ui/exceptions/replay", url.Values{"csrf": {c.csrf()}, "id": {dl.ID}})
	require.Equal(t, http.StatusSeeOther, code)
	require.Contains(t, h.Get("Location"), "flash=Replayed")
	b.eventually(t, 10*time.Second, func() bool { return b.state(t, "PO-ARC") == waybill.OrderAccepted })
}
