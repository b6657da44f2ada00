package transport_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/store"
	"github.com/waybill-hub/waybill/internal/transport"
)

const hanseFile = "Bestellnummer;Datum;Artikel;Menge;Einheit;Preis\n" +
	"CSV-1;26.11.2026;SKU-1;5;EA;12,50\n" +
	"CSV-1;26.11.2026;SKU-2;12;EA;3,10\n" +
	"CSV-2;26.11.2026;SKU-1;zwei;EA;12,50\n" +
	"CSV-3;26.11.2026;SKU-2;1;;3,10\n"

// A CSV partner's file put on the mailbox becomes orders with its mapping; under accept-good the
// bad row is reported with its row and column and the good orders go on.
func TestCSVPartnerAcceptGood(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, be string) {
		b := setup(t, be, options{csvPolicy: "accept-good"})
		ctx := context.Background()
		c, _ := b.sftpClient(t, "hanse", b.hanseKey)
		put(t, c, "/in/orders.csv", []byte(hanseFile))
		b.eventually(t, 10*time.Second, func() bool {
			return b.stateOf(t, "CSV-1") == waybill.OrderAccepted && b.stateOf(t, "CSV-3") == waybill.OrderAccepted
		})
		require.Empty(t, b.orders(t, "CSV-2"))
		o := b.orders(t, "CSV-1")[0].Order
		require.Len(t, o.Lines, 2)
		require.Equal(t, "3.1", o.Lines[1].UnitPrice.String())
		require.Equal(t, "EA", b.orders(t, "CSV-3")[0].Order.Lines[0].UOM, "the mapping's default unit")

		msgs := b.messages(t, "hanse")
		require.Len(t, msgs, 1)
		require.Equal(t, transport.DocCSV, msgs[0].DocType)
		rowErrs, err := transport.RowErrors(ctx, b.db, msgs[0])
		require.NoError(t, err)
		require.Len(t, rowErrs, 1)
		require.EqualValues(t, 4, rowErrs[0]["row"])
		require.EqualValues(t, 4, rowErrs[0]["column"])
		require.Equal(t, "Menge", rowErrs[0]["column_name"])
	})
}

// Under reject-file (the default) one bad row rejects the whole file: no order, and a dead letter
// naming the row and column.
func TestCSVPartnerRejectFile(t *testing.T) {
	t.Parallel()
	b := setup(t, "sqlite", options{})
	ctx := context.Background()
	c, _ := b.sftpClient(t, "hanse", b.hanseKey)
	put(t, c, "/in/orders.csv", []byte(hanseFile))
	var dls []*store.DeadLetter
	b.eventually(t, 10*time.Second, func() bool {
		dls, _ = b.db.DeadLetters(ctx, store.DeadLetterFilter{})
		return len(dls) == 1
	})
	require.Equal(t, "csv_rows", dls[0].Reason)
	require.Contains(t, dls[0].Message, "row 4, column 4 (Menge)")
	for _, po := range []string{"CSV-1", "CSV-2", "CSV-3"} {
		require.Empty(t, b.orders(t, po))
	}
}
