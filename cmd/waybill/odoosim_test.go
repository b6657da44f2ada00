package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestOdooSimCmdServesUntilCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	cmd := newOdooSimCmd()
	cmd.SetArgs([]string{"--listen", "127.0.0.1:0", "--version", "18.0", "--seed-demo"})
	cmd.SetOut(pw)
	done := make(chan error, 1)
	go func() {
		done <- cmd.ExecuteContext(ctx)
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	if !sc.Scan() {
		t.Fatal("no output")
	}
	first := sc.Text()
	_, url, ok := strings.Cut(first, "listening on ")
	if !ok {
		t.Fatalf("first line %q has no URL", first)
	}
	go io.Copy(io.Discard, pr)
	resp, err := http.Get(url + "/web/version")
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	json.NewDecoder(resp.Body).Decode(&v)
	resp.Body.Close()
	if v["version"] != "18.0" {
		t.Fatalf("/web/version = %v", v)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("command returned %v", err)
	}
}

func TestOdooSimCmdRejectsBadFlags(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"--version", "16.0"},
		{"--profile", "fast"},
		{"--listen", "256.0.0.1:bad"},
	} {
		cmd := newOdooSimCmd()
		cmd.SetArgs(args)
		cmd.SetOut(io.Discard)
		cmd.SetErr(io.Discard)
		err := cmd.Execute()
		var ee *ExitError
		if !errors.As(err, &ee) || ee.Code != 2 {
			t.Errorf("%v: got %v, want exit status 2", args, err)
		}
	}
}
