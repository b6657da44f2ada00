// Package schema_test checks the syntax and the internal consistency of the X12 definition
// files in this folder (elements.txt, segments.txt and one file per transaction set, per
// version), independently of the engine that loads them: every line is well formed, every
// element, composite and segment referenced is defined, loops are balanced and start with
// their trigger segment, and syntax notes name positions that exist.
package schema_test

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// tokens splits a definition line: blanks separate tokens, a double-quoted string is one
// token, '#' at the start of a token starts a comment.
func tokens(line string) []string {
	var out []string
	for i := 0; i < len(line); {
		switch c := line[i]; {
		case c == ' ' || c == '\t' || c == '\r':
			i++
		case c == '#':
			return out
		case c == '"':
			j := strings.IndexByte(line[i+1:], '"')
			if j < 0 {
				return append(out, "\x00unterminated")
			}
			out = append(out, line[i+1:i+1+j])
			i += j + 2
		default:
			j := i
			for j < len(line) && !strings.ContainsRune(" \t\r\"", rune(line[j])) {
				j++
			}
			out = append(out, line[i:j])
			i = j
		}
	}
	return out
}

type line struct {
	n    int
	toks []string
}

func readLines(t *testing.T, path string) []line {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer f.Close()
	var out []line
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; sc.Scan(); n++ {
		if tk := tokens(sc.Text()); len(tk) > 0 {
			out = append(out, line{n, tk})
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return out
}

var (
	reType    = regexp.MustCompile(`^(AN|ID|DT|TM|R|B|N[0-9]?)$`)
	rePos     = regexp.MustCompile(`^[0-9]{2}$`)
	reSyntax  = regexp.MustCompile(`^[PRECL]([0-9]{2}){2,}$`)
	reMax     = regexp.MustCompile(`^([1-9][0-9]*|>1)$`)
	reSegID   = regexp.MustCompile(`^[A-Z][A-Z0-9]{1,2}$`)
	reUsage   = regexp.MustCompile(`^[MOX]$`)
	reSetUse  = regexp.MustCompile(`^[MO]$`)
	reFuncGrp = regexp.MustCompile(`^[A-Z]{2}$`)
)

type segment struct {
	positions map[int]bool
}

// parseDirectory reads elements.txt and segments.txt of one version and returns the
// segment directory.
func parseDirectory(t *testing.T, dir string) map[string]*segment {
	t.Helper()
	defined := map[string]bool{}
	type ref struct {
		where string
		id    string
	}
	var refs []ref
	file := filepath.Join(dir, "elements.txt")
	var inElement, inComposite string
	for _, l := range readLines(t, file) {
		at := file + ":" + strconv.Itoa(l.n)
		switch tk := l.toks; tk[0] {
		case "element":
			if len(tk) < 6 || len(tk) > 7 || (len(tk) == 7 && tk[6] != "closed") || !reType.MatchString(tk[2]) {
				t.Errorf("%s: want element ID TYPE MIN MAX \"Name\" [closed], got %q", at, tk)
				continue
			}
			mn, err1 := strconv.Atoi(tk[3])
			mx, err2 := strconv.Atoi(tk[4])
			if err1 != nil || err2 != nil || mn < 0 || mx < mn {
				t.Errorf("%s: bad lengths %s/%s", at, tk[3], tk[4])
			}
			if defined[tk[1]] {
				t.Errorf("%s: element %s defined twice", at, tk[1])
			}
			defined[tk[1]], inElement, inComposite = true, tk[1], ""
		case "code":
			if inElement == "" || len(tk) != 3 || tk[1] == "*" {
				t.Errorf("%s: want code VALUE \"Meaning\" after an element, got %q", at, tk)
			}
		case "composite":
			if len(tk) != 3 || !strings.HasPrefix(tk[1], "C") {
				t.Errorf("%s: want composite CNNN \"Name\", got %q", at, tk)
				continue
			}
			if defined[tk[1]] {
				t.Errorf("%s: composite %s defined twice", at, tk[1])
			}
			defined[tk[1]], inElement, inComposite = true, "", tk[1]
		default:
			if inComposite == "" || len(tk) != 3 || !rePos.MatchString(tk[0]) || !reUsage.MatchString(tk[2]) {
				t.Errorf("%s: unexpected line %q", at, tk)
				continue
			}
			refs = append(refs, ref{at, tk[1]})
		}
	}
	segs := map[string]*segment{}
	file = filepath.Join(dir, "segments.txt")
	var cur *segment
	var curID string
	type note struct {
		where, seg, note string
	}
	var notes []note
	for _, l := range readLines(t, file) {
		at := file + ":" + strconv.Itoa(l.n)
		switch tk := l.toks; tk[0] {
		case "segment":
			if len(tk) != 3 || !reSegID.MatchString(tk[1]) {
				t.Errorf("%s: want segment ID \"Name\", got %q", at, tk)
				continue
			}
			if segs[tk[1]] != nil {
				t.Errorf("%s: segment %s defined twice", at, tk[1])
			}
			cur, curID = &segment{positions: map[int]bool{}}, tk[1]
			segs[curID] = cur
		case "syntax":
			if cur == nil || len(tk) != 2 || !reSyntax.MatchString(tk[1]) {
				t.Errorf("%s: bad syntax note %q", at, tk)
				continue
			}
			notes = append(notes, note{at, curID, tk[1]})
		default:
			if cur == nil || len(tk) < 3 || len(tk) > 4 || !rePos.MatchString(tk[0]) || !reUsage.MatchString(tk[2]) {
				t.Errorf("%s: want NN REF USAGE [REPEAT], got %q", at, tk)
				continue
			}
			if len(tk) == 4 && !reMax.MatchString(tk[3]) {
				t.Errorf("%s: bad repeat %q", at, tk[3])
			}
			p, _ := strconv.Atoi(tk[0])
			if cur.positions[p] || (p > 1 && !cur.positions[p-1]) {
				t.Errorf("%s: position %02d out of order in %s", at, p, curID)
			}
			cur.positions[p] = true
			refs = append(refs, ref{at, tk[1]})
		}
	}
	for _, r := range refs {
		if !defined[r.id] {
			t.Errorf("%s: %s is not defined in elements.txt", r.where, r.id)
		}
	}
	for _, n := range notes {
		for i := 1; i < len(n.note); i += 2 {
			p, _ := strconv.Atoi(n.note[i : i+2])
			if !segs[n.seg].positions[p] {
				t.Errorf("%s: syntax note %s of %s names position %02d, which %s does not have", n.where, n.note, n.seg, p, n.seg)
			}
		}
	}
	return segs
}

// checkSet reads one transaction set file against the segment directory.
func checkSet(t *testing.T, path string, segs map[string]*segment) {
	t.Helper()
	ls := readLines(t, path)
	id := strings.TrimSuffix(filepath.Base(path), ".txt")
	if len(ls) == 0 {
		t.Fatalf("%s: empty", path)
	}
	if tk := ls[0].toks; len(tk) != 4 || tk[0] != "transaction" || tk[1] != id || !reFuncGrp.MatchString(tk[3]) {
		t.Errorf("%s:%d: want transaction %s \"Name\" GROUP, got %q", path, ls[0].n, id, tk)
	}
	type open struct {
		trigger string
		first   bool
	}
	var stack []open
	var order []string
	for _, l := range ls[1:] {
		at := path + ":" + strconv.Itoa(l.n)
		switch tk := l.toks; tk[0] {
		case "loop":
			if len(tk) != 4 || segs[tk[1]] == nil || !reMax.MatchString(tk[2]) || !reSetUse.MatchString(tk[3]) {
				t.Errorf("%s: want loop SEGID MAXREPEAT USAGE with a defined segment, got %q", at, tk)
			}
			if len(stack) > 0 {
				stack[len(stack)-1].first = false
			}
			stack = append(stack, open{trigger: tk[1], first: true})
		case "end":
			if len(stack) == 0 {
				t.Errorf("%s: end without loop", at)
				continue
			}
			if stack[len(stack)-1].first {
				t.Errorf("%s: empty loop %s", at, stack[len(stack)-1].trigger)
			}
			stack = stack[:len(stack)-1]
		default:
			if len(tk) != 3 || segs[tk[0]] == nil || !reSetUse.MatchString(tk[1]) || !reMax.MatchString(tk[2]) {
				t.Errorf("%s: want SEGID USAGE MAXUSE with a defined segment, got %q", at, tk)
				continue
			}
			if n := len(stack); n > 0 && stack[n-1].first {
				if tk[0] != stack[n-1].trigger || tk[1] != "M" || tk[2] != "1" {
					t.Errorf("%s: loop %s must start with %s M 1, got %q", at, stack[n-1].trigger, stack[n-1].trigger, tk)
				}
				stack[n-1].first = false
			} else if n > 0 {
				stack[n-1].first = false
			}
			if len(stack) == 0 {
				order = append(order, tk[0])
			}
		}
	}
	if len(stack) > 0 {
		t.Errorf("%s: loop %s not closed", path, stack[len(stack)-1].trigger)
	}
	if len(order) < 2 || order[0] != "ST" || order[len(order)-1] != "SE" {
		t.Errorf("%s: a set must start with ST and end with SE", path)
	}
}

func TestDefinitions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		version string
		sets    []string
	}{
		{"004010", []string{"180", "810", "846", "850", "855", "856", "860", "865", "940", "945", "997"}},
		{"005010", []string{"180", "810", "846", "850", "855", "856", "860", "865", "940", "945", "997", "999"}},
	} {
		t.Run(tc.version, func(t *testing.T) {
			t.Parallel()
			segs := parseDirectory(t, tc.version)
			for _, env := range []string{"ISA", "IEA", "GS", "GE", "ST", "SE", "TA1", "ISB", "ISE"} {
				if segs[env] == nil {
					t.Errorf("envelope segment %s is not defined", env)
				}
			}
			files, err := filepath.Glob(filepath.Join(tc.version, "*.txt"))
			if err != nil {
				t.Fatal(err)
			}
			found := map[string]bool{}
			for _, f := range files {
				base := strings.TrimSuffix(filepath.Base(f), ".txt")
				if base == "elements" || base == "segments" {
					continue
				}
				found[base] = true
				checkSet(t, f, segs)
			}
			for _, s := range tc.sets {
				if !found[s] {
					t.Errorf("transaction set %s is missing", s)
				}
			}
		})
	}
}
