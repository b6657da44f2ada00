package app

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/waybill-hub/waybill/internal/partner"
	"github.com/waybill-hub/waybill/internal/transport"
)

func TestEndpointProbes(t *testing.T) {
	t.Parallel()
	as2 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusMethodNotAllowed) // an AS2 endpoint refusing GET is still up
	}))
	defer as2.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := ln.Addr().String()
	ln.Close() // nothing listens here any more
	targets := targetsOf([]transport.PartnerTransport{
		{ID: "acme", Transport: partner.Transport{AS2: &partner.AS2{URL: as2.URL}}},
		{ID: "globex", Transport: partner.Transport{SFTP: &partner.SFTP{Remote: &partner.SFTPRemote{Addr: closed}}}},
		{ID: "quiet", Transport: partner.Transport{Folder: &partner.Folder{Dir: "x"}}},
	})
	require.Len(t, targets, 2)
	p := newEndpointProber()
	p.probe(context.Background(), targets)
	eps := p.endpoints(context.Background())
	require.Len(t, eps, 2)
	require.Equal(t, "acme", eps[0].Partner)
	require.True(t, eps[0].Up, eps[0].LastFail)
	require.Equal(t, "globex", eps[1].Partner)
	require.False(t, eps[1].Up)
	require.Contains(t, eps[1].LastFail, "refused")
	st := p.states(context.Background())
	require.Len(t, st, 2)
}
