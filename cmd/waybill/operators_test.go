package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/require"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/app"
	"github.com/waybill-hub/waybill/internal/dashboard"
	"github.com/waybill-hub/waybill/internal/store"
)

// runSub runs a command constructor's command with the globals of a fresh data directory.
func runSub(t *testing.T, dir string, mk func(*globals) *cobra.Command, stdin string, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	g := &globals{dataDir: dir, stdout: &out, stderr: &errb, logLevel: "error"}
	cmd := mk(g)
	cmd.SetArgs(args)
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

func TestOperatorsCommands(t *testing.T) {
	t.Setenv(PasswordEnv, "")
	dir := t.TempDir()
	out, err := runSub(t, dir, newOperatorsCmd, "s3cret-passw0rd\n", "create", "olga", "--role", "operator")
	require.NoError(t, err)
	require.Equal(t, "operator olga saved with role operator\n", out)

	_, err = runSub(t, dir, newOperatorsCmd, "short\n", "create", "bob", "--role", "viewer")
	require.ErrorContains(t, err, "at least 10 characters")
	_, err = runSub(t, dir, newOperatorsCmd, "long enough password\n", "create", "bob", "--role", "root")
	require.ErrorContains(t, err, "role must be viewer, operator or admin")
	_, err = runSub(t, dir, newOperatorsCmd, "", "create", "bob", "--role", "viewer")
	require.ErrorContains(t, err, "no password")

	out, err = runSub(t, dir, newOperatorsCmd, "", "list")
	require.NoError(t, err)
	require.Contains(t, out, "olga")
	require.Contains(t, out, "operator  active")

	out, err = runSub(t, dir, newOperatorsCmd, "", "disable", "olga")
	require.NoError(t, err)
	require.Equal(t, "operator olga disabled; 0 sessions ended\n", out)
	_, err = runSub(t, dir, newOperatorsCmd, "", "disable", "nobody")
	require.ErrorContains(t, err, "no operator nobody")

	// The stored hash signs in only when the operator is re-enabled.
	t.Setenv(PasswordEnv, "another-password")
	_, err = runSub(t, dir, newOperatorsCmd, "", "create", "olga", "--role", "admin")
	require.NoError(t, err)
	g := &globals{dataDir: dir}
	_, st, err := g.openStorage(context.Background())
	require.NoError(t, err)
	defer st.DB.Close()
	op, err := dashboard.Authenticate(context.Background(), st.DB, "olga", "another-password")
	require.NoError(t, err)
	require.Equal(t, "admin", op.Role)
}

func TestArchiveCommand(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(app.ArchiveDirEnv, "")
	g := &globals{dataDir: dir}
	_, st, err := g.openStorage(context.Background())
	require.NoError(t, err)
	m := &store.Message{ID: store.NewID("msg"), CorrelationID: "cor", Direction: store.Inbound, Channel: waybill.ChannelHTTP,
		Partner: "acme", DocType: "x12", Digest: "d", Size: 5, Payload: []byte("ISA*1"), State: store.MessageProcessed,
		ReceivedAt: time.Now().UTC().Add(-72 * time.Hour)}
	require.NoError(t, st.DB.InTx(context.Background(), func(tx *store.Tx) error { return tx.InsertMessage(context.Background(), m) }))
	st.DB.Close()

	out, err := runSub(t, dir, newArchiveCmd, "")
	require.NoError(t, err)
	require.Equal(t, "archived and purged 0 payloads (0 bytes)\n", out, "nothing is 90 days old")
	out, err = runSub(t, dir, newArchiveCmd, "", "--days", "2")
	require.NoError(t, err)
	require.Equal(t, "archived and purged 1 payloads (5 bytes)\n", out)
	out, err = runSub(t, dir, newArchiveCmd, "", "--restore", m.ID)
	require.NoError(t, err)
	require.Equal(t, "payload of "+m.ID+" restored from the archive\n", out)

	_, st, err = g.openStorage(context.Background())
	require.NoError(t, err)
	defer st.DB.Close()
	got, err := st.DB.Message(context.Background(), m.ID)
	require.NoError(t, err)
	require.Equal(t, []byte("ISA*1"), got.Payload)
}
