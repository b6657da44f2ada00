package csvfeed

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/waybill-hub/waybill"
)

// Document names the canonical document a mapping reads or writes.
type Document string

const (
	DocOrder    Document = "order"    // waybill.Order, one row per order line.
	DocShipment Document = "shipment" // waybill.Shipment, one row per package item.
	DocInvoice  Document = "invoice"  // waybill.Invoice, one row per invoice line.
)

// Policy says what a file with bad rows becomes.
type Policy string

const (
	// PolicyRejectFile rejects the whole file when any row is bad: nothing is accepted.
	PolicyRejectFile Policy = "reject_file"
	// PolicyAcceptGood keeps every document whose rows are all good and reports the others.
	PolicyAcceptGood Policy = "accept_good"
)

// Mapping is one partner's CSV layout for one document. The zero values of the optional fields
// are the common case: comma-separated, a header row, '.' decimals, ISO dates, UTC.
//
// A Mapping must not be changed while it is in use; it is safe for concurrent use otherwise.
type Mapping struct {
	Name     string   `yaml:"name"`     // for messages: "acme-orders-v2"
	Partner  string   `yaml:"partner"`  // set on decoded documents when not empty
	Document Document `yaml:"document"` // order, shipment or invoice
	// Key is the field that groups rows into documents; default po_number (order), shipment_id
	// (shipment), invoice_number (invoice).
	Key string `yaml:"key"`
	// Delimiter is one of "," ";" "|" or a tab (written "\t" or "tab"). Default ",".
	Delimiter string `yaml:"delimiter"`
	// NoHeader says the file has no header row; every column then needs a position.
	NoHeader bool `yaml:"no_header"`
	// SkipRows are rows before the header (or the data) to ignore: banners, titles.
	SkipRows int `yaml:"skip_rows"`
	// Comment, when set, is a character starting lines to ignore ("#").
	Comment string `yaml:"comment"`
	// LazyQuotes accepts quotes inside unquoted fields when reading.
	LazyQuotes bool `yaml:"lazy_quotes"`
	// QuoteAll quotes every field when writing; otherwise only fields that need it.
	QuoteAll bool `yaml:"quote_all"`
	// CRLF ends written lines with "\r\n" instead of "\n".
	CRLF bool `yaml:"crlf"`
	// BOM starts written files with a UTF-8 byte order mark (some spreadsheets need it). A BOM is
	// always accepted when reading.
	BOM bool `yaml:"bom"`
	// DecimalComma says numbers use ',' before the decimals ("12,50").
	DecimalComma bool `yaml:"decimal_comma"`
	// Thousands is the grouping separator accepted when reading and used when writing
	// ("", ".", ",", " ", "'"). It must differ from the decimal separator.
	Thousands string `yaml:"thousands"`
	// DateFormat is the default date format of date columns (see the package documentation).
	// Default "YYYY-MM-DD".
	DateFormat string `yaml:"date_format"`
	// TimeZone is the IANA zone the partner's dates are in; default UTC.
	TimeZone string `yaml:"time_zone"`
	// Policy is reject_file (default) or accept_good.
	Policy  Policy   `yaml:"policy"`
	Columns []Column `yaml:"columns"`
}

// Column maps one CSV column.
type Column struct {
	// Field is the canonical field (see Fields); empty for a column to ignore when reading and to
	// write as Value (or empty).
	Field string `yaml:"field"`
	// Header is the column's name in the header row (matched ignoring case and surrounding
	// blanks); default the field name. Ignored when Position is set and the file has no header.
	Header string `yaml:"header"`
	// Position is the 1-based column number. When set it wins over Header when reading.
	Position int `yaml:"position"`
	// Required makes an empty cell an error.
	Required bool `yaml:"required"`
	// Default is used when the cell is empty (reading) or the value is empty (writing).
	Default string `yaml:"default"`
	// Value is a constant written in this column; reading ignores the cell.
	Value string `yaml:"value"`
	// DateFormat overrides the mapping's date format for this column.
	DateFormat string `yaml:"date_format"`
	// Places, when set, writes decimals with exactly this many places.
	Places *int `yaml:"places"`
}

// LoadMapping parses a YAML mapping, refusing unknown keys, and validates it. name says where it
// came from ("partners/acme.yaml") for error messages.
func LoadMapping(name string, data []byte) (*Mapping, error) {
	var m Mapping
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&m); err != nil {
		return nil, waybill.Errorf(waybill.EINVALID, "csv_mapping", "%s: %v", name, err)
	}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &m, nil
}

func (m *Mapping) comma() rune {
	switch m.Delimiter {
	case "", ",":
		return ','
	case "\t", "tab", `\t`:
		return '\t'
	}
	return rune(m.Delimiter[0])
}

func (m *Mapping) policy() Policy {
	if m.Policy == "" {
		return PolicyRejectFile
	}
	return m.Policy
}

func (m *Mapping) key() string {
	if m.Key != "" {
		return m.Key
	}
	switch m.Document {
	case DocShipment:
		return "shipment_id"
	case DocInvoice:
		return "invoice_number"
	}
	return "po_number"
}

func (m *Mapping) location() *time.Location {
	if m.TimeZone == "" {
		return time.UTC
	}
	loc, err := time.LoadLocation(m.TimeZone)
	if err != nil {
		return time.UTC // Validate reports it
	}
	return loc
}

func (m *Mapping) dateLayout(c Column) string {
	f := c.DateFormat
	if f == "" {
		f = m.DateFormat
	}
	if f == "" {
		f = "YYYY-MM-DD"
	}
	return layout(f)
}

func (m *Mapping) name() string {
	if m.Name != "" {
		return m.Name
	}
	return string(m.Document)
}

// Validate checks the mapping and returns an EINVALID error naming the first bad field, e.g.
// `csv mapping acme-orders: columns[2].field "qty" is not an order field`.
func (m *Mapping) Validate() error {
	bad := func(format string, args ...any) error {
		return waybill.Errorf(waybill.EINVALID, "csv_mapping", "csv mapping %s: %s", m.name(), fmt.Sprintf(format, args...))
	}
	known := fieldNames(m.Document)
	if known == nil {
		return bad("document %q must be order, shipment or invoice", m.Document)
	}
	switch m.Delimiter {
	case "", ",", ";", "|", "\t", "tab", `\t`:
	default:
		return bad("delimiter %q must be one of , ; | or tab", m.Delimiter)
	}
	switch m.Policy {
	case "", PolicyRejectFile, PolicyAcceptGood:
	default:
		return bad("policy %q must be reject_file or accept_good", m.Policy)
	}
	switch m.Thousands {
	case "", ".", ",", " ", "'":
	default:
		return bad("thousands %q must be empty, '.', ',', ' ' or \"'\"", m.Thousands)
	}
	dsep := "."
	if m.DecimalComma {
		dsep = ","
	}
	if m.Thousands == dsep {
		return bad("thousands separator %q is also the decimal separator", m.Thousands)
	}
	if m.Thousands == string(m.comma()) {
		return bad("thousands separator %q is also the delimiter", m.Thousands)
	}
	if len(m.Comment) > 1 {
		return bad("comment %q must be one character", m.Comment)
	}
	if m.SkipRows < 0 {
		return bad("skip_rows must not be negative")
	}
	if m.TimeZone != "" {
		if _, err := time.LoadLocation(m.TimeZone); err != nil {
			return bad("time_zone %q: %v", m.TimeZone, err)
		}
	}
	if err := checkDateFormat(m.DateFormat); err != nil {
		return bad("date_format: %v", err)
	}
	if !known[m.key()] {
		return bad("key %q is not a %s field", m.key(), m.Document)
	}
	if len(m.Columns) == 0 {
		return bad("columns: at least one column is required")
	}
	fields := map[string]int{}
	positions := map[int]int{}
	headers := map[string]int{}
	for i, c := range m.Columns {
		if c.Field != "" && !known[c.Field] {
			return bad("columns[%d].field %q is not a %s field (see csvfeed.Fields)", i, c.Field, m.Document)
		}
		if c.Field != "" {
			if j, dup := fields[c.Field]; dup {
				return bad("columns[%d].field %q is already mapped by columns[%d]", i, c.Field, j)
			}
			fields[c.Field] = i
		}
		if c.Position < 0 {
			return bad("columns[%d].position must be positive", i)
		}
		if c.Position > 0 {
			if j, dup := positions[c.Position]; dup {
				return bad("columns[%d].position %d is already used by columns[%d]", i, c.Position, j)
			}
			positions[c.Position] = i
		}
		if m.NoHeader && c.Position == 0 && c.Field != "" {
			return bad("columns[%d] (%s): position is required when the file has no header", i, c.Field)
		}
		h := strings.ToLower(strings.TrimSpace(c.header()))
		if h != "" && c.Position == 0 {
			if j, dup := headers[h]; dup {
				return bad("columns[%d].header %q is already used by columns[%d]", i, c.header(), j)
			}
			headers[h] = i
		}
		if err := checkDateFormat(c.DateFormat); err != nil {
			return bad("columns[%d].date_format: %v", i, err)
		}
		if c.Places != nil && (*c.Places < 0 || *c.Places > waybill.DecimalPlaces) {
			return bad("columns[%d].places must be 0-%d", i, waybill.DecimalPlaces)
		}
	}
	if _, ok := fields[m.key()]; !ok {
		return bad("key field %q must be mapped to a column", m.key())
	}
	return nil
}

func (c Column) header() string {
	if c.Header != "" {
		return c.Header
	}
	return c.Field
}
