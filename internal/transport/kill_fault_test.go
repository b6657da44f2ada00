//go:build fault

package transport_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/app"
	"github.com/waybill-hub/waybill/internal/config"
	"github.com/waybill-hub/waybill/internal/memerp"
	"github.com/waybill-hub/waybill/internal/partner"
	"github.com/waybill-hub/waybill/internal/sftp"
	"github.com/waybill-hub/waybill/internal/sqlite"
	"github.com/waybill-hub/waybill/internal/transport"
)

const killChildEnv = "WAYBILL_TRANSPORT_KILL_CHILD"

// killAfterStore stores through the hub and then kills its own process with SIGKILL: the hub
// dies between storing a downloaded file and deleting it on the partner's server.
type killAfterStore struct{ intake waybill.Intake }

func (k killAfterStore) Receive(ctx context.Context, m waybill.InboundMessage) (waybill.Receipt, error) {
	rc, err := k.intake.Receive(ctx, m)
	if err == nil {
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		time.Sleep(time.Minute)
	}
	return rc, err
}

// TestKillChild is the hub process the parent test kills; it runs only when the parent starts it.
func TestKillChild(t *testing.T) {
	if os.Getenv(killChildEnv) == "" {
		t.Skip("run by TestPollerHubKilledBetweenDownloadAndDelete")
	}
	ctx := context.Background()
	be, err := sqlite.Open(ctx, os.Getenv("KILL_DB"))
	require.NoError(t, err)
	cfg := config.Default()
	cfg.Listen = ""
	cfg.Partners = []config.Partner{{ID: "initech", Account: "INITECH"}}
	a, err := app.New(ctx, cfg, app.Options{Storage: app.StorageFor(be), ERP: memerp.New(true)})
	require.NoError(t, err)
	key, err := transport.LoadSSHSigner(os.Getenv("KILL_KEY"))
	require.NoError(t, err)
	hk, _, _, _, err := ssh.ParseAuthorizedKey([]byte(os.Getenv("KILL_HOSTKEY")))
	require.NoError(t, err)
	p := &sftp.Poller{Remote: sftp.Remote{Partner: "initech", Addr: os.Getenv("KILL_ADDR"), User: "hub", Key: key, HostKey: hk,
		InDir: os.Getenv("KILL_IN"), Delete: true}, Intake: killAfterStore{a.Hub}}
	_, err = p.Poll(ctx)
	t.Fatalf("the poll returned (%v): the process should have been killed", err)
}

// The hub process is killed (SIGKILL) between storing a file polled from a partner's OpenSSH
// server and deleting it there; the restarted hub polls it again, sees a duplicate, deletes it,
// and the order exists once.
//
//	go test -tags fault -run Killed -v ./internal/transport/
func TestPollerHubKilledBetweenDownloadAndDelete(t *testing.T) {
	o := startOpenSSH(t)
	dbDir, keyDir := t.TempDir(), t.TempDir()
	prof := o.profile(t, keyDir)
	remoteFile := filepath.Join(o.root, "outbox", "po-k.json")
	writeFile(t, remoteFile, orderJSON("KILL-1"))

	cmd := exec.Command(os.Args[0], "-test.run=^TestKillChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), killChildEnv+"=1", "KILL_DB="+dbDir, "KILL_KEY="+prof.Remote.KeyFile, "KILL_HOSTKEY="+prof.Remote.HostKey,
		"KILL_ADDR="+prof.Remote.Addr, "KILL_IN="+prof.Remote.InDir)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	require.True(t, errors.As(err, &ee), "child: %v\n%s", err, out)
	ws, _ := ee.Sys().(syscall.WaitStatus)
	require.True(t, ws.Signaled() && ws.Signal() == syscall.SIGKILL, "the child was killed: %v\n%s", err, out)
	require.FileExists(t, remoteFile, "the hub died before the remote delete")

	b := setup(t, "sqlite", options{sqliteDir: dbDir,
		cfg: func(c *transport.Config) { c.SFTP.PollInterval = -1 },
		profiles: func(b *bundle) []transport.PartnerTransport {
			p := *prof
			p.Remote.Pattern = ""
			return []transport.PartnerTransport{{ID: "initech", Dir: keyDir, Transport: partner.Transport{SFTP: &p}}}
		}})
	require.Len(t, b.messages(t, "initech"), 1, "the killed hub had stored the file")
	n, err := b.ch.Pollers()[0].Poll(context.Background())
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.NoFileExists(t, remoteFile)
	b.eventually(t, 20*time.Second, func() bool { return b.stateOf(t, "KILL-1") == waybill.OrderAccepted })
	require.Len(t, b.orders(t, "KILL-1"), 1, "processed once")
	require.Len(t, b.messages(t, "initech"), 2, "the second download was recorded as a duplicate")
}
