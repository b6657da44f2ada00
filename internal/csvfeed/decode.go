package csvfeed

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/waybill-hub/waybill"
)

// RowError is one problem in one row, located for the person who fixes the file.
type RowError struct {
	Row        int    `json:"row"`                   // 1-based record number; header and skipped rows count
	Line       int    `json:"line"`                  // 1-based line where the record starts
	Column     int    `json:"column,omitempty"`      // 1-based column number; 0 for the row as a whole
	ColumnName string `json:"column_name,omitempty"` // the header text, or the mapped name without a header
	Field      string `json:"field,omitempty"`       // canonical field
	Value      string `json:"value,omitempty"`
	Message    string `json:"message"`
}

func (e RowError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "row %d", e.Row)
	if e.Column > 0 {
		fmt.Fprintf(&b, ", column %d", e.Column)
		if e.ColumnName != "" {
			fmt.Fprintf(&b, " (%s)", e.ColumnName)
		}
	} else if e.ColumnName != "" {
		fmt.Fprintf(&b, ", column %s", e.ColumnName)
	}
	if e.Value != "" {
		fmt.Fprintf(&b, ": %q", e.Value)
	}
	b.WriteString(": ")
	b.WriteString(e.Message)
	return b.String()
}

// Location returns the row error as a waybill.Location for a coded error of partner.
func (e RowError) Location(partner string) waybill.Location {
	name := e.ColumnName
	if name == "" {
		name = e.Field
	}
	return waybill.Location{Partner: partner, Row: e.Row, Field: name}
}

// FileError is a file rejected as a whole. It is returned wrapped in a *waybill.Error with code
// EINVALID (reason "csv_rows" for bad rows under reject_file, "csv_syntax" for a file the CSV
// reader cannot read past a row, "csv_columns" for missing columns); find it with errors.As.
type FileError struct {
	Mapping string
	Rows    []RowError // every problem found, in file order
	Read    int        // data rows read
}

func (e *FileError) Error() string {
	if len(e.Rows) == 0 {
		return "csv mapping " + e.Mapping + ": file rejected"
	}
	more := ""
	if len(e.Rows) > 1 {
		more = fmt.Sprintf(" (and %d more)", len(e.Rows)-1)
	}
	return fmt.Sprintf("csv mapping %s: file rejected: %s%s", e.Mapping, e.Rows[0].Error(), more)
}

func fileErr(m *Mapping, reason string, fe *FileError) error {
	msg := fmt.Sprintf("%d problem(s) in the file", len(fe.Rows))
	if len(fe.Rows) > 0 {
		msg = fe.Rows[0].Error()
		if len(fe.Rows) > 1 {
			msg += fmt.Sprintf(" (and %d more)", len(fe.Rows)-1)
		}
	}
	return &waybill.Error{Code: waybill.EINVALID, Reason: reason,
		Message: fmt.Sprintf("csv %s file rejected: %s", m.Document, msg),
		Where:   waybill.Location{Partner: m.Partner}, Err: fe}
}

type group[D any] struct {
	doc      D
	firstRow int
	first    map[string]string // canonical header field values of the first row
	bad      bool
}

// decode reads the whole file and groups rows into documents; see DecodeOrders.
func decode[D any, R any](in io.Reader, m *Mapping, c *codec[D, R]) ([]D, []RowError, error) {
	if err := m.Validate(); err != nil {
		return nil, nil, err
	}
	if m.Document != c.doc {
		return nil, nil, waybill.Errorf(waybill.EINVALID, "csv_mapping", "csv mapping %s is for %s documents, not %s", m.name(), m.Document, c.doc)
	}
	br := bufio.NewReader(in)
	if b, err := br.Peek(3); err == nil && string(b) == "\ufeff" {
		_, _ = br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.Comma = m.comma()
	if m.Comment != "" {
		cr.Comment = rune(m.Comment[0])
	}
	cr.LazyQuotes = m.LazyQuotes
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = false

	fe := &FileError{Mapping: m.name()}
	rowNo := 0
	read := func() ([]string, int, error) {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil, 0, err
		}
		rowNo++
		if err != nil {
			var pe *csv.ParseError
			re := RowError{Row: rowNo, Message: "unreadable CSV: " + err.Error()}
			if errors.As(err, &pe) {
				re.Line, re.Column, re.Message = pe.StartLine, pe.Column, "unreadable CSV: "+pe.Err.Error()
			}
			fe.Rows = append(fe.Rows, re)
			return nil, 0, fileErr(m, "csv_syntax", fe)
		}
		line, _ := cr.FieldPos(0)
		return rec, line, nil
	}

	for i := 0; i < m.SkipRows; i++ {
		if _, _, err := read(); err == io.EOF {
			return nil, nil, nil
		} else if err != nil {
			return nil, fe.Rows, err
		}
	}
	idx, colNames, err := columnsOf(m, c, read, fe)
	if err != nil {
		return nil, fe.Rows, err
	}

	key := m.key()
	var (
		groups []*group[D]
		byKey  = map[string]*group[D]{}
		errs   []RowError
	)
	for {
		rec, line, err := read()
		if err == io.EOF {
			break
		}
		if err != nil {
			fe.Rows = append(errs, fe.Rows...)
			return nil, fe.Rows, err
		}
		if blank(rec) {
			continue
		}
		fe.Read++
		var row R
		rowErrs := 0
		bad := func(ci int, value, msg string) {
			re := RowError{Row: rowNo, Line: line, Field: m.Columns[ci].Field, ColumnName: colNames[ci], Value: value, Message: msg}
			if idx[ci] >= 0 {
				re.Column = idx[ci] + 1
			}
			errs = append(errs, re)
			rowErrs++
		}
		keyCol := -1
		for ci, col := range m.Columns {
			if col.Field == "" || col.Value != "" {
				continue
			}
			if col.Field == key {
				keyCol = ci
			}
			f := c.fields[col.Field]
			cell := ""
			if idx[ci] >= 0 && idx[ci] < len(rec) {
				cell = strings.TrimSpace(rec[idx[ci]])
			}
			if cell == "" {
				cell = col.Default
			}
			if cell == "" {
				if col.Required || col.Field == key {
					bad(ci, "", "a value is required")
				}
				continue
			}
			v, perr := parseCell(m, col, f.kind, cell)
			if perr != nil {
				bad(ci, cell, perr.Error())
				continue
			}
			f.set(&row, v)
		}
		if keyCol < 0 || (rowErrs > 0 && c.fields[key].get(&row) == nil) {
			continue // no key: the row cannot be tied to a document
		}
		k := canon(c.fields[key].get(&row))
		g := byKey[k]
		if g == nil {
			g = &group[D]{doc: *c.header(&row), firstRow: rowNo, first: map[string]string{}}
			for _, col := range m.Columns {
				if f, ok := c.fields[col.Field]; ok && !f.item && col.Value == "" {
					g.first[col.Field] = canon(f.get(&row))
				}
			}
			byKey[k] = g
			groups = append(groups, g)
		} else {
			for ci, col := range m.Columns {
				f, ok := c.fields[col.Field]
				if !ok || f.item || col.Value != "" {
					continue
				}
				if got := canon(f.get(&row)); got != g.first[col.Field] {
					bad(ci, got, fmt.Sprintf("differs from row %d of the same %s, which has %q", g.firstRow, c.doc, g.first[col.Field]))
				}
			}
		}
		if rowErrs > 0 {
			g.bad = true
			continue
		}
		if fieldName, problem := c.add(&g.doc, &row); problem != "" {
			for ci, col := range m.Columns {
				if col.Field == fieldName {
					bad(ci, canon(c.fields[fieldName].get(&row)), problem)
				}
			}
			g.bad = true
		}
	}
	sort.SliceStable(errs, func(i, j int) bool {
		if errs[i].Row != errs[j].Row {
			return errs[i].Row < errs[j].Row
		}
		return errs[i].Column < errs[j].Column
	})
	if len(errs) > 0 && m.policy() == PolicyRejectFile {
		fe.Rows = errs
		return nil, errs, fileErr(m, "csv_rows", fe)
	}
	var docs []D
	for _, g := range groups {
		if g.bad {
			continue
		}
		c.finish(&g.doc, m)
		docs = append(docs, g.doc)
	}
	return docs, errs, nil
}

// columnsOf reads the header row (unless the file has none) and returns, per mapping column, its
// 0-based index in the records (-1 when absent) and the name to report it by.
func columnsOf[D any, R any](m *Mapping, c *codec[D, R], read func() ([]string, int, error), fe *FileError) ([]int, []string, error) {
	idx := make([]int, len(m.Columns))
	names := make([]string, len(m.Columns))
	var header []string
	if !m.NoHeader {
		rec, line, err := read()
		if err == io.EOF {
			fe.Rows = append(fe.Rows, RowError{Row: 1, Message: "the file is empty; a header row was expected"})
			return nil, nil, fileErr(m, "csv_columns", fe)
		}
		if err != nil {
			return nil, nil, err
		}
		_ = line
		header = rec
	}
	for ci, col := range m.Columns {
		idx[ci] = -1
		names[ci] = col.header()
		if col.Position > 0 {
			idx[ci] = col.Position - 1
			if idx[ci] < len(header) {
				names[ci] = strings.TrimSpace(header[idx[ci]])
			}
			continue
		}
		want := strings.ToLower(strings.TrimSpace(col.header()))
		for hi, h := range header {
			if strings.ToLower(strings.TrimSpace(h)) == want {
				idx[ci] = hi
				names[ci] = strings.TrimSpace(h)
				break
			}
		}
		if idx[ci] < 0 && col.Field != "" && col.Value == "" && (col.Required || col.Field == m.key()) {
			fe.Rows = append(fe.Rows, RowError{Row: m.SkipRows + 1, ColumnName: col.header(), Field: col.Field,
				Message: fmt.Sprintf("required column %q is missing from the header", col.header())})
		}
	}
	if len(fe.Rows) > 0 {
		return nil, nil, fileErr(m, "csv_columns", fe)
	}
	return idx, names, nil
}

func blank(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

func parseCell(m *Mapping, col Column, k kind, cell string) (any, error) {
	switch k {
	case kindDecimal:
		return m.parseDecimal(cell)
	case kindDate:
		l := m.dateLayout(col)
		t, err := time.ParseInLocation(l, cell, m.location())
		if err != nil {
			return nil, fmt.Errorf("not a date in the format %s", displayFormat(m, col))
		}
		return t.UTC(), nil
	case kindInt:
		return parseInt(cell)
	}
	return cell, nil
}

func displayFormat(m *Mapping, col Column) string {
	switch {
	case col.DateFormat != "":
		return col.DateFormat
	case m.DateFormat != "":
		return m.DateFormat
	}
	return "YYYY-MM-DD"
}

// canon is a value's comparable text form.
func canon(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case waybill.Decimal:
		return x.String()
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case int:
		return strconv.Itoa(x)
	}
	return fmt.Sprint(v)
}
