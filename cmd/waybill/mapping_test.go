package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/app"
	"github.com/waybill-hub/waybill/internal/config"
	"github.com/waybill-hub/waybill/internal/store"
	"github.com/waybill-hub/waybill/mappings"
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

func TestMappingDiffCommand(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg := config.Default()
	cfg.DataDir = dir
	st, err := app.OpenStorage(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	payload, err := mappings.FS.ReadFile("base/004010/850/v2/contact.x12")
	if err != nil {
		t.Fatal(err)
	}
	m := &store.Message{ID: "msg_diff", CorrelationID: "cor_diff", Direction: store.Inbound, Channel: waybill.ChannelAS2, Partner: "acme",
		DocType: "x12", Digest: "d", Size: int64(len(payload)), Payload: payload, State: store.MessageProcessed, ReceivedAt: time.Now().UTC()}
	if err := st.DB.InTx(ctx, func(tx *store.Tx) error { return tx.InsertMessage(ctx, m) }); err != nil {
		t.Fatal(err)
	}
	st.DB.Close()

	var out bytes.Buffer
	cmd := newMappingCmd(&globals{dataDir: dir, stdout: &out, stderr: &out})
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs([]string{"diff", "acme", "--doc", "850", "--from", "v1", "--to", "v2", "--message", "msg_diff"})
	if err := cmd.ExecuteContext(ctx); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, want := range []string{"--- v1", "+++ v2", `+     "requested_ship": "2026-12-02T00:00:00Z",`, `+         "name": "Jane Buyer",`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
