// Package deploy_test checks the files shipped in deploy/: the Prometheus alert rules parse,
// follow Prometheus' rule-file rules, have well-formed PromQL (balanced brackets, valid durations,
// known functions), and name only metrics the hub exports.
package deploy_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/app"
	"github.com/waybill-hub/waybill/internal/config"
	"github.com/waybill-hub/waybill/internal/hub"
	"github.com/waybill-hub/waybill/internal/memerp"
	"github.com/waybill-hub/waybill/internal/sqlite"
	"github.com/waybill-hub/waybill/internal/store"
	"github.com/waybill-hub/waybill/internal/telemetry"
	"github.com/waybill-hub/waybill/internal/transport"
)

// ruleFile mirrors Prometheus' rule file format (groups of recording and alerting rules).
type ruleFile struct {
	Groups []struct {
		Name     string `yaml:"name"`
		Interval string `yaml:"interval"`
		Rules    []struct {
			Record      string            `yaml:"record"`
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

var (
	nameRE     = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
	labelRE    = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
	durationRE = regexp.MustCompile(`^([0-9]+(ms|s|m|h|d|w|y))+$`)
	rangeRE    = regexp.MustCompile(`\[([^\]]*)\]`)
	funcRE     = regexp.MustCompile(`\b([a-z_]+)\s*\(`)
	metricRE   = regexp.MustCompile(`\bwaybill_[a-z0-9_]+\b`)
)

// functions and keywords that may precede "(" in the rules' PromQL.
var promqlCalls = map[string]bool{"sum": true, "max": true, "min": true, "avg": true, "count": true, "by": true, "without": true,
	"rate": true, "increase": true, "delta": true, "deriv": true, "time": true, "histogram_quantile": true, "absent": true,
	"and": true, "or": true, "unless": true, "on": true, "ignoring": true, "clamp_min": true, "abs": true}

func TestAlertRules(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("prometheus/waybill-alerts.yml")
	require.NoError(t, err)
	var f ruleFile
	dec := yaml.NewDecoder(strings.NewReader(string(raw)))
	dec.KnownFields(true)
	require.NoError(t, dec.Decode(&f), "the rule file has only the fields Prometheus knows")
	require.NotEmpty(t, f.Groups)

	exported := exportedMetrics(t)
	groups := map[string]bool{}
	alerts := map[string]bool{}
	for _, g := range f.Groups {
		require.NotEmpty(t, g.Name, "group name")
		require.False(t, groups[g.Name], "group %s appears twice", g.Name)
		groups[g.Name] = true
		require.NotEmpty(t, g.Rules, "group %s has no rules", g.Name)
		for _, r := range g.Rules {
			name := r.Alert + r.Record
			require.True(t, (r.Alert == "") != (r.Record == ""), "%s: a rule is either an alert or a record", name)
			require.Regexp(t, nameRE, name)
			if r.Alert != "" {
				require.False(t, alerts[r.Alert], "alert %s appears twice", r.Alert)
				alerts[r.Alert] = true
				require.Contains(t, []string{"info", "warning", "critical"}, r.Labels["severity"], "%s: severity", name)
				require.NotEmpty(t, r.Annotations["summary"], "%s: summary", name)
				require.NotEmpty(t, r.Annotations["description"], "%s: description", name)
			}
			if r.For != "" {
				require.Regexp(t, durationRE, r.For, "%s: for", name)
			}
			for k := range r.Labels {
				require.Regexp(t, labelRE, k, "%s: label", name)
			}
			checkTemplates(t, name, r.Annotations)
			checkExpr(t, name, r.Expr, exported)
		}
	}
	for _, want := range []string{"WaybillAcknowledgementsOverdue", "WaybillOrderBacklogGrowing", "WaybillCircuitOpen",
		"WaybillDeadLettersGrowing", "WaybillCertificateExpiresSoon"} {
		require.True(t, alerts[want], "the rules cover %s", want)
	}
}

// checkExpr checks what can be checked without Prometheus' own parser: balanced brackets and
// quotes, valid range durations, known functions, and that every waybill_ metric is exported.
func checkExpr(t *testing.T, name, expr string, exported map[string]bool) {
	t.Helper()
	require.NotEmpty(t, strings.TrimSpace(expr), "%s: expr", name)
	var stack []rune
	pairs := map[rune]rune{')': '(', ']': '[', '}': '{'}
	inQuote := false
	for _, c := range expr {
		switch {
		case c == '"':
			inQuote = !inQuote
		case inQuote:
		case c == '(' || c == '[' || c == '{':
			stack = append(stack, c)
		case pairs[c] != 0:
			require.NotEmpty(t, stack, "%s: unbalanced %q in %s", name, c, expr)
			require.Equal(t, pairs[c], stack[len(stack)-1], "%s: mismatched %q in %s", name, c, expr)
			stack = stack[:len(stack)-1]
		}
	}
	require.False(t, inQuote, "%s: unterminated string", name)
	require.Empty(t, stack, "%s: unclosed brackets in %s", name, expr)
	for _, m := range rangeRE.FindAllStringSubmatch(expr, -1) {
		for _, part := range strings.Split(m[1], ":") {
			if part != "" {
				require.Regexp(t, durationRE, part, "%s: range [%s]", name, m[1])
			}
		}
	}
	for _, m := range funcRE.FindAllStringSubmatch(expr, -1) {
		require.True(t, promqlCalls[m[1]], "%s: unknown PromQL function %s", name, m[1])
	}
	for _, m := range metricRE.FindAllString(expr, -1) {
		base := m
		for _, suf := range []string{"_bucket", "_count", "_sum"} {
			if exported[strings.TrimSuffix(m, suf)] {
				base = strings.TrimSuffix(m, suf)
			}
		}
		require.True(t, exported[base], "%s: metric %s is not exported by the hub", name, m)
	}
}

var templateRE = regexp.MustCompile(`\{\{\s*(\$labels\.[a-z_]+|\$value)(\s*\|\s*(humanize|humanizeDuration|humanizePercentage))?\s*\}\}`)

// checkTemplates allows only the template forms the rules use: $labels.x, $value, and humanize*.
func checkTemplates(t *testing.T, name string, ann map[string]string) {
	t.Helper()
	for k, v := range ann {
		rest := templateRE.ReplaceAllString(v, "")
		require.NotContains(t, rest, "{{", "%s: annotation %s has a template this test does not know", name, k)
	}
}

// exportedMetrics runs a hub, makes it do some work (an accepted order, a dead letter), and
// returns the metric names its /metrics serves, plus those the operations and AS2 collectors
// describe (they appear only when their source has data).
func exportedMetrics(t *testing.T) map[string]bool {
	ctx := context.Background()
	b, err := sqlite.Open(ctx, t.TempDir())
	require.NoError(t, err)
	cfg := config.Default()
	cfg.Listen, cfg.DataDir = "127.0.0.1:0", t.TempDir()
	cfg.Pipeline.PollInterval = 10 * time.Millisecond
	cfg.Partners = []config.Partner{{ID: "acme", Account: "ACME"}}
	erp := memerp.New(true)
	a, err := app.New(ctx, cfg, app.Options{Storage: app.StorageFor(b), ERP: erp, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	channels, err := app.MountTransports(a, transport.Config{}, nil)
	require.NoError(t, err)
	require.NoError(t, a.Start(ctx))
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		a.Stop(ctx)
	}()
	events, cancel := a.Queue.Subscribe()
	defer cancel()
	for _, p := range []string{"acme", "ghost"} {
		_, err := a.Hub.Receive(ctx, waybill.InboundMessage{Channel: waybill.ChannelHTTP, Partner: p,
			Payload: []byte(`{"po_number":"PO-1","lines":[{"number":"1","vendor_item":"SKU","quantity":"1","uom":"EA"}]}`)})
		require.NoError(t, err)
	}
	deadline := time.After(10 * time.Second)
	for {
		dls, err := a.Storage.DB.DeadLetters(ctx, store.DeadLetterFilter{})
		require.NoError(t, err)
		list, err := a.Storage.DB.Orders(ctx, store.OrderFilter{State: waybill.OrderAccepted})
		require.NoError(t, err)
		if len(dls) > 0 && len(list) > 0 {
			break
		}
		select {
		case <-events:
		case <-time.After(25 * time.Millisecond):
		case <-deadline:
			t.Fatal("the hub did not process the messages")
		}
	}
	// A job scheduled for later keeps the queue gauges (depth, oldest age) in the scrape.
	require.NoError(t, a.Storage.DB.InTx(ctx, func(tx *store.Tx) error {
		return a.Queue.InsertTx(ctx, tx, hub.ProcessMessage{MessageID: "msg_later", CorrelationID: "cor_later", Partner: "acme"},
			&river.InsertOpts{ScheduledAt: time.Now().Add(time.Hour)})
	}))
	resp, err := http.Get("http://" + a.Addr() + "/ui/login")
	require.NoError(t, err)
	resp.Body.Close()
	resp, err = http.Get("http://" + a.Addr() + "/metrics")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	out := map[string]bool{}
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, "# TYPE ") {
			out[strings.Fields(line)[2]] = true
		}
	}
	descs := make(chan *prometheus.Desc, 32)
	telemetry.NewCollector(telemetry.Sources{}).Describe(descs)
	channels.Collector().Describe(descs)
	close(descs)
	fq := regexp.MustCompile(`fqName: "([^"]+)"`)
	for d := range descs {
		out[fq.FindStringSubmatch(d.String())[1]] = true
	}
	return out
}
