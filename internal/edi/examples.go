package edi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/waybill-hub/waybill/x12"
)

// ExampleResult is the outcome of one golden example.
type ExampleResult struct {
	Mapping string // "base 004010 850 v1" or "globex 850 v1"
	Name    string // the example's file name without extension
	Got     []byte
	Want    []byte
	Err     error
}

// OK reports whether the example passed.
func (r ExampleResult) OK() bool { return r.Err == nil && bytes.Equal(r.Got, r.Want) }

// Diff returns a line diff of want and got ("-" want, "+" got), empty when equal.
func (r ExampleResult) Diff() string { return lineDiff(string(r.Want), string(r.Got)) }

// RunExamples runs every golden example of the library (of one partner's overlays, and of the
// bases they use, when partnerID is not empty). versionOf returns a partner's X12 version, for
// overlays. Inbound examples are <name>.x12 with the expected canonical <name>.json (one document
// per transaction set, as a JSON array); outbound examples are <name>.json with the expected
// segments <name>.x12 (ST and SE excluded, '*' '~' and a newline after each segment).
func (l *Library) RunExamples(partnerID string, versionOf func(partner string) string) ([]ExampleResult, error) {
	entries, err := l.Entries()
	if err != nil {
		return nil, err
	}
	var out []ExampleResult
	for _, e := range entries {
		if partnerID != "" && e.Partner != "" && e.Partner != partnerID {
			continue
		}
		var m *Mapping
		label := fmt.Sprintf("base %s %s %s", e.X12Version, e.Set, e.Version)
		if e.Partner == "" {
			m, err = l.Base(e.X12Version, e.Set, e.Version)
		} else {
			label = fmt.Sprintf("%s %s %s", e.Partner, e.Set, e.Version)
			m, err = l.Resolve(e.Partner, versionOf(e.Partner), e.Set, e.Version)
		}
		if err != nil {
			out = append(out, ExampleResult{Mapping: label, Name: "(load)", Err: err})
			continue
		}
		files, _ := fs.ReadDir(l.fsys, e.Dir)
		var names []string
		for _, f := range files {
			in := ".x12"
			if m.Direction == ToX12 {
				in = ".json"
			}
			if n, ok := strings.CutSuffix(f.Name(), in); ok {
				names = append(names, n)
			}
		}
		sort.Strings(names)
		for _, n := range names {
			r := ExampleResult{Mapping: label, Name: n}
			if m.Direction == FromX12 {
				in, _ := fs.ReadFile(l.fsys, path.Join(e.Dir, n+".x12"))
				r.Want, _ = fs.ReadFile(l.fsys, path.Join(e.Dir, n+".json"))
				r.Got, r.Err = m.TranslateAll(in)
			} else {
				in, _ := fs.ReadFile(l.fsys, path.Join(e.Dir, n+".json"))
				r.Want, _ = fs.ReadFile(l.fsys, path.Join(e.Dir, n+".x12"))
				r.Got, r.Err = m.RenderJSON(in)
			}
			out = append(out, r)
		}
	}
	return out, nil
}

// TranslateAll translates every set of an interchange that the mapping is for and returns the
// canonical documents as an indented JSON array (with a final newline).
func (m *Mapping) TranslateAll(payload []byte) ([]byte, error) {
	dec := x12.NewDecoder(bytes.NewReader(payload))
	docs := []map[string]any{}
	for {
		ev, err := dec.Next()
		if err != nil {
			break
		}
		if ev.Kind != x12.SetRead || ev.Set.ID != m.Set {
			continue
		}
		set := ev.Set.Clone()
		version, _ := x12.SchemaVersion(set.Version())
		var loops []string
		if schema, err := x12.LoadSchema(version, set.ID); err == nil {
			loops = x12.Loops(set, schema)
		}
		tree, errs := m.Translate(set, loops)
		if len(errs) > 0 {
			return nil, errs[0]
		}
		if err := decodeInbound(m.Set, tree); err != nil {
			return nil, err
		}
		docs = append(docs, tree)
	}
	b, err := json.MarshalIndent(docs, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// RenderJSON renders the segments of an outbound mapping for a canonical document given as JSON.
func (m *Mapping) RenderJSON(in []byte) ([]byte, error) {
	var doc map[string]any
	dec := json.NewDecoder(bytes.NewReader(in))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	w := x12.NewWriter(&buf, x12.DefaultDelimiters, x12.WithLineEnding("\n"))
	if err := m.Render(doc, w); err != nil {
		return nil, err
	}
	if err := w.Flush(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// lineDiff is a longest-common-subsequence line diff: "  " kept, "- " only in want, "+ " only in
// got. Inputs are mapping outputs (hundreds of lines), so the quadratic table is fine.
func lineDiff(want, got string) string {
	if want == got {
		return ""
	}
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	lcs := make([][]int, len(w)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(g)+1)
	}
	for i := len(w) - 1; i >= 0; i-- {
		for j := len(g) - 1; j >= 0; j-- {
			if w[i] == g[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var b strings.Builder
	i, j := 0, 0
	for i < len(w) || j < len(g) {
		switch {
		case i < len(w) && j < len(g) && w[i] == g[j]:
			fmt.Fprintf(&b, "  %s\n", w[i])
			i, j = i+1, j+1
		case j < len(g) && (i == len(w) || lcs[i][j+1] >= lcs[i+1][j]):
			fmt.Fprintf(&b, "+ %s\n", g[j])
			j++
		default:
			fmt.Fprintf(&b, "- %s\n", w[i])
			i++
		}
	}
	return b.String()
}
