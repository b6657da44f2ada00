package transport_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/as2"
	"github.com/waybill-hub/waybill/internal/edi"
	"github.com/waybill-hub/waybill/internal/partner"
	"github.com/waybill-hub/waybill/internal/store"
	"github.com/waybill-hub/waybill/mappings"
	"github.com/waybill-hub/waybill/partners"
)

// An X12 850 sent over AS2 is stored, typed as X12 from its content type, and runs through the
// EDI flow to an order accepted by the ERP, with its 997 and 855 produced.
func TestAS2InboundX12Order(t *testing.T) {
	t.Parallel()
	b := setup(t, "sqlite", options{})
	ctx := context.Background()
	reg, err := partner.LoadFS(partners.FS, "partners")
	require.NoError(t, err)
	flow, err := edi.New(edi.Options{Hub: b.app.Hub, Partners: reg.WithFallback(b.app.Hub.Partners()), Library: edi.NewLibrary(mappings.FS),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	flow.Install()
	x12, err := mappings.FS.ReadFile("base/004010/850/v1/basic.x12")
	require.NoError(t, err)
	res, err := b.acmeSender.Send(ctx, waybill.OutboundMessage{ID: "acme-850-1", Partner: "hub", DocType: "850",
		ContentType: "application/edi-x12", Payload: x12})
	require.NoError(t, err)
	require.Contains(t, res.Meta[as2.MetaMDNDisposition], "processed")
	b.eventually(t, 10*time.Second, func() bool { return b.stateOf(t, "PO-1001") == waybill.OrderAccepted })
	in := b.messages(t, "acme")
	var x12In *store.Message
	for _, m := range in {
		if m.Direction == store.Inbound {
			x12In = m
		}
	}
	require.NotNil(t, x12In)
	require.Equal(t, "x12", x12In.DocType)
	b.eventually(t, 10*time.Second, func() bool {
		ms, err := b.db.Messages(ctx, store.MessageFilter{Partner: "acme", Direction: store.Outbound})
		require.NoError(t, err)
		docs := map[string]bool{}
		for _, m := range ms {
			docs[m.DocType] = true
		}
		return docs["997"] && docs["855"]
	})
}
