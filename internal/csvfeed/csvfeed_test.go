package csvfeed

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/waybill-hub/waybill"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

func loadMapping(t testing.TB, name string) *Mapping {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	m, err := LoadMapping(name, data)
	require.NoError(t, err)
	return m
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -update to create it")
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got):\n%s", path, diff)
	}
}

var eqDecimal = cmp.Comparer(func(a, b waybill.Decimal) bool { return a == b })

func d(s string) waybill.Decimal { return waybill.MustDecimal(s) }

const euOrders = "\ufeffBestellnummer;Datum;Lieferort;Lieferort Name;Pos;Artikel;Bezeichnung;Menge;Einheit;Preis;Liefertermin\n" +
	"4500001;26.11.2026;L01;\"Lager Nord; Tor 3\";10;SKU-1;\"Schraube \"\"M6\"\"\";1.200;CA;12,50;01.12.2026 08:30\n" +
	"4500001;26.11.2026;L01;\"Lager Nord; Tor 3\";20;SKU-2;\"zwei\nZeilen\";3,5;;0,125;01.12.2026 08:30\n" +
	";;;;;;;;;;\n" +
	"4500002;27.11.2026;L02;Filiale;;SKU-3;;2;;;\n"

func TestDecodeOrdersEuropean(t *testing.T) {
	t.Parallel()
	m := loadMapping(t, "orders-eu.yaml")
	orders, rowErrs, err := DecodeOrders(strings.NewReader(euOrders), m)
	require.NoError(t, err)
	require.Empty(t, rowErrs)
	berlin, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	want := []waybill.Order{{
		Partner:      "hanse",
		PONumber:     "4500001",
		PODate:       time.Date(2026, 11, 26, 0, 0, 0, 0, berlin).UTC(),
		Currency:     "EUR",
		RequestedDlv: time.Date(2026, 12, 1, 8, 30, 0, 0, berlin).UTC(),
		ShipTo:       waybill.Party{Role: waybill.RoleShipTo, Code: "L01", Name: "Lager Nord; Tor 3"},
		Lines: []waybill.Line{
			{Number: "10", VendorItem: "SKU-1", Description: `Schraube "M6"`, Quantity: d("1200"), UOM: "CA", UnitPrice: d("12.5"), HasUnitPrice: true, Qty: waybill.LineQty{Ordered: d("1200")}},
			{Number: "20", VendorItem: "SKU-2", Description: "zwei\nZeilen", Quantity: d("3.5"), UOM: "EA", UnitPrice: d("0.125"), HasUnitPrice: true, Qty: waybill.LineQty{Ordered: d("3.5")}},
		},
	}, {
		Partner:  "hanse",
		PONumber: "4500002",
		PODate:   time.Date(2026, 11, 27, 0, 0, 0, 0, berlin).UTC(),
		Currency: "EUR",
		ShipTo:   waybill.Party{Role: waybill.RoleShipTo, Code: "L02", Name: "Filiale"},
		Lines: []waybill.Line{
			{Number: "1", VendorItem: "SKU-3", Quantity: d("2"), UOM: "EA", Qty: waybill.LineQty{Ordered: d("2")}},
		},
	}}
	if diff := cmp.Diff(want, orders, eqDecimal); diff != "" {
		t.Fatalf("orders differ (-want +got):\n%s", diff)
	}
}

const badOrders = "Bestellnummer;Datum;Pos;Artikel;Menge;Preis\n" + // row 1
	"A1;26.11.2026;1;SKU-1;2;1,00\n" + // row 2: good
	"A1;26.11.2026;2;SKU-2;zwei;1,00\n" + // row 3: bad quantity
	"B1;26.11.2026;1;SKU-1;1;1,00\n" + // row 4: good
	"B1;27.11.2026;2;SKU-2;1;1,00\n" + // row 5: header field differs
	"C1;31.02.2026;1;;1;1.0.0\n" + // row 6: bad date, missing item, bad price
	"D1;26.11.2026;1;SKU-1;1;1,00\n" + // row 7: good
	"D1;26.11.2026;1;SKU-9;1;1,00\n" + // row 8: line number twice
	"E1;26.11.2026;1;SKU-1;1.234,5;2\n" + // row 9: good, thousands
	";26.11.2026;1;SKU-1;1;1\n" // row 10: no PO number

func badMapping(policy Policy) *Mapping {
	return &Mapping{Name: "test", Document: DocOrder, Delimiter: ";", DecimalComma: true, Thousands: ".",
		DateFormat: "DD.MM.YYYY", Policy: policy, Columns: []Column{
			{Field: "po_number", Header: "Bestellnummer"},
			{Field: "po_date", Header: "Datum"},
			{Field: "line.number", Header: "Pos"},
			{Field: "line.vendor_item", Header: "Artikel", Required: true},
			{Field: "line.quantity", Header: "Menge", Required: true},
			{Field: "line.unit_price", Header: "Preis"},
		}}
}

var wantBadRows = []RowError{
	{Row: 3, Line: 3, Column: 5, ColumnName: "Menge", Field: "line.quantity", Value: "zwei", Message: "not a number in this partner's format"},
	{Row: 5, Line: 5, Column: 2, ColumnName: "Datum", Field: "po_date", Value: "2026-11-27T00:00:00Z", Message: `differs from row 4 of the same order, which has "2026-11-26T00:00:00Z"`},
	{Row: 6, Line: 6, Column: 2, ColumnName: "Datum", Field: "po_date", Value: "31.02.2026", Message: "not a date in the format DD.MM.YYYY"},
	{Row: 6, Line: 6, Column: 4, ColumnName: "Artikel", Field: "line.vendor_item", Message: "a value is required"},
	{Row: 6, Line: 6, Column: 6, ColumnName: "Preis", Field: "line.unit_price", Value: "1.0.0", Message: "misplaced thousands separator \".\""},
	{Row: 8, Line: 8, Column: 3, ColumnName: "Pos", Field: "line.number", Value: "1", Message: "line 1 appears twice in order D1"},
	{Row: 10, Line: 10, Column: 1, ColumnName: "Bestellnummer", Field: "po_number", Message: "a value is required"},
}

func TestDecodeOrdersBadRowsAcceptGood(t *testing.T) {
	t.Parallel()
	orders, rowErrs, err := DecodeOrders(strings.NewReader(badOrders), badMapping(PolicyAcceptGood))
	require.NoError(t, err)
	if diff := cmp.Diff(wantBadRows, rowErrs, eqDecimal); diff != "" {
		t.Fatalf("row errors differ (-want +got):\n%s", diff)
	}
	var pos []string
	for _, o := range orders {
		pos = append(pos, o.PONumber)
	}
	require.Equal(t, []string{"E1"}, pos, "A1, B1, C1 and D1 each have a bad row")
	require.Equal(t, d("1234.5"), orders[0].Lines[0].Quantity)
	require.Equal(t, `row 3, column 5 (Menge): "zwei": not a number in this partner's format`, rowErrs[0].Error())
}

func TestDecodeOrdersBadRowsRejectFile(t *testing.T) {
	t.Parallel()
	orders, rowErrs, err := DecodeOrders(strings.NewReader(badOrders), badMapping(""))
	require.Error(t, err)
	require.Nil(t, orders)
	require.Len(t, rowErrs, len(wantBadRows))
	require.Equal(t, waybill.EINVALID, waybill.Code(err))
	require.Equal(t, "csv_rows", waybill.Reason(err))
	var fe *FileError
	require.True(t, errors.As(err, &fe))
	require.Equal(t, 9, fe.Read)
	require.Contains(t, waybill.Message(err), "row 3, column 5 (Menge)")
}

func TestDecodeFileProblems(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		input  string
		reason string
		want   string
	}{
		{"missing column", "Bestellnummer;Datum;Pos;Artikel;Preis\nA;26.11.2026;1;S;1\n", "csv_columns", `required column "Menge" is missing`},
		{"empty file", "", "csv_columns", "header row was expected"},
		{"bare quote", "Bestellnummer;Datum;Pos;Artikel;Menge;Preis\nA;26.11.2026;1;S\"x;1;1\n", "csv_syntax", "row 2, column 17"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := DecodeOrders(strings.NewReader(tt.input), badMapping(PolicyAcceptGood))
			require.Error(t, err)
			require.Equal(t, tt.reason, waybill.Reason(err))
			require.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestDecodeByPositionTabs(t *testing.T) {
	t.Parallel()
	m := &Mapping{Name: "pos", Document: DocOrder, Delimiter: "tab", NoHeader: true, DateFormat: "YYYYMMDD", SkipRows: 1,
		Columns: []Column{
			{Field: "po_number", Position: 2},
			{Field: "line.quantity", Position: 4},
			{Field: "line.buyer_item", Position: 3},
			{Field: "po_date", Position: 1},
		}}
	in := "EXPORT 2026-11-26\n20261126\tP-9\tB-1\t5\n20261126\tP-9\tB-2\t7.25\n"
	orders, rowErrs, err := DecodeOrders(strings.NewReader(in), m)
	require.NoError(t, err)
	require.Empty(t, rowErrs)
	require.Len(t, orders, 1)
	require.Equal(t, "P-9", orders[0].PONumber)
	require.Equal(t, time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC), orders[0].PODate)
	require.Len(t, orders[0].Lines, 2)
	require.Equal(t, "2", orders[0].Lines[1].Number)
	require.Equal(t, d("7.25"), orders[0].Lines[1].Quantity)
}

func TestParseDecimal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		comma     bool
		thousands string
		in        string
		want      string // "" means an error
	}{
		{false, "", "12.50", "12.5"},
		{false, "", "-3", "-3"},
		{false, ",", "1,234,567.891", "1234567.891"},
		{false, ",", "1,23", ""},
		{false, "", "1,5", ""},
		{true, ".", "1.234,50", "1234.5"},
		{true, ".", "12,5", "12.5"},
		{true, ".", "12.5", ""},
		{true, " ", "1 234,5", "1234.5"},
		{true, "'", "-1'000", "-1000"},
		{true, "", "0,1234567", ""},
		{false, "", "abc", ""},
		{false, "", "1e3", ""},
	}
	for _, tt := range tests {
		m := &Mapping{DecimalComma: tt.comma, Thousands: tt.thousands}
		got, err := m.parseDecimal(tt.in)
		if tt.want == "" {
			require.Error(t, err, "parse %q (comma %v, thousands %q) = %s", tt.in, tt.comma, tt.thousands, got)
			continue
		}
		require.NoError(t, err, "parse %q", tt.in)
		require.Equal(t, tt.want, got.String(), "parse %q", tt.in)
	}
}

func TestFormatDecimal(t *testing.T) {
	t.Parallel()
	m := &Mapping{DecimalComma: true, Thousands: "."}
	require.Equal(t, "1.234.567,50", m.formatDecimal(d("1234567.5"), 2))
	require.Equal(t, "-999,1", m.formatDecimal(d("-999.1"), -1))
	require.Equal(t, "-1.000", m.formatDecimal(d("-1000"), 0))
	back, err := m.parseDecimal(m.formatDecimal(d("-1234567.125"), -1))
	require.NoError(t, err)
	require.Equal(t, d("-1234567.125"), back)
}

func TestDateFormats(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"YYYY-MM-DD":       "2006-01-02",
		"DD.MM.YYYY":       "02.01.2006",
		"MM/DD/YY HH:mm":   "01/02/06 15:04",
		"YYYYMMDDHHmmss":   "20060102150405",
		"D/M/YYYY":         "2/1/2006",
		"2006-01-02T15:04": "2006-01-02T15:04",
	}
	for in, want := range tests {
		require.Equal(t, want, layout(in), in)
		require.NoError(t, checkDateFormat(in), in)
	}
	require.Error(t, checkDateFormat("HH:mm"))
}

func TestValidate(t *testing.T) {
	t.Parallel()
	base := func() Mapping {
		return Mapping{Name: "m", Document: DocOrder, Columns: []Column{{Field: "po_number"}, {Field: "line.quantity"}}}
	}
	tests := []struct {
		name string
		mod  func(*Mapping)
		want string
	}{
		{"ok", func(*Mapping) {}, ""},
		{"document", func(m *Mapping) { m.Document = "quote" }, `document "quote"`},
		{"delimiter", func(m *Mapping) { m.Delimiter = ":" }, `delimiter ":"`},
		{"policy", func(m *Mapping) { m.Policy = "maybe" }, `policy "maybe"`},
		{"thousands is decimal", func(m *Mapping) { m.DecimalComma, m.Thousands = true, "," }, "also the decimal separator"},
		{"thousands is delimiter", func(m *Mapping) { m.Delimiter, m.Thousands = ";", ";" }, "thousands"},
		{"zone", func(m *Mapping) { m.TimeZone = "Mars/Olympus" }, "time_zone"},
		{"date format", func(m *Mapping) { m.DateFormat = "HH:mm" }, "date_format"},
		{"unknown field", func(m *Mapping) { m.Columns[1].Field = "line.qty" }, `columns[1].field "line.qty" is not a order field`},
		{"field twice", func(m *Mapping) { m.Columns[1].Field = "po_number" }, "already mapped by columns[0]"},
		{"no key", func(m *Mapping) { m.Columns[0].Field = "account" }, `key field "po_number" must be mapped`},
		{"no position without header", func(m *Mapping) { m.NoHeader = true }, "columns[0] (po_number): position is required"},
		{"position twice", func(m *Mapping) { m.Columns[0].Position, m.Columns[1].Position = 2, 2 }, "position 2 is already used"},
		{"places", func(m *Mapping) { p := 9; m.Columns[1].Places = &p }, "columns[1].places"},
		{"no columns", func(m *Mapping) { m.Columns = nil }, "at least one column"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := base()
			tt.mod(&m)
			err := m.Validate()
			if tt.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.want)
			require.Equal(t, waybill.EINVALID, waybill.Code(err))
		})
	}
}

func TestLoadMappingRefusesUnknownKeys(t *testing.T) {
	t.Parallel()
	_, err := LoadMapping("partners/x.yaml", []byte("name: x\ndocument: order\ndelimeter: ';'\ncolumns: [{field: po_number}]\n"))
	require.ErrorContains(t, err, "partners/x.yaml")
	require.ErrorContains(t, err, "delimeter")
}

func sampleShipments() []waybill.Shipment {
	return []waybill.Shipment{{
		ID: "WH/OUT/00042", PONumbers: []string{"4500001", "4500007"}, CarrierSCAC: "UPSN", TrackingNumber: "1Z999",
		ShipDate: time.Date(2026, 11, 27, 15, 0, 0, 0, time.UTC), Weight: d("412.5"), WeightUOM: "LB",
		ShipTo: waybill.Party{Role: waybill.RoleShipTo, Name: "Acme DC, East", Address: waybill.Address{Lines: []string{`Dock "B"`}}},
		Pallets: []waybill.Pallet{{SSCC: "000123450000000017", Packages: []waybill.Package{
			{SSCC: "000123450000000024", Contents: []waybill.PackageItem{
				{LineNumber: "1", VendorItem: "SKU-1", Quantity: d("12"), UOM: "EA"},
				{LineNumber: "2", VendorItem: "SKU-2", Quantity: d("1.5"), UOM: "KG"},
			}},
		}}},
		Packages: []waybill.Package{{SSCC: "000123450000000031", Contents: []waybill.PackageItem{
			{LineNumber: "3", VendorItem: "SKU-3", Quantity: d("4"), UOM: "CA"},
		}}},
	}}
}

func TestEncodeShipmentsGolden(t *testing.T) {
	t.Parallel()
	m := loadMapping(t, "shipments.yaml")
	var buf bytes.Buffer
	require.NoError(t, EncodeShipments(&buf, m, sampleShipments()))
	golden(t, "shipments.csv", buf.Bytes())

	// What was written reads back to the same shipment (the constant column is ignored).
	back, rowErrs, err := DecodeShipments(&buf, m)
	require.NoError(t, err)
	require.Empty(t, rowErrs)
	want := sampleShipments()
	want[0].Partner = "acme"
	want[0].WeightUOM = ""                                           // not mapped
	want[0].ShipDate = time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC) // the format keeps the day only
	if diff := cmp.Diff(want, back, eqDecimal); diff != "" {
		t.Fatalf("round trip differs (-want +got):\n%s", diff)
	}
}

func sampleInvoices() []waybill.Invoice {
	return []waybill.Invoice{{
		Number: "INV/2026/0042", InvoiceDate: time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC), PONumber: "4500001", Currency: "EUR",
		Lines: []waybill.InvoiceLine{
			{LineNumber: "10", VendorItem: "SKU-1", Quantity: d("1200"), UnitPrice: d("12.5"), Amount: d("15000")},
			{LineNumber: "20", VendorItem: "SKU-2", Quantity: d("3.5"), UnitPrice: d("0.125"), Amount: d("0.44")},
		},
		Untaxed: d("15000.44"), TaxTotal: d("2850.08"), Total: d("17850.52"),
	}}
}

func TestEncodeInvoicesGolden(t *testing.T) {
	t.Parallel()
	m := loadMapping(t, "invoices.yaml")
	var buf bytes.Buffer
	require.NoError(t, EncodeInvoices(&buf, m, sampleInvoices()))
	golden(t, "invoices.csv", buf.Bytes())

	back, rowErrs, err := DecodeInvoices(&buf, m)
	require.NoError(t, err)
	require.Empty(t, rowErrs)
	want := sampleInvoices()
	want[0].Partner = "hanse"
	want[0].Lines[1].UnitPrice = d("0.13") // written with two places
	if diff := cmp.Diff(want, back, eqDecimal); diff != "" {
		t.Fatalf("round trip differs (-want +got):\n%s", diff)
	}
}

func TestEncodeOrdersGoldenAndRoundTrip(t *testing.T) {
	t.Parallel()
	m := loadMapping(t, "orders-eu.yaml")
	orders, _, err := DecodeOrders(strings.NewReader(euOrders), m)
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, EncodeOrders(&buf, m, orders))
	golden(t, "orders-eu.csv", buf.Bytes())
	back, rowErrs, err := DecodeOrders(&buf, m)
	require.NoError(t, err)
	require.Empty(t, rowErrs)
	if diff := cmp.Diff(orders, back, eqDecimal); diff != "" {
		t.Fatalf("round trip differs (-want +got):\n%s", diff)
	}
}

func TestWrongDocument(t *testing.T) {
	t.Parallel()
	m := loadMapping(t, "invoices.yaml")
	_, _, err := DecodeOrders(strings.NewReader(""), m)
	require.ErrorContains(t, err, "is for invoice documents, not order")
	err = EncodeShipments(&bytes.Buffer{}, m, nil)
	require.ErrorContains(t, err, "is for invoice documents, not shipment")
}

func TestFields(t *testing.T) {
	t.Parallel()
	require.Contains(t, Fields(DocOrder), "ship_to.postal_code")
	require.Contains(t, Fields(DocShipment), "package.sscc")
	require.Contains(t, Fields(DocInvoice), "remit_to.name")
	require.Nil(t, Fields("quote"))
}
