package transport_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/waybill-hub/waybill"
)

// The HTTP intake takes a document only with the partner's bearer token (whose SHA-256 is in
// the profile); a retry with the same Idempotency-Key is a duplicate.
func TestHTTPIntake(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, be string) {
		b := setup(t, be, options{})
		url := b.hubURL + "/intake/webshop"
		body := orderJSON("WEB-1")
		for name, tc := range map[string]struct {
			url, token string
		}{
			"no token":        {url, ""},
			"wrong token":     {url, "nope"},
			"other partner":   {b.hubURL + "/intake/acme", b.httpToken},
			"unknown partner": {b.hubURL + "/intake/nobody", b.httpToken},
		} {
			resp := post(t, tc.url, tc.token, body, nil)
			require.Equal(t, http.StatusUnauthorized, resp.StatusCode, name)
			require.NotEmpty(t, resp.Header.Get("WWW-Authenticate"), name)
		}
		require.Empty(t, b.messages(t, "webshop"))

		resp := post(t, url, b.httpToken, body, map[string]string{"Idempotency-Key": "web-1", "Content-Type": "application/json"})
		require.Equal(t, http.StatusAccepted, resp.StatusCode)
		var rc waybill.Receipt
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&rc))
		require.NotEmpty(t, rc.MessageID)
		b.eventually(t, 10*time.Second, func() bool { return b.stateOf(t, "WEB-1") == waybill.OrderAccepted })

		resp = post(t, url, b.httpToken, body, map[string]string{"Idempotency-Key": "web-1"})
		require.Equal(t, http.StatusOK, resp.StatusCode)
		var dup waybill.Receipt
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&dup))
		require.True(t, dup.Duplicate)
		require.Equal(t, rc.MessageID, dup.DuplicateOf)
		require.Len(t, b.orders(t, "WEB-1"), 1)
	})
}
