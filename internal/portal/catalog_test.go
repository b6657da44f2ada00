package portal_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/portal"
)

func TestCatalog(t *testing.T) {
	t.Parallel()
	b := setup(t, "sqlite")
	var page struct {
		Items      []portal.CatalogItem
		NextCursor string `json:"next_cursor"`
	}
	var skus []string
	path := "/v1/catalog?limit=2"
	for {
		r := b.call(t, "acme", "GET", path, nil)
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		page.NextCursor = ""
		r.json(t, &page)
		for _, it := range page.Items {
			skus = append(skus, it.SKU)
		}
		if page.NextCursor == "" {
			break
		}
		path = "/v1/catalog?limit=2&cursor=" + url.QueryEscape(page.NextCursor)
	}
	require.Equal(t, []string{"SKU-1", "SKU-2", "SKU-3"}, skus)

	r := b.call(t, "acme", "GET", "/v1/catalog/SKU-1", nil)
	var it portal.CatalogItem
	r.json(t, &it)
	require.Equal(t, "11", it.Price.UnitPrice)
	require.Equal(t, "ACME contract", it.Price.Rule)
	require.Len(t, it.PriceBreaks, 2)
	require.Equal(t, "100", it.PriceBreaks[1].MinQuantity)
	require.Equal(t, 2027, it.PriceBreaks[1].ValidUntil.Year())
	etag := r.Header.Get("ETag")
	require.NotEmpty(t, etag)
	nm := b.call(t, "acme", "GET", "/v1/catalog/SKU-1", nil, "If-None-Match", etag)
	require.Equal(t, http.StatusNotModified, nm.Status)

	r = b.call(t, "acme", "GET", "/v1/catalog/SKU-3", nil)
	r.json(t, &it)
	require.Equal(t, "6", it.Multiple)
	require.Equal(t, "6", it.MinQuantity)
	require.Equal(t, "40", it.Price.UnitPrice, "list price when the account has none of its own")

	b.call(t, "acme", "GET", "/v1/catalog?q=sku-3", nil).json(t, &page)
	require.Len(t, page.Items, 1)
	b.call(t, "acme", "GET", "/v1/catalog?category=bulk", nil).json(t, &page)
	require.Len(t, page.Items, 1)
	// GLOBEX does not see SKU-3 and pays list prices.
	b.call(t, "globex", "GET", "/v1/catalog", nil).json(t, &page)
	require.Len(t, page.Items, 2)
	require.Equal(t, "12.5", page.Items[0].Price.UnitPrice)
	bad := b.call(t, "acme", "GET", "/v1/catalog?cursor=%25%25", nil)
	require.Equal(t, http.StatusBadRequest, bad.Status)
}

func TestAvailability(t *testing.T) {
	t.Parallel()
	b := setup(t, "sqlite")
	b.erp.SetStock("SKU-1", waybill.MustDecimal("7"))
	var av struct{ Items []portal.Availability }
	r := b.call(t, "acme", "GET", "/v1/availability?sku=SKU-1,SKU-2", nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	r.json(t, &av)
	require.Len(t, av.Items, 2)
	require.Equal(t, "7", av.Items[0].Available)
	require.Equal(t, "1000", av.Items[1].Available)
	first := av.Items[0].RefreshedAt
	require.False(t, first.IsZero())

	// The cache follows the ERP: a change shows after the next refresh.
	b.erp.SetStock("SKU-1", waybill.MustDecimal("3"))
	deadline := time.Now().Add(5 * time.Second)
	for {
		b.call(t, "acme", "GET", "/v1/availability?sku=SKU-1", nil).json(t, &av)
		if av.Items[0].Available == "3" {
			break
		}
		require.True(t, time.Now().Before(deadline), "availability not refreshed")
		time.Sleep(20 * time.Millisecond) // polling an HTTP endpoint: nothing to subscribe to
	}
	require.True(t, av.Items[0].RefreshedAt.After(first))

	b.call(t, "acme", "GET", "/v1/availability?limit=2", nil).json(t, &av)
	require.Len(t, av.Items, 2)
	b.call(t, "acme", "GET", "/v1/availability?warehouse=EAST&sku=SKU-2", nil).json(t, &av)
	require.Equal(t, "EAST", av.Items[0].Warehouse)
}
