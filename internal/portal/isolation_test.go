package portal_test

import (
	"context"
	"net/http"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/portal"
	"github.com/waybill-hub/waybill/internal/store"
)

// TestIsolation: with customer B's key, customer A's resources are answered exactly as resources
// that do not exist, on every endpoint that takes an id, a filter or a number.
func TestIsolation(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, be string) {
		b := setup(t, be)
		ra := newReceiver(t)
		rb := newReceiver(t)
		subA := b.subscribe(t, "acme", ra, "*")
		b.subscribe(t, "globex", rb, "*")

		o := b.accepted(t, "acme", "PO-SECRET")
		b.ship(t, o, map[string]waybill.Decimal{"1": waybill.MustDecimal("5")})
		rec, err := b.db.Order(context.Background(), o.ID)
		require.NoError(t, err)
		inv := b.erp.Invoice(rec.Order.ERP, "INV/A/1", waybill.PaymentNotPaid, time.Now())
		res := b.call(t, "acme", "POST", "/v1/returns", map[string]any{"order_id": o.ID, "lines": []map[string]any{{"line_number": "1", "quantity": "1"}}})
		require.Equal(t, http.StatusCreated, res.Status)
		var ret portal.Return
		res.json(t, &ret)
		ra.waitFor(t, 2) // order.accepted, return.updated
		var log struct{ Items []portal.DeliveryView }
		b.call(t, "acme", "GET", "/v1/webhooks/"+subA.ID+"/deliveries", nil).json(t, &log)
		require.NotEmpty(t, log.Items)

		ghost := store.NewID("x")
		pairs := []struct {
			name, method, theirs, none string
			body                       any
		}{
			{"order", "GET", "/v1/orders/" + o.ID, "/v1/orders/" + store.NewID("ord"), nil},
			{"cancel", "POST", "/v1/orders/" + o.ID + "/cancel", "/v1/orders/" + store.NewID("ord") + "/cancel", nil},
			{"return", "GET", "/v1/returns/" + ret.ID, "/v1/returns/" + store.NewID("rma"), nil},
			{"return for order", "POST", "/v1/returns", "/v1/returns", nil},
			{"invoice", "GET", "/v1/invoices/" + itoa64(inv.Ref.ID), "/v1/invoices/999999", nil},
			{"deliveries", "GET", "/v1/webhooks/" + subA.ID + "/deliveries", "/v1/webhooks/" + ghost + "/deliveries", nil},
			{"test-send", "POST", "/v1/webhooks/" + subA.ID + "/test", "/v1/webhooks/" + ghost + "/test", nil},
			{"replay", "POST", "/v1/webhooks/" + subA.ID + "/deliveries/" + log.Items[0].ID + "/replay", "/v1/webhooks/" + ghost + "/deliveries/" + log.Items[0].ID + "/replay", nil},
			{"unsubscribe", "DELETE", "/v1/webhooks/" + subA.ID, "/v1/webhooks/" + ghost, nil},
			{"catalog item hidden from B", "GET", "/v1/catalog/SKU-3", "/v1/catalog/NO-SUCH-SKU", nil},
		}
		for _, p := range pairs {
			theirsBody, noneBody := p.body, p.body
			if p.name == "return for order" {
				theirsBody = map[string]any{"order_id": o.ID, "lines": []map[string]any{{"line_number": "1", "quantity": "1"}}}
				noneBody = map[string]any{"order_id": store.NewID("ord"), "lines": []map[string]any{{"line_number": "1", "quantity": "1"}}}
			}
			theirs := b.call(t, "globex", p.method, p.theirs, theirsBody)
			none := b.call(t, "globex", p.method, p.none, noneBody)
			require.Equal(t, http.StatusNotFound, theirs.Status, "%s: %s", p.name, theirs.Body)
			require.Equal(t, none.Status, theirs.Status, p.name)
			require.Equal(t, string(none.Body), string(theirs.Body), "%s: the answer must not tell A's resource from a missing one", p.name)
		}

		// Filters and lists return nothing of A's.
		for _, path := range []string{"/v1/orders?po_number=PO-SECRET", "/v1/orders", "/v1/returns?order_id=" + o.ID, "/v1/returns", "/v1/invoices"} {
			var list struct{ Items []map[string]any }
			r := b.call(t, "globex", "GET", path, nil)
			require.Equal(t, http.StatusOK, r.Status, path)
			r.json(t, &list)
			require.Empty(t, list.Items, path)
		}
		var subs struct{ Items []portal.Subscription }
		b.call(t, "globex", "GET", "/v1/webhooks", nil).json(t, &subs)
		require.Len(t, subs.Items, 1)
		require.NotEqual(t, subA.ID, subs.Items[0].ID)
		var st portal.Statement
		b.call(t, "globex", "GET", "/v1/statement", nil).json(t, &st)
		require.Equal(t, "0.00", st.Balance)
		var av struct{ Items []portal.Availability }
		b.call(t, "globex", "GET", "/v1/availability?sku=SKU-3,SKU-1", nil).json(t, &av)
		require.Len(t, av.Items, 1, "a SKU outside B's catalog is absent, as an unknown one")
		require.Equal(t, "SKU-1", av.Items[0].SKU)

		// The same PO number and Idempotency-Key under B's key is B's own order.
		own := b.call(t, "globex", "POST", "/v1/orders", order("PO-SECRET"), "Idempotency-Key", "PO-SECRET")
		require.Equal(t, http.StatusCreated, own.Status, "%s", own.Body)
		var ob orderView
		own.json(t, &ob)
		require.NotEqual(t, o.ID, ob.ID)
		require.Equal(t, "GLOBEX", ob.Account)

		// Webhooks: B heard only of its own order; A of nothing of B's.
		evs := rb.waitFor(t, 1)
		time.Sleep(0) // deliveries are asynchronous; the waits above bound them
		for _, e := range evs {
			require.Equal(t, "GLOBEX", e.Account)
		}
		for _, e := range ra.events() {
			require.Equal(t, "ACME", e.Account)
		}

		// An operator names the account per request, and only one it is allowed.
		var list struct{ Items []orderView }
		b.call(t, "operator", "GET", "/v1/orders", nil, portal.AccountHeader, "GLOBEX").json(t, &list)
		require.Len(t, list.Items, 1)
		require.Equal(t, ob.ID, list.Items[0].ID)
		b.call(t, "operator", "GET", "/v1/orders", nil, portal.AccountHeader, "ACME").json(t, &list)
		require.Len(t, list.Items, 1)
		require.Equal(t, o.ID, list.Items[0].ID)
		require.Equal(t, http.StatusBadRequest, b.call(t, "operator", "GET", "/v1/orders", nil).Status)
		forbidden := b.call(t, "operator", "GET", "/v1/orders", nil, portal.AccountHeader, "INITECH")
		require.Equal(t, http.StatusForbidden, forbidden.Status)
		exists := b.call(t, "globex", "GET", "/v1/orders", nil, portal.AccountHeader, "ACME")
		require.Equal(t, string(forbidden.Body), string(exists.Body), "naming an existing account one may not use answers as naming a missing one")
	})
}

// TestIsolationTiming: fetching another account's order takes as long as fetching a missing one
// (both are one indexed read and the same answer). Medians of many requests, with a loose bound.
func TestIsolationTiming(t *testing.T) {
	if testing.Short() {
		t.Skip("timing test")
	}
	b := setup(t, "sqlite")
	o := b.accepted(t, "acme", "PO-T")
	measure := func(path string) time.Duration {
		var ds []time.Duration
		for range 60 {
			start := time.Now()
			r := b.call(t, "globex", "GET", path, nil)
			ds = append(ds, time.Since(start))
			require.Equal(t, http.StatusNotFound, r.Status)
		}
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		return ds[len(ds)/2]
	}
	measure("/v1/orders/" + o.ID) // warm up
	theirs, none := measure("/v1/orders/"+o.ID), measure("/v1/orders/"+store.NewID("ord"))
	diff := theirs - none
	if diff < 0 {
		diff = -diff
	}
	t.Logf("median: another account's order %s, missing order %s", theirs, none)
	require.Less(t, diff, 2*time.Millisecond+max(theirs, none)/2)
}

func itoa64(n int64) string { return itoa(int(n)) }

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for n > 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(b)
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	b := setup(t, "sqlite")
	ctx := context.Background()
	good := b.keys["acme"]
	id, _, _ := portal.ParseKey(good)
	revoked := b.key(t, "revoked", []string{"ACME"}, "*")
	rid, _, _ := portal.ParseKey(revoked)
	require.NoError(t, b.db.RevokePortalKey(ctx, rid))
	expiredKey, eid, ehash := portal.NewKey()
	require.NoError(t, b.db.InsertPortalKey(ctx, &store.PortalKey{ID: eid, Hash: ehash, Client: "portal", Accounts: []string{"ACME"},
		Scopes: []string{"*"}, ExpiresAt: time.Now().Add(-time.Minute)}))
	_, otherID, _ := portal.NewKey()
	cases := map[string]string{
		"none": "", "malformed": "Basic abc", "unknown id": portal.KeyPrefix + otherID + good[len(portal.KeyPrefix)+13:],
		"wrong secret": portal.KeyPrefix + id + "_" + "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "revoked": revoked, "expired": expiredKey,
	}
	var first []byte
	for name, key := range cases {
		r := b.call(t, key, "GET", "/v1/catalog", nil)
		if key == "" {
			r = b.call(t, "", "GET", "/v1/catalog", nil)
		}
		require.Equal(t, http.StatusUnauthorized, r.Status, name)
		require.Equal(t, portal.ProblemBase+portal.ProbUnauthorized, r.problem(t).Type, name)
		require.NotEmpty(t, r.Header.Get("WWW-Authenticate"))
		if first == nil {
			first = r.Body
		}
		require.Equal(t, string(first), string(r.Body), "%s: every bad key gets the same answer", name)
	}

	// Scopes.
	b.key(t, "reader", []string{"ACME"}, portal.ScopeCatalogRead)
	require.Equal(t, http.StatusOK, b.call(t, "reader", "GET", "/v1/catalog", nil).Status)
	r := b.call(t, "reader", "POST", "/v1/orders", order("PO-S"), "Idempotency-Key", "k")
	require.Equal(t, http.StatusForbidden, r.Status)
	require.Equal(t, portal.ProblemBase+portal.ProbForbidden, r.problem(t).Type)
	require.Equal(t, http.StatusForbidden, b.call(t, "reader", "GET", "/v1/orders", nil).Status)
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	b := setup(t, "sqlite")
	key, id, hash := portal.NewKey()
	require.NoError(t, b.db.InsertPortalKey(context.Background(), &store.PortalKey{ID: id, Hash: hash, Client: "portal",
		Accounts: []string{"ACME"}, Scopes: []string{"*"}, RateLimit: 1, Burst: 2}))
	b.keys["slow"] = key
	r := b.call(t, "slow", "GET", "/v1/catalog", nil)
	require.Equal(t, http.StatusOK, r.Status)
	require.Equal(t, "2", r.Header.Get("RateLimit-Limit"))
	require.Equal(t, "1", r.Header.Get("RateLimit-Remaining"))
	require.NotEmpty(t, r.Header.Get("RateLimit-Reset"))
	require.Equal(t, http.StatusOK, b.call(t, "slow", "GET", "/v1/catalog", nil).Status)
	r = b.call(t, "slow", "GET", "/v1/catalog", nil)
	require.Equal(t, http.StatusTooManyRequests, r.Status)
	require.Equal(t, "1", r.Header.Get("Retry-After"))
	require.Equal(t, "0", r.Header.Get("RateLimit-Remaining"))
	require.Equal(t, portal.ProblemBase+portal.ProbRateLimited, r.problem(t).Type)
	// Another key is not affected.
	require.Equal(t, http.StatusOK, b.call(t, "acme", "GET", "/v1/catalog", nil).Status)
}
