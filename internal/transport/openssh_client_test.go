package transport_test

import (
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"github.com/waybill-hub/waybill"
)

// OpenSSH's own sftp client (Debian's openssh-client) puts a file on the built-in mailbox and
// fetches what the hub left in out/.
func TestMailboxWithOpenSSHClient(t *testing.T) {
	t.Parallel()
	sftpBin, err := exec.LookPath("sftp")
	if err != nil {
		t.Skip("OpenSSH sftp client not installed (apt-get install -y openssh-client)")
	}
	b := setup(t, "sqlite", options{})
	dir := t.TempDir()
	// The partner's key in OpenSSH format and the pinned host key.
	pb, err := ssh.MarshalPrivateKey(rawKey(t, b.globexKey), "")
	require.NoError(t, err)
	keyFile := filepath.Join(dir, "id_ed25519")
	writeFile(t, keyFile, pem.EncodeToMemory(pb))
	hostData, err := os.ReadFile(filepath.Join(b.dir, "host_key"))
	require.NoError(t, err)
	hk, err := ssh.ParsePrivateKey(hostData)
	require.NoError(t, err)
	host, port, _ := net.SplitHostPort(b.ch.SFTPAddr())
	known := filepath.Join(dir, "known_hosts")
	writeFile(t, known, []byte(fmt.Sprintf("[%s]:%s %s", host, port, ssh.MarshalAuthorizedKey(hk.PublicKey()))))
	emitID := emit(t, b, "globex", waybill.ChannelSFTP, "855", "ack-1.edi", []byte("ISA*ack~"))
	b.eventually(t, 10*time.Second, func() bool {
		_, err := os.Stat(filepath.Join(b.dir, "sftp", "globex", "out", "ack-1.edi"))
		return err == nil
	})
	_ = emitID

	local := filepath.Join(dir, "po-9.json")
	writeFile(t, local, orderJSON("OSSH-9"))
	batch := filepath.Join(dir, "batch")
	writeFile(t, batch, []byte(fmt.Sprintf("put %s /in/po-9.json\nget /out/ack-1.edi %s\nrm /out/ack-1.edi\n", local, filepath.Join(dir, "ack-1.edi"))))
	cmd := exec.Command(sftpBin, "-b", batch, "-i", keyFile, "-P", port, "-o", "UserKnownHostsFile="+known, "-o", "StrictHostKeyChecking=yes",
		"-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-F", "/dev/null", "globex@"+host)
	outb, err := cmd.CombinedOutput()
	require.NoError(t, err, string(outb))
	b.eventually(t, 10*time.Second, func() bool { return b.stateOf(t, "OSSH-9") == waybill.OrderAccepted })
	got, err := os.ReadFile(filepath.Join(dir, "ack-1.edi"))
	require.NoError(t, err)
	require.Equal(t, "ISA*ack~", string(got))
	require.NoFileExists(t, filepath.Join(b.dir, "sftp", "globex", "out", "ack-1.edi"), "the partner removed what it fetched")
}

func rawKey(t *testing.T, s ssh.Signer) any {
	k, ok := rawKeys.Load(s)
	require.True(t, ok)
	return k
}
