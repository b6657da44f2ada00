package odoosim

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// partnersFixture creates partners to search in and returns their ids by name.
func partnersFixture(t *testing.T) (*Server, map[string]int) {
	t.Helper()
	s := New(Options{Now: func() time.Time { return time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC) }})
	e := s.sudo()
	ids := map[string]int{}
	mk := func(name string, vals map[string]any) {
		vals["name"] = name
		id, err := e.create(s.models["res.partner"], vals)
		if err != nil {
			t.Fatal(err)
		}
		ids[name] = id
	}
	mk("Acme", map[string]any{"is_company": true, "ref": "ACME", "city": "Springfield", "customer_rank": 3, "country_id": 233})
	mk("Acme Dock", map[string]any{"parent_id": ids["Acme"], "type": "delivery", "ref": "ACME-DC1"})
	mk("Globex", map[string]any{"is_company": true, "ref": "GLOBEX", "customer_rank": 1, "country_id": 38})
	mk("Initech", map[string]any{"is_company": true, "email": "x@initech.example"})
	mk("Archived", map[string]any{"active": false, "ref": "OLD"})
	return s, ids
}

func TestDomain(t *testing.T) {
	t.Parallel()
	s, ids := partnersFixture(t)
	cases := []struct {
		domain string // JSON
		want   []string
	}{
		{`[["ref","=","ACME"]]`, []string{"Acme"}},
		{`[["ref","!=",false],["is_company","=",true]]`, []string{"Acme", "Globex"}},
		{`[["ref","=",false],["id",">",6]]`, []string{"Initech"}},
		{`["|",["ref","=","ACME"],["ref","=","GLOBEX"]]`, []string{"Acme", "Globex"}},
		{`["!",["is_company","=",true],["id",">",6]]`, []string{"Acme Dock"}},
		{`["&","|",["ref","like","ACME"],["city","=","x"],["type","=","contact"]]`, []string{"Acme"}},
		{`[["ref","in",["GLOBEX","OLD"]]]`, []string{"Globex"}},
		{`[["ref","not in",["GLOBEX","ACME"]],["id",">",6]]`, []string{"Acme Dock", "Initech"}},
		{`[["name","ilike","acme"]]`, []string{"Acme", "Acme Dock"}},
		{`[["name","like","acme"]]`, nil},
		{`[["name","=like","Acme%"]]`, []string{"Acme", "Acme Dock"}},
		{`[["name","=ilike","acme"]]`, []string{"Acme"}},
		{`[["name","not ilike","acme"],["id",">",6]]`, []string{"Globex", "Initech"}},
		{`[["customer_rank",">=",1]]`, []string{"Acme", "Globex"}},
		{`[["customer_rank","<",2],["customer_rank",">",0]]`, []string{"Globex"}},
		{`[["parent_id.ref","=","ACME"]]`, []string{"Acme Dock"}},
		{`[["parent_id","=","Acme"]]`, []string{"Acme Dock"}},
		{`[["country_id.code","=","CA"]]`, []string{"Globex"}},
		{`[["child_ids.type","=","delivery"]]`, []string{"Acme"}},
		{`[["child_ids","!=",false]]`, []string{"Acme"}},
		{`[["id","child_of",7]]`, []string{"Acme", "Acme Dock"}},
		{`[["ref","=","OLD"]]`, nil},
		{`[["ref","=","OLD"],["active","=",false]]`, []string{"Archived"}},
		{`[["email","=?",false],["ref","=","GLOBEX"]]`, []string{"Globex"}},
		{`[[1,"=",1],["ref","=","GLOBEX"]]`, []string{"Globex"}},
		{`[["write_date",">=","2026-11-26 00:00:00"],["ref","=","ACME"]]`, []string{"Acme"}},
	}
	for _, tc := range cases {
		t.Run(tc.domain, func(t *testing.T) {
			d := decodeJSON(t, tc.domain).([]any)
			e := s.sudo()
			got, err := e.search(s.models["res.partner"], d, 0, 0, "id")
			if err != nil {
				t.Fatal(err)
			}
			var want []int
			for _, n := range tc.want {
				want = append(want, ids[n])
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("got %v, want %v (%v)", got, want, tc.want)
			}
		})
	}
}

func TestDomainErrors(t *testing.T) {
	t.Parallel()
	s, _ := partnersFixture(t)
	for _, d := range []string{`[["nope","=",1]]`, `["|",["ref","=","A"]]`, `[["ref","~","A"]]`, `["?"]`, `[["ref","="]]`} {
		_, err := s.sudo().search(s.models["res.partner"], decodeJSON(t, d).([]any), 0, 0, "")
		if err == nil || !strings.Contains(err.Error(), "ValueError") {
			t.Errorf("%s: got %v, want a ValueError", d, err)
		}
	}
}

func TestOrderOffsetLimit(t *testing.T) {
	t.Parallel()
	s, ids := partnersFixture(t)
	e := s.sudo()
	m := s.models["res.partner"]
	cases := []struct {
		order         string
		offset, limit int
		want          []string
	}{
		{"name asc", 0, 0, []string{"Acme", "Acme Dock", "Globex", "Initech"}},
		{"name desc", 0, 2, []string{"Initech", "Globex"}},
		{"ref asc, id asc", 0, 0, []string{"Acme", "Acme Dock", "Globex", "Initech"}},
		{"ref desc", 0, 1, []string{"Initech"}}, // NULLs first when descending
		{"write_date asc, id asc", 1, 2, []string{"Acme Dock", "Globex"}},
	}
	for _, tc := range cases {
		got, err := e.search(m, []any{[]any{"id", ">", 6}}, tc.offset, tc.limit, tc.order)
		if err != nil {
			t.Fatal(err)
		}
		var want []int
		for _, n := range tc.want {
			want = append(want, ids[n])
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%q %d %d: got %v, want %v", tc.order, tc.offset, tc.limit, got, want)
		}
	}
	if _, err := e.search(m, nil, 0, 0, "name; drop table"); err == nil {
		t.Error("an invalid order was accepted")
	}
}

func FuzzDomain(f *testing.F) {
	f.Add(`["|",["ref","=","ACME"],["name","ilike","a%_"]]`)
	f.Add(`["!",["child_ids.type","in",["delivery",false]]]`)
	s := New(Options{})
	s.SeedDemo()
	f.Fuzz(func(t *testing.T, src string) {
		v, ok := tryJSON(src)
		if !ok {
			return
		}
		d, ok := v.([]any)
		if !ok {
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		s.sudo().search(s.models["res.partner"], d, 0, 0, "") // must not panic
	})
}
