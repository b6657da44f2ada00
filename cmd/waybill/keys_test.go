package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/waybill-hub/waybill/internal/portal"
)

func runKeys(t *testing.T, g *globals, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	g.stdout = &out
	cmd := newKeysCmd(g)
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.Execute()
	return out.String(), err
}

func TestKeysCreateListRevoke(t *testing.T) {
	t.Parallel()
	g := &globals{dataDir: t.TempDir(), stderr: &bytes.Buffer{}}
	out, err := runKeys(t, g, "create", "--account", "ACME", "--scope", "catalog:read", "--scope", "orders:write", "--name", "web", "--json")
	require.NoError(t, err)
	var created struct{ ID, Key string }
	require.NoError(t, json.Unmarshal([]byte(out), &created))
	id, _, ok := portal.ParseKey(created.Key)
	require.True(t, ok)
	require.Equal(t, created.ID, id)
	require.Contains(t, g.stderr.(*bytes.Buffer).String(), `no partner "portal" is configured`)

	out, err = runKeys(t, g, "list")
	require.NoError(t, err)
	require.Contains(t, out, id)
	require.Contains(t, out, "catalog:read orders:write")
	require.Contains(t, out, "active")
	require.NotContains(t, out, created.Key, "the secret is never shown again")

	out, err = runKeys(t, g, "revoke", created.Key)
	require.NoError(t, err)
	require.Equal(t, "key "+id+" revoked\n", out)
	out, err = runKeys(t, g, "list", "--json")
	require.NoError(t, err)
	require.True(t, strings.Contains(out, `"state":"revoked"`), out)

	_, err = runKeys(t, g, "create")
	require.ErrorContains(t, err, "--account is required")
	_, err = runKeys(t, g, "create", "--account", "A", "--scope", "everything")
	require.ErrorContains(t, err, "unknown scope")
	_, err = runKeys(t, g, "revoke", "nope")
	require.Error(t, err)
}
