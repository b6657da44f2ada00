package partner_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/partner"
	"github.com/waybill-hub/waybill/partners"
)

func TestSampleProfilesLoad(t *testing.T) {
	t.Parallel()
	reg, err := partner.LoadFS(partners.FS, "partners")
	require.NoError(t, err)
	require.Equal(t, []string{"acme", "globex"}, reg.IDs())
	acme, ok := reg.Profile("acme")
	require.True(t, ok)
	require.Equal(t, "997", acme.FunctionalAck())
	doc, ok := acme.Doc("856", partner.Outbound)
	require.True(t, ok)
	require.Equal(t, "4h0m0s", doc.AckSLA.String())
	require.Equal(t, waybill.MustDecimal("1"), acme.Validation.PriceTolerance)
	globex, _ := reg.Profile("globex")
	require.Equal(t, "999", globex.FunctionalAck())
	p, ok := reg.BySender("01", "081234567")
	require.True(t, ok)
	require.Equal(t, "globex", p.ID)
	hp, ok := reg.Partner("globex")
	require.True(t, ok)
	require.Equal(t, "GLOBEX", hp.Account)
	require.Equal(t, waybill.DuplicateFlag, hp.DuplicatePolicy)
}

const good = `
name: Test
erp: {account: T}
x12:
  sender_qualifier: ZZ
  sender_id: TEST
  receiver_qualifier: ZZ
  receiver_id: WAYBILL
  version: "004010"
  delimiters: {element: "*", component: ":", segment: "~"}
documents:
  - {set: "850", direction: in, mapping: v1}
transport: {}
`

func TestValidationErrorsNameFileAndField(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"good", good, nil},
		{"long sender id", strings.Replace(good, "sender_id: TEST", "sender_id: ABCDEFGHIJKLMNOPQ", 1),
			[]string{"partners/t.yaml: x12.sender_id must be 1-15 characters"}},
		{"several at once", strings.NewReplacer(`version: "004010"`, `version: "003040"`, `element: "*"`, `element: "~"`,
			"mapping: v1", "mapping: latest").Replace(good),
			[]string{"x12.version must be 004010 or 005010", "x12.delimiters.segment must differ from x12.delimiters.element",
				"documents[0].mapping must be a mapping version"}},
		{"unknown key", good + "colour: blue\n", []string{"field colour not found"}},
		{"no account", strings.Replace(good, "erp: {account: T}", "erp: {}", 1), []string{"erp.account is required"}},
		{"bad action", good + "validation: {price_mismatch: shrug}\n", []string{"validation.price_mismatch must be one of hold, reject, accept"}},
		{"missing env", good + "gs1_company_prefix: ${WAYBILL_TEST_UNSET_VAR}\n", []string{"environment variable WAYBILL_TEST_UNSET_VAR is not set"}},
		{"literal secret", good[:len(good)-len("transport: {}\n")] + `transport:
  sftp:
    remote: {addr: "h:22", user: u, password: hunter2, host_key: k, in_dir: i, out_dir: o}
`, []string{"transport.sftp.remote.password must be given as ${ENV}"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := partner.LoadFS(fstest.MapFS{"t.yaml": {Data: []byte(tt.yaml)}}, "partners")
			if tt.want == nil {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			var errs partner.Errors
			require.True(t, errors.As(err, &errs))
			for _, w := range tt.want {
				require.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestSecretFromEnvironment(t *testing.T) {
	t.Setenv("WAYBILL_TEST_SFTP_PASSWORD", "s3cret")
	y := good[:len(good)-len("transport: {}\n")] + `transport:
  sftp:
    remote: {addr: "h:22", user: u, password: "${WAYBILL_TEST_SFTP_PASSWORD}", host_key: k, in_dir: i, out_dir: o}
`
	reg, err := partner.LoadFS(fstest.MapFS{"t.yaml": {Data: []byte(y)}}, "partners")
	require.NoError(t, err)
	p, _ := reg.Profile("t")
	require.Equal(t, "s3cret", p.Transport.SFTP.Remote.Password)
}

func TestDuplicateIdentities(t *testing.T) {
	t.Parallel()
	_, err := partner.LoadFS(fstest.MapFS{"a.yaml": {Data: []byte(good)}, "b.yaml": {Data: []byte(good)}}, "partners")
	require.ErrorContains(t, err, "partners/b.yaml: x12.sender_id ZZ/TEST is already used by partners/a.yaml")
}

func TestLoadDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "t.yaml"), []byte(good), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "README.md"), []byte("not a profile"), 0o644))
	reg, err := partner.LoadDir(dir)
	require.NoError(t, err)
	require.Equal(t, []string{"t"}, reg.IDs())
}

// FuzzParse checks that no input makes the loader panic, and that an accepted profile validates.
func FuzzParse(f *testing.F) {
	f.Add([]byte(good))
	for _, name := range []string{"acme.yaml", "globex.yaml"} {
		data, _ := partners.FS.ReadFile(name)
		f.Add(data)
	}
	f.Add([]byte("x12: [1, 2"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, errs := partner.Parse("f.yaml", data)
		if p != nil && len(errs) == 0 && len(p.Validate()) != 0 {
			t.Fatal("Parse accepted a profile that Validate refuses")
		}
	})
}
