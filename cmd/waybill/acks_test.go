package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/waybill-hub/waybill/internal/app"
	"github.com/waybill-hub/waybill/internal/config"
	"github.com/waybill-hub/waybill/internal/store"
)

func TestAcksOverdue(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	run := func() (string, error) {
		var out bytes.Buffer
		cmd := newAcksCmd(&globals{dataDir: dir, stdout: &out, stderr: &out})
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		cmd.SetArgs([]string{"overdue"})
		err := cmd.ExecuteContext(ctx)
		return out.String(), err
	}
	out, err := run()
	if err != nil || !strings.Contains(out, "no acknowledgement is overdue") {
		t.Fatalf("empty store: %v\n%s", err, out)
	}
	cfg := config.Default()
	cfg.DataDir = dir
	st, err := app.OpenStorage(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	err = st.DB.InTx(ctx, func(tx *store.Tx) error {
		return tx.InsertEDIOutbound(ctx, &store.EDIOutbound{MessageID: "out_855", Partner: "acme", SetID: "855", Interchange: "000000002",
			Group: "2", SetControl: "0002", QueuedAt: now.Add(-30 * time.Hour), AckDueAt: now.Add(-6 * time.Hour)})
	})
	st.DB.Close()
	if err != nil {
		t.Fatal(err)
	}
	out, err = run()
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != 1 {
		t.Fatalf("want exit status 1, got %v\n%s", err, out)
	}
	for _, want := range []string{"acme", "855", "000000002", "out_855", "6h0m0s"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
