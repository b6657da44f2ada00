//go:build fault

package transport_test

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/partner"
	"github.com/waybill-hub/waybill/internal/transport"
)

// One partner flooding the mailbox while another's files keep flowing: the quiet partner's
// upload is stored at once (each session stores its own files), and its order goes through the
// pipeline; the test reports how long it waited behind the flood.
//
//	go test -tags fault -run Flood -v ./internal/transport/
func TestFloodOnePartnerOthersFlow(t *testing.T) {
	const flood, sessions = 400, 4
	var quietKey ssh.Signer
	b := setup(t, "sqlite", options{profiles: func(b *bundle) []transport.PartnerTransport {
		quietKey = newSSHKey(t)
		writeFile(t, filepath.Join(b.dir, "initech.pub"), ssh.MarshalAuthorizedKey(quietKey.PublicKey()))
		return []transport.PartnerTransport{{ID: "initech", Dir: b.dir, Transport: partner.Transport{SFTP: &partner.SFTP{
			Mailbox: &partner.SFTPMailbox{AuthorizedKeysFile: "initech.pub"}}}}}
	}})
	var uploaded atomic.Int64
	var uploadTimes []time.Duration
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for s := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, _ := b.sftpClient(t, "globex", b.globexKey)
			for i := s; i < flood; i += sessions {
				t0 := time.Now()
				put(t, c, fmt.Sprintf("/in/flood-%04d.json", i), orderJSON(fmt.Sprintf("FLOOD-%04d", i)))
				mu.Lock()
				uploadTimes = append(uploadTimes, time.Since(t0))
				mu.Unlock()
				uploaded.Add(1)
			}
		}()
	}
	for uploaded.Load() < flood/4 {
		time.Sleep(5 * time.Millisecond)
	}
	qc, _ := b.sftpClient(t, "initech", quietKey)
	t0 := time.Now()
	put(t, qc, "/in/quiet.json", orderJSON("QUIET-1"))
	quietUpload := time.Since(t0)
	floodUploadedBefore := uploaded.Load()
	b.eventually(t, 2*time.Minute, func() bool { return b.stateOf(t, "QUIET-1") == waybill.OrderAccepted })
	quietLatency := time.Since(t0)
	acceptedFloodAtQuiet := countAccepted(t, b, "globex")
	wg.Wait()
	uploadAll := time.Since(start)
	b.eventually(t, 5*time.Minute, func() bool { return countAccepted(t, b, "globex") == flood })
	drained := time.Since(start)
	sort.Slice(uploadTimes, func(i, j int) bool { return uploadTimes[i] < uploadTimes[j] })
	t.Logf("flood: %d files by globex over %d sessions uploaded in %s (upload p50 %s, p99 %s); all %d accepted after %s (%.0f orders/s)",
		flood, sessions, uploadAll.Round(time.Millisecond), uploadTimes[len(uploadTimes)/2].Round(time.Microsecond),
		uploadTimes[len(uploadTimes)*99/100].Round(time.Microsecond), flood, drained.Round(time.Millisecond), float64(flood)/drained.Seconds())
	t.Logf("quiet partner: upload stored in %s while %d flood files were in; its order accepted %s later, when %d of the flood's orders were accepted",
		quietUpload.Round(time.Microsecond), floodUploadedBefore, quietLatency.Round(time.Millisecond), acceptedFloodAtQuiet)
	require.Less(t, quietUpload, 2*time.Second, "the quiet partner's upload is not held up by the flood")
	if os.Getenv("WAYBILL_FAIRNESS_STRICT") != "" {
		require.Less(t, acceptedFloodAtQuiet, flood/2, "the quiet partner's order waited behind most of the flood")
	}
}

func countAccepted(t *testing.T, b *bundle, partnerID string) int {
	n := 0
	for _, m := range b.messages(t, partnerID) {
		_ = m
		n++
	}
	list, err := b.db.Orders(t.Context(), storeFilter(partnerID))
	require.NoError(t, err)
	n = 0
	for _, o := range list {
		if o.Order.State == waybill.OrderAccepted {
			n++
		}
	}
	return n
}

// A backlog in the pipeline (the ERP is slow, a partner sent many files at once): the test
// reports how far a quiet partner's order waits behind the backlog of another partner. River
// takes jobs in insertion order within a priority, so without a per-partner limit the quiet
// partner waits for the whole backlog inserted before it.
//
//	go test -tags fault -run Backlog -v ./internal/transport/
func TestBacklogOnePartnerOthersWait(t *testing.T) {
	forEachBackend(t, testBacklog)
}

func testBacklog(t *testing.T, backend string) {
	const flood = 300
	b := setup(t, backend, options{})
	b.erp.SetLatency(300 * time.Millisecond)
	ctx := t.Context()
	start := time.Now()
	for i := range flood {
		_, err := b.app.Hub.Receive(ctx, waybill.InboundMessage{Channel: waybill.ChannelSFTP, Partner: "globex",
			Payload: orderJSON(fmt.Sprintf("BACKLOG-%04d", i))})
		require.NoError(t, err)
	}
	inserted := time.Since(start)
	t0 := time.Now()
	_, err := b.app.Hub.Receive(ctx, waybill.InboundMessage{Channel: waybill.ChannelSFTP, Partner: "initech", Payload: orderJSON("QUIET-2")})
	require.NoError(t, err)
	b.eventually(t, 5*time.Minute, func() bool { return b.stateOf(t, "QUIET-2") == waybill.OrderAccepted })
	quiet := time.Since(t0)
	atQuiet := countAccepted(t, b, "globex")
	b.eventually(t, 5*time.Minute, func() bool { return countAccepted(t, b, "globex") == flood })
	drained := time.Since(start)
	t.Logf("backlog: %d globex orders received in %s, all accepted after %s; the quiet partner's order took %s and was accepted after %d of them",
		flood, inserted.Round(time.Millisecond), drained.Round(time.Millisecond), quiet.Round(time.Millisecond), atQuiet)
}
