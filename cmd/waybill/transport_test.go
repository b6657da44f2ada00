package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"
)

func TestTransportCommands(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	run := func(cmdArgs []string, stdin string) (string, error) {
		var cmd = newSFTPCmd()
		switch cmdArgs[0] {
		case "as2":
			cmd = newAS2Cmd()
		case "intake":
			cmd = newIntakeCmd()
		}
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		cmd.SetIn(strings.NewReader(stdin))
		cmd.SetArgs(cmdArgs[1:])
		err := cmd.Execute()
		return out.String(), err
	}
	out, err := run([]string{"sftp", "hash-password"}, "s3cret\n")
	require.NoError(t, err)
	require.NoError(t, bcrypt.CompareHashAndPassword([]byte(strings.TrimSpace(out)), []byte("s3cret")))

	key := filepath.Join(dir, "host")
	out, err = run([]string{"sftp", "host-key", "--out", key}, "")
	require.NoError(t, err)
	require.Contains(t, out, "ssh-ed25519 ")
	_, err = run([]string{"sftp", "host-key", "--out", key}, "")
	require.Error(t, err, "an existing key is not overwritten")

	crt, k := filepath.Join(dir, "a.crt"), filepath.Join(dir, "a.key")
	_, err = run([]string{"as2", "new-cert", "--as2-id", "WAYBILL", "--cert", crt, "--key", k, "--days", "10"}, "")
	require.NoError(t, err)
	out, err = run([]string{"as2", "certs", crt}, "")
	require.Error(t, err, "expires within the default 30 days")
	require.Contains(t, out, "CN=WAYBILL")
	out, err = run([]string{"as2", "certs", "--warn", "24h", crt}, "")
	require.NoError(t, err, out)
	_, err = os.Stat(k)
	require.NoError(t, err)

	out, err = run([]string{"intake", "token"}, "")
	require.NoError(t, err)
	require.Contains(t, out, "token_hash")
}
