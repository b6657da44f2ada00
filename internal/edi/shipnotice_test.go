package edi

import (
	"bytes"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/partner"
	"github.com/waybill-hub/waybill/x12"
)

func TestBuildShipNoticePacking(t *testing.T) {
	t.Parallel()
	o := &waybill.Order{ID: "ord_1", PONumber: "PO-1", Lines: []waybill.Line{
		{Number: "1", BuyerItem: "B-1", Quantity: waybill.MustDecimal("10"), UOM: "EA", Product: waybill.ERPRef{ID: 1}, ERPLine: waybill.ERPRef{ID: 11}},
		{Number: "2", VendorItem: "SKU-2", Quantity: waybill.MustDecimal("3"), UOM: "EA", Product: waybill.ERPRef{ID: 2}, ERPLine: waybill.ERPRef{ID: 12}},
	}}
	d := waybill.Delivery{Ref: waybill.ERPRef{Name: "WH/OUT/1"}, State: "done", Moves: []waybill.DeliveryMove{
		{Product: waybill.ERPRef{ID: 1}, SaleLine: waybill.ERPRef{ID: 11}, Done: waybill.MustDecimal("10")},
		{Product: waybill.ERPRef{ID: 2}, Done: waybill.MustDecimal("3")}, // matched by product
	}}
	tests := []struct {
		name       string
		pack       partner.Packing
		cartons    int
		pallets    int
		hl         int
		firstCount string
	}{
		{name: "one carton per line", cartons: 2, hl: 6, firstCount: "10"},
		{name: "4 units per carton", pack: partner.Packing{UnitsPerCarton: 4}, cartons: 4, hl: 10, firstCount: "4"},
		{name: "pallets of 3 cartons", pack: partner.Packing{UnitsPerCarton: 4, CartonsPerPallet: 3}, cartons: 4, pallets: 2, hl: 12, firstCount: "4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			n := int64(0)
			next := func() (string, error) { n++; return SSCC("0614141", n) }
			sn, err := BuildShipNotice(o, nil, d, tt.pack, time.Now(), next)
			require.NoError(t, err)
			require.Equal(t, tt.cartons, sn.CartonCount)
			require.Len(t, sn.Tares, tt.pallets)
			require.Equal(t, tt.hl, sn.HLCount, "S + O + tares + packs + items")
			got := sn.Shipment.ShippedByLine()
			require.Equal(t, "10", got["1"].String())
			require.Equal(t, "3", got["2"].String())
			first := sn.Shipment.AllPackages()[0].Contents[0]
			require.Equal(t, tt.firstCount, first.Quantity.String())
			if tt.pallets > 0 {
				require.Equal(t, "2", sn.Tares[0].Parent)
				require.Equal(t, sn.Tares[0].HL, sn.Tares[0].Packs[0].Parent)
				require.Len(t, sn.Tares[1].Packs, 1, "4 cartons on pallets of 3: 3 + 1")
			}
		})
	}
	_, err := BuildShipNotice(o, nil, waybill.Delivery{Moves: []waybill.DeliveryMove{{Product: waybill.ERPRef{ID: 9}, Done: waybill.MustDecimal("1")}}},
		partner.Packing{}, time.Now(), func() (string, error) { return "", fmt.Errorf("unused") })
	require.ErrorIs(t, err, errNotOnOrder)
}

// BenchmarkShipNotice packs and renders one 856 of a 50-line delivery of 48 units a line in
// cartons of 12 on pallets of 20 (200 cartons, 10 pallets, 412 HL levels), without the store.
func BenchmarkShipNotice(b *testing.B) {
	lib := NewLibrary(os.DirFS("../../mappings"))
	m, err := lib.Base("004010", "856", "v1")
	require.NoError(b, err)
	o := &waybill.Order{ID: "ord_1", PONumber: "PO-1"}
	d := waybill.Delivery{Ref: waybill.ERPRef{Name: "WH/OUT/1"}, State: "done", Carrier: "UPS", TrackingRef: "1Z", DoneAt: time.Now()}
	for i := 1; i <= 50; i++ {
		o.Lines = append(o.Lines, waybill.Line{Number: fmt.Sprint(i), BuyerItem: fmt.Sprintf("B-%d", i), Quantity: waybill.MustDecimal("48"),
			UOM: "EA", Product: waybill.ERPRef{ID: int64(i)}, ERPLine: waybill.ERPRef{ID: int64(100 + i)}})
		d.Moves = append(d.Moves, waybill.DeliveryMove{Product: waybill.ERPRef{ID: int64(i)}, SaleLine: waybill.ERPRef{ID: int64(100 + i)},
			Done: waybill.MustDecimal("48")})
	}
	pack := partner.Packing{UnitsPerCarton: 12, CartonsPerPallet: 20}
	b.ReportAllocs()
	for b.Loop() {
		n := int64(0)
		sn, err := BuildShipNotice(o, nil, d, pack, time.Now(), func() (string, error) { n++; return SSCC("0614141", n) })
		if err != nil {
			b.Fatal(err)
		}
		tree, err := ToTree(sn)
		if err != nil {
			b.Fatal(err)
		}
		var buf bytes.Buffer
		w := x12.NewWriter(&buf, x12.DefaultDelimiters)
		if err := w.BeginInterchange(&x12.Interchange{SenderQualifier: "ZZ", SenderID: "US", ReceiverQualifier: "ZZ", ReceiverID: "THEM",
			Date: "261126", Time: "1200", Version: "00401", ControlNumber: "000000001", AckRequested: "0", Usage: "P"}); err != nil {
			b.Fatal(err)
		}
		if err := w.BeginGroup(&x12.Group{FunctionalID: "SH", SenderID: "US", ReceiverID: "THEM", Date: "20261126", Time: "1200",
			ControlNumber: "1", Version: "004010"}); err != nil {
			b.Fatal(err)
		}
		if err := w.BeginSet("856", "0001", ""); err != nil {
			b.Fatal(err)
		}
		if err := m.Render(tree, w); err != nil {
			b.Fatal(err)
		}
		if err := w.EndSet(); err != nil {
			b.Fatal(err)
		}
		if sn.HLCount != 412 {
			b.Fatalf("HL count %d", sn.HLCount)
		}
	}
}
