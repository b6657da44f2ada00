package dashboard_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/store"
)

func TestLoginAndRoles(t *testing.T) {
	t.Parallel()
	b := setup(t, "sqlite")
	c := b.client(t)

	code, _, h := c.get("/ui/exceptions")
	require.Equal(t, http.StatusSeeOther, code, "pages need a sign-in")
	require.Equal(t, "/ui/login?next=%2Fui%2Fexceptions", h.Get("Location"))
	code, _, h = c.get("/")
	require.Equal(t, http.StatusFound, code)
	require.Equal(t, "/ui/", h.Get("Location"))

	code, body, _ := c.post("/ui/login", url.Values{"name": {"olga"}, "password": {"wrong password"}})
	require.Equal(t, http.StatusUnauthorized, code)
	contains(t, body, "unknown operator or wrong password")
	code, _, _ = c.post("/ui/login", url.Values{"name": {"nobody"}, "password": {password}})
	require.Equal(t, http.StatusUnauthorized, code)

	code, _, h = c.post("/ui/login", url.Values{"name": {"ann"}, "password": {password}, "next": {"//evil.example/"}})
	require.Equal(t, http.StatusSeeOther, code)
	require.Equal(t, "/ui/", h.Get("Location"), "the redirect after sign-in stays in the dashboard")
	cookie := h.Get("Set-Cookie")
	for _, attr := range []string{"HttpOnly", "SameSite=Strict", "Path=/ui/"} {
		require.Contains(t, cookie, attr)
	}

	for _, p := range []string{"/ui/", "/ui/exceptions", "/ui/trace", "/ui/technical", "/ui/static/style.css"} {
		code, _, _ := c.get(p)
		require.Equal(t, http.StatusOK, code, p)
	}
	// A viewer may look but not act, even with a valid CSRF token.
	code, body, _ = c.post("/ui/exceptions/replay", url.Values{"csrf": {c.csrf()}, "id": {"dl_x"}})
	require.Equal(t, http.StatusForbidden, code)
	contains(t, body, "your role (viewer) may not do this")

	// Sign out ends the session.
	code, _, _ = c.post("/ui/logout", url.Values{"csrf": {c.csrf()}})
	require.Equal(t, http.StatusSeeOther, code)
	code, _, _ = c.get("/ui/")
	require.Equal(t, http.StatusSeeOther, code)
}

func TestReplayFromExceptions(t *testing.T) {
	t.Parallel()
	for _, be := range backends() {
		t.Run(be, func(t *testing.T) {
			t.Parallel()
			b := setup(t, be)
			dl := b.onHold(t, "PO-7")
			c := b.client(t)
			c.login("olga")

			_, body, _ := c.get("/ui/exceptions")
			contains(t, body, "duplicate_po", "Suggested fix:", dl.ID, "Release hold", "PO-7")

			// Without the CSRF token nothing happens.
			code, _, _ := c.post("/ui/exceptions/replay", url.Values{"id": {dl.ID}})
			require.Equal(t, http.StatusForbidden, code)

			code, _, h := c.post("/ui/exceptions/replay", url.Values{"csrf": {c.csrf()}, "id": {dl.ID}})
			require.Equal(t, http.StatusSeeOther, code)
			require.Contains(t, h.Get("Location"), "flash=Replayed")
			b.eventually(t, 10*time.Second, func() bool {
				list, err := b.db.Orders(context.Background(), store.OrderFilter{PONumber: "PO-7", State: waybill.OrderAccepted})
				require.NoError(t, err)
				return len(list) == 2
			})
			got, err := b.db.DeadLetter(context.Background(), dl.ID)
			require.NoError(t, err)
			require.Equal(t, store.DeadReplayed, got.State)
			require.Equal(t, "olga", got.ResolvedBy)
			trail, err := b.db.AuditTrail(context.Background(), dl.CorrelationID)
			require.NoError(t, err)
			var actors []string
			for _, r := range trail {
				if r.Kind == "dlq.replay" {
					actors = append(actors, r.Actor)
				}
			}
			require.Equal(t, []string{"olga"}, actors, "the replay is audited with the operator's name")

			// A second replay of the same dead letter is refused with a message for the operator.
			code, _, h = c.post("/ui/exceptions/replay", url.Values{"csrf": {c.csrf()}, "id": {dl.ID}})
			require.Equal(t, http.StatusSeeOther, code)
			require.Contains(t, h.Get("Location"), "error=")
			loc, _ := url.Parse(h.Get("Location"))
			require.Contains(t, loc.Query().Get("error"), "is not open")

			_, body, _ = c.get("/ui/")
			contains(t, body, "Business health", "acme", "<svg")
		})
	}
}

func TestReleaseDiscardAndReplayAll(t *testing.T) {
	t.Parallel()
	b := setup(t, "sqlite")
	ctx := context.Background()
	dl := b.onHold(t, "PO-8")
	c := b.client(t)
	c.login("olga")

	// Release an order held by a dead letter: the dead letter is replayed.
	code, _, h := c.post("/ui/exceptions/release", url.Values{"csrf": {c.csrf()}, "order": {dl.OrderID}})
	require.Equal(t, http.StatusSeeOther, code, h.Get("Location"))
	b.eventually(t, 10*time.Second, func() bool {
		rec, err := b.db.Order(ctx, dl.OrderID)
		require.NoError(t, err)
		return rec.Order.State == waybill.OrderAccepted
	})

	// An unknown partner dead-letters; discard one, replay all of the others' reason.
	for i := range 3 {
		b.receive(t, "ghost", orderJSON("PO-G"+string(rune('0'+i)), "1"))
	}
	var open []*store.DeadLetter
	b.eventually(t, 10*time.Second, func() bool {
		var err error
		open, err = b.db.DeadLetters(ctx, store.DeadLetterFilter{Reason: "unknown_partner"})
		require.NoError(t, err)
		return len(open) == 3
	})
	code, _, _ = c.post("/ui/exceptions/discard", url.Values{"csrf": {c.csrf()}, "id": {open[0].ID}, "why": {"test resend"}})
	require.Equal(t, http.StatusSeeOther, code)
	d, err := b.db.DeadLetter(ctx, open[0].ID)
	require.NoError(t, err)
	require.Equal(t, store.DeadDiscarded, d.State)

	code, _, h = c.post("/ui/exceptions/replay-reason", url.Values{"csrf": {c.csrf()}, "reason": {"unknown_partner"}})
	require.Equal(t, http.StatusSeeOther, code)
	require.Contains(t, h.Get("Location"), "Replayed+2+dead+letters")
	for _, o := range open[1:] {
		d, err := b.db.DeadLetter(ctx, o.ID)
		require.NoError(t, err)
		require.Equal(t, store.DeadReplayed, d.State)
	}
}

func TestTraceAndRawDocument(t *testing.T) {
	t.Parallel()
	b := setup(t, "sqlite")
	rc := b.receive(t, "acme", orderJSON("PO-9", "5"))
	b.eventually(t, 10*time.Second, func() bool { return b.state(t, "PO-9") == waybill.OrderAccepted })
	c := b.client(t)
	c.login("ann")
	_, body, _ := c.get("/ui/trace?q=PO-9")
	contains(t, body, rc.CorrelationID, "message.received", "order.received", "validated → accepted", "/ui/messages/"+rc.MessageID)
	_, body, _ = c.get("/ui/trace?q=nothing-here")
	contains(t, body, "Nothing is linked to")
	_, body, _ = c.get("/ui/messages/" + rc.MessageID)
	contains(t, body, "PO-9", rc.CorrelationID)
	code, raw, _ := c.get("/ui/messages/" + rc.MessageID + "?download=1")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, string(orderJSON("PO-9", "5")), raw)
	code, _, _ = c.get("/ui/messages/msg_none")
	require.Equal(t, http.StatusNotFound, code)

	// Archived and purged, the payload is read back from the archive.
	res, err := b.app.Archiver().Run(context.Background())
	require.NoError(t, err)
	require.Zero(t, res.Archived, "nothing is due under the default policy")
	arc := b.app.Archiver()
	arc.Policy.DefaultDays = 1
	arc.Now = func() time.Time { return time.Now().Add(48 * time.Hour) }
	res, err = arc.Run(context.Background())
	require.NoError(t, err)
	require.Equal(t, 1, res.Archived)
	m, err := b.db.Message(context.Background(), rc.MessageID)
	require.NoError(t, err)
	require.Nil(t, m.Payload)
	_, body, _ = c.get("/ui/messages/" + rc.MessageID)
	contains(t, body, "Read back from the archive.", "PO-9")
}

func TestTechnicalHealth(t *testing.T) {
	t.Parallel()
	b := setup(t, "sqlite")
	c := b.client(t)
	c.login("adam")
	_, body, _ := c.get("/ui/technical")
	contains(t, body, "Technical health", "Store", "up", "Job queue", "no certificates are configured")
	require.False(t, strings.Contains(body, "bad\">down"), body)

	// The hub's /metrics carries the dashboard's latency histogram.
	_, metrics, _ := c.get("/metrics")
	contains(t, metrics, `waybill_http_request_duration_seconds_count{api="dashboard",code="2xx",method="GET"}`)
}
