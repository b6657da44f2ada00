package deploy_test

import (
	"io"
	"log/slog"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
)

// TestAlertRulesLoadInPrometheus loads the shipped rules with Prometheus' own rule-file parser and
// PromQL parser, the code Prometheus runs when it reads rule_files, with unknown fields refused.
func TestAlertRulesLoadInPrometheus(t *testing.T) {
	groups, errs := rulefmt.ParseFile("prometheus/waybill-alerts.yml", false, model.UTF8Validation,
		parser.NewParser(parser.Options{}), slog.New(slog.NewTextHandler(io.Discard, nil)))
	for _, err := range errs {
		t.Error(err)
	}
	if groups == nil || len(groups.Groups) == 0 {
		t.Fatal("no rule groups loaded")
	}
	n := 0
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			if r.Alert != "" {
				n++
			}
			if _, err := parser.NewParser(parser.Options{}).ParseExpr(r.Expr); err != nil {
				t.Errorf("%s: %v", r.Alert, err)
			}
		}
	}
	if n < 8 {
		t.Fatalf("only %d alerts loaded", n)
	}
}
