package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runCLI runs the command line in-process and returns its exit status and output.
func runCLI(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
	var out, errOut bytes.Buffer
	code := run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "waybill.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestBadConfigExitsWithFieldNamedErrors(t *testing.T) {
	tests := []struct {
		name string
		body string
		want []string // every fragment must appear in stderr
	}{
		{"unknown key", "listen: 127.0.0.1:0\npipline:\n  workers: 3\n",
			[]string{"waybill.yaml: pipline: unknown key"}},
		{"unknown nested key", "pipeline:\n  wokers: 3\n",
			[]string{"pipeline.wokers: unknown key"}},
		{"wrong type", "pipeline:\n  workers: many\n",
			[]string{"pipeline.workers", "expected a whole number", `"many"`}},
		{"bad duration", "pipeline:\n  backoff_base: soon\n",
			[]string{"pipeline.backoff_base", "duration"}},
		{"missing secret", "erp:\n  kind: odoo\n  odoo:\n    url: https://erp.example.com\n    database: prod\n    user: hub\n    api_key: ${WAYBILL_TEST_UNSET_SECRET}\n",
			[]string{"waybill.yaml:7", "erp.odoo.api_key", "WAYBILL_TEST_UNSET_SECRET is not set"}},
		{"secret left empty", "erp:\n  kind: odoo\n  odoo:\n    url: https://erp.example.com\n    database: prod\n    user: hub\n",
			[]string{"erp.odoo.api_key: is required"}},
		{"bad value", "database:\n  driver: oracle\nlog:\n  level: loud\n",
			[]string{"database.driver: must be sqlite or postgres", "log.level: must be debug, info, warn or error"}},
		{"not yaml", "listen: [unclosed\n", []string{"not valid YAML"}},
		{"bad gc pace", "runtime:\n  gc_percent: 5\n  memory_limit_mib: 8\n",
			[]string{"runtime.gc_percent: must be between 25 and 10000", "runtime.memory_limit_mib: must be at least 32"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeConfig(t, tc.body)
			code, _, stderr := runCLI(t, nil, "migrate", "--config", path)
			if code != 2 {
				t.Fatalf("exit status %d, want 2; stderr:\n%s", code, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
		})
	}
}

func TestConfigSubstitutesEnvironment(t *testing.T) {
	dir := t.TempDir()
	path := writeConfig(t, "data_dir: ${WAYBILL_TEST_DIR}\nlisten: ${WAYBILL_TEST_LISTEN:127.0.0.1:0}\n")
	code, out, stderr := runCLI(t, map[string]string{"WAYBILL_TEST_DIR": dir}, "migrate", "--config", path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(out, "schema up to date (sqlite)") {
		t.Fatalf("output: %s", out)
	}
	if _, err := os.Stat(filepath.Join(dir, "waybill.db")); err != nil {
		t.Fatalf("the store was not created in the substituted data_dir: %v", err)
	}
}

func TestDatabaseUnreachableAtStart(t *testing.T) {
	// A port nothing listens on: a clear error and exit status 1, no panic.
	code, _, stderr := runCLI(t, nil, "migrate", "--database-url", "postgres://waybill@127.0.0.1:1/none?sslmode=disable&connect_timeout=2")
	if code != 1 {
		t.Fatalf("exit status %d, want 1; stderr:\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "connecting to database") || strings.Contains(stderr, "panic") {
		t.Fatalf("stderr: %s", stderr)
	}
}

func TestEveryCommandHasHelp(t *testing.T) {
	root := newRootCmd(&bytes.Buffer{}, &bytes.Buffer{})
	var walk func(path string, c interface{ HasSubCommands() bool })
	_ = walk
	for _, c := range root.Commands() {
		if c.Short == "" {
			t.Errorf("command %q has no short help", c.Name())
		}
		for _, sub := range c.Commands() {
			if sub.Short == "" {
				t.Errorf("command %q %q has no short help", c.Name(), sub.Name())
			}
		}
	}
}
