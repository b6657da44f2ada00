package csvfeed

import (
	"bufio"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/waybill-hub/waybill"
)

// encode writes docs with m; see EncodeOrders.
func encode[D any, R any](w io.Writer, m *Mapping, c *codec[D, R], docs []D) error {
	if err := m.Validate(); err != nil {
		return err
	}
	if m.Document != c.doc {
		return waybill.Errorf(waybill.EINVALID, "csv_mapping", "csv mapping %s is for %s documents, not %s", m.name(), m.Document, c.doc)
	}
	slots := outputSlots(m)
	width := 0
	for _, s := range slots {
		width = max(width, s+1)
	}
	bw := bufio.NewWriter(w)
	if m.BOM {
		bw.WriteString("\ufeff")
	}
	cells := make([]string, width)
	if !m.NoHeader {
		clear(cells)
		for ci, col := range m.Columns {
			cells[slots[ci]] = col.header()
		}
		m.writeRecord(bw, cells)
	}
	for i := range docs {
		for _, row := range c.rows(&docs[i]) {
			clear(cells)
			for ci, col := range m.Columns {
				cells[slots[ci]] = formatCell(m, c, col, &row)
			}
			m.writeRecord(bw, cells)
		}
	}
	if err := bw.Flush(); err != nil {
		return waybill.Unavailable(err, "writing csv %s file", m.Document)
	}
	return nil
}

// outputSlots places columns: at Position when given, else in the next free slot in list order.
func outputSlots(m *Mapping) []int {
	used := map[int]bool{}
	for _, c := range m.Columns {
		if c.Position > 0 {
			used[c.Position-1] = true
		}
	}
	slots := make([]int, len(m.Columns))
	next := 0
	for i, c := range m.Columns {
		if c.Position > 0 {
			slots[i] = c.Position - 1
			continue
		}
		for used[next] {
			next++
		}
		slots[i] = next
		used[next] = true
	}
	return slots
}

// formatCell is the text of col for row: its constant Value, the field's value, or its Default.
func formatCell[D any, R any](m *Mapping, c *codec[D, R], col Column, row *R) string {
	if col.Value != "" {
		return col.Value
	}
	f, ok := c.fields[col.Field]
	if !ok {
		return col.Default
	}
	return m.format(col, f.get(row))
}

func (m *Mapping) format(col Column, v any) string {
	switch x := v.(type) {
	case nil:
		return col.Default
	case string:
		return x
	case waybill.Decimal:
		places := -1
		if col.Places != nil {
			places = *col.Places
		}
		return m.formatDecimal(x, places)
	case time.Time:
		return x.In(m.location()).Format(m.dateLayout(col))
	case int:
		return strconv.Itoa(x)
	}
	return ""
}

func (m *Mapping) writeRecord(w *bufio.Writer, cells []string) {
	comma := m.comma()
	for i, f := range cells {
		if i > 0 {
			w.WriteRune(comma)
		}
		if m.QuoteAll || needsQuotes(f, comma) {
			w.WriteByte('"')
			w.WriteString(strings.ReplaceAll(f, `"`, `""`))
			w.WriteByte('"')
		} else {
			w.WriteString(f)
		}
	}
	if m.CRLF {
		w.WriteString("\r\n")
	} else {
		w.WriteByte('\n')
	}
}

func needsQuotes(f string, comma rune) bool {
	if f == "" {
		return false
	}
	if f == `\.` || f[0] == ' ' || f[0] == '\t' || f[len(f)-1] == ' ' {
		return true
	}
	return strings.ContainsRune(f, comma) || strings.ContainsAny(f, "\"\r\n")
}
