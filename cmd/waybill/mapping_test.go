package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestMappingTestCommand(t *testing.T) {
	var out bytes.Buffer
	cmd := newMappingCmd(&globals{stdout: &out, stderr: &out})
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs([]string{"test"})
	if err := cmd.Execute(); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), ", 0 failed") {
		t.Fatalf("unexpected output:\n%s", out.String())
	}
}
