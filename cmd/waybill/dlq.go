package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/waybill-hub/waybill/internal/store"
)

func newDLQCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dlq",
		Short: "Dead letters: failed work waiting for a person (list, show, replay, discard)",
	}
	cmd.AddCommand(newDLQListCmd(g), newDLQShowCmd(g), newDLQReplayCmd(g), newDLQDiscardCmd(g))
	return cmd
}

type dlqFilter struct {
	partner, kind, reason, since string
	all                          bool
}

func (f *dlqFilter) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.partner, "partner", "", "only this partner")
	cmd.Flags().StringVar(&f.kind, "kind", "", "only this job kind (process_message, submit_order, ...)")
	cmd.Flags().StringVar(&f.reason, "reason", "", "only this reason (unknown_item, x12_syntax, ...)")
	cmd.Flags().StringVar(&f.since, "since", "", "only those since a time (RFC 3339, a date, or a duration ago such as 24h)")
}

func (f *dlqFilter) build() (store.DeadLetterFilter, error) {
	out := store.DeadLetterFilter{Partner: f.partner, Kind: f.kind, Reason: f.reason, AnyState: f.all}
	if f.since != "" {
		t, err := parseSince(f.since, time.Now())
		if err != nil {
			return out, &ExitError{Code: 2, Err: err}
		}
		out.Since = t
	}
	return out, nil
}

// parseSince reads an RFC 3339 time, a date (2006-01-02) or a duration before now (90m, 24h, 7d).
func parseSince(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	if strings.HasSuffix(s, "d") {
		var n int
		if _, err := fmt.Sscanf(s, "%dd", &n); err == nil {
			return now.Add(-time.Duration(n) * 24 * time.Hour), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("--since %q: want an RFC 3339 time, a date (2006-01-02) or a duration such as 24h or 7d", s)
}

func newDLQListCmd(g *globals) *cobra.Command {
	var f dlqFilter
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List open dead letters, oldest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			filter, err := f.build()
			if err != nil {
				return err
			}
			_, st, err := g.openStorage(cmd.Context())
			if err != nil {
				return err
			}
			defer st.DB.Close()
			dls, err := st.DB.DeadLetters(cmd.Context(), filter)
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(g.stdout).Encode(dlJSON(dls))
			}
			if len(dls) == 0 {
				fmt.Fprintln(g.stdout, "no dead letters")
				return nil
			}
			tw := tabwriter.NewWriter(g.stdout, 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tAGE\tPARTNER\tKIND\tREASON\tSTATE\tMESSAGE")
			for _, d := range dls {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d.ID, age(d.CreatedAt), d.Partner, d.JobKind, d.Reason, d.State, clip(d.Message, 80))
			}
			return tw.Flush()
		},
	}
	f.register(cmd)
	cmd.Flags().BoolVar(&f.all, "all", false, "include replayed and discarded dead letters")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

type dlView struct {
	ID            string    `json:"id"`
	Kind          string    `json:"kind"`
	Partner       string    `json:"partner"`
	Code          string    `json:"code"`
	Reason        string    `json:"reason"`
	Message       string    `json:"message"`
	Location      any       `json:"location,omitempty"`
	Attempts      int       `json:"attempts"`
	State         string    `json:"state"`
	MessageID     string    `json:"message_id,omitempty"`
	OrderID       string    `json:"order_id,omitempty"`
	CorrelationID string    `json:"correlation_id"`
	CreatedAt     time.Time `json:"created_at"`
	ResolvedBy    string    `json:"resolved_by,omitempty"`
}

func dlJSON(dls []*store.DeadLetter) []dlView {
	out := make([]dlView, 0, len(dls))
	for _, d := range dls {
		v := dlView{ID: d.ID, Kind: d.JobKind, Partner: d.Partner, Code: d.Code, Reason: d.Reason, Message: d.Message,
			Attempts: d.Attempts, State: string(d.State), MessageID: d.MessageID, OrderID: d.OrderID,
			CorrelationID: d.CorrelationID, CreatedAt: d.CreatedAt, ResolvedBy: d.ResolvedBy}
		if d.Location != "" {
			var loc map[string]any
			if json.Unmarshal([]byte(d.Location), &loc) == nil {
				v.Location = loc
			}
		}
		out = append(out, v)
	}
	return out
}

func newDLQShowCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "show ID",
		Short: "Show a dead letter: reason, location, payload excerpt and history",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			_, st, err := g.openStorage(ctx)
			if err != nil {
				return err
			}
			defer st.DB.Close()
			d, err := st.DB.DeadLetter(ctx, args[0])
			if err != nil {
				return &ExitError{Code: 1, Err: err}
			}
			w := g.stdout
			fmt.Fprintf(w, "Dead letter %s (%s)\n", d.ID, d.State)
			fmt.Fprintf(w, "  job:          %s (after %d attempt(s))\n", d.JobKind, d.Attempts)
			fmt.Fprintf(w, "  partner:      %s\n", d.Partner)
			fmt.Fprintf(w, "  reason:       %s (%s)\n", d.Reason, d.Code)
			fmt.Fprintf(w, "  error:        %s\n", d.Message)
			if d.Location != "" {
				fmt.Fprintf(w, "  where:        %s\n", d.Location)
			}
			fmt.Fprintf(w, "  correlation:  %s\n", d.CorrelationID)
			if d.OrderID != "" {
				fmt.Fprintf(w, "  order:        %s\n", d.OrderID)
			}
			fmt.Fprintf(w, "  created:      %s\n", d.CreatedAt.Format(time.RFC3339))
			if d.ResolvedBy != "" {
				fmt.Fprintf(w, "  resolved by:  %s at %s\n", d.ResolvedBy, d.ResolvedAt.Format(time.RFC3339))
			}
			msgID := d.MessageID
			if msgID == "" && d.OrderID != "" {
				if rec, err := st.DB.Order(ctx, d.OrderID); err == nil {
					msgID = rec.MessageID
				}
			}
			if msgID != "" {
				if m, err := st.DB.Message(ctx, msgID); err == nil {
					fmt.Fprintf(w, "\nMessage %s: %s from %s over %s, %d bytes, received %s\n", m.ID, m.DocType, m.Partner, m.Channel,
						m.Size, m.ReceivedAt.Format(time.RFC3339))
					fmt.Fprintln(w, indent(excerpt(m.Payload, 600), "  | "))
				}
			}
			trail, err := st.DB.AuditTrail(ctx, d.CorrelationID)
			if err != nil {
				return err
			}
			fmt.Fprintln(w, "\nHistory:")
			for _, r := range trail {
				fmt.Fprintf(w, "  %s  %-18s %s\n", r.At.Format("2006-01-02 15:04:05.000"), r.Kind, r.Summary)
			}
			fmt.Fprintf(w, "\nReplay it once the cause is fixed: waybill dlq replay %s\n", d.ID)
			return nil
		},
	}
}

func newDLQReplayCmd(g *globals) *cobra.Command {
	var f dlqFilter
	var by string
	var all bool
	cmd := &cobra.Command{
		Use:   "replay [ID...]",
		Short: "Run dead letters' jobs again, with their correlation ids and history, after a fix",
		Long: `Replay dead letters by id, or every open dead letter matching a filter:

  waybill dlq replay dl_01j...
  waybill dlq replay --reason unknown_item --partner acme
  waybill dlq replay --all

A replayed job keeps its correlation id; if it fails again, a new dead letter records it.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			filtered := f.partner != "" || f.kind != "" || f.reason != "" || f.since != "" || all
			if len(args) == 0 && !filtered {
				return &ExitError{Code: 2, Err: fmt.Errorf("name dead letter ids, or a filter (--partner, --kind, --reason, --since), or --all")}
			}
			if len(args) > 0 && filtered {
				return &ExitError{Code: 2, Err: fmt.Errorf("give ids or a filter, not both")}
			}
			ctx := cmd.Context()
			h, st, err := g.operatorHub(ctx)
			if err != nil {
				return err
			}
			defer st.DB.Close()
			ids := args
			if filtered {
				filter, err := f.build()
				if err != nil {
					return err
				}
				dls, err := st.DB.DeadLetters(ctx, filter)
				if err != nil {
					return err
				}
				for _, d := range dls {
					ids = append(ids, d.ID)
				}
			}
			who := operatorName(by)
			var bar *progressbar.ProgressBar
			if len(ids) > 1 {
				bar = progressbar.NewOptions(len(ids), progressbar.OptionSetWriter(g.stderr), progressbar.OptionSetDescription("replaying"),
					progressbar.OptionShowCount(), progressbar.OptionClearOnFinish())
			}
			var failed int
			for _, id := range ids {
				if err := h.Replay(ctx, id, who); err != nil {
					failed++
					fmt.Fprintf(g.stderr, "%s: %v\n", id, err)
				}
				if bar != nil {
					bar.Add(1)
				}
			}
			fmt.Fprintf(g.stdout, "replayed %d of %d dead letter(s) as %s\n", len(ids)-failed, len(ids), who)
			if failed > 0 {
				return &ExitError{Code: 1}
			}
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().BoolVar(&all, "all", false, "replay every open dead letter")
	cmd.Flags().StringVar(&by, "by", "", "operator name for the audit trail (default $WAYBILL_OPERATOR or $USER)")
	return cmd
}

func newDLQDiscardCmd(g *globals) *cobra.Command {
	var by, why string
	cmd := &cobra.Command{
		Use:   "discard ID --why TEXT",
		Short: "Close a dead letter without replaying it (audited)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if why == "" {
				return &ExitError{Code: 2, Err: fmt.Errorf("--why is required: say why this dead letter needs no replay")}
			}
			h, st, err := g.operatorHub(cmd.Context())
			if err != nil {
				return err
			}
			defer st.DB.Close()
			if err := h.Discard(cmd.Context(), args[0], operatorName(by), why); err != nil {
				return &ExitError{Code: 1, Err: err}
			}
			fmt.Fprintf(g.stdout, "discarded %s\n", args[0])
			return nil
		},
	}
	cmd.Flags().StringVar(&why, "why", "", "reason, for the audit trail")
	cmd.Flags().StringVar(&by, "by", "", "operator name (default $WAYBILL_OPERATOR or $USER)")
	return cmd
}

func age(t time.Time) string {
	d := time.Since(t)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

func clip(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// excerpt returns the start of a payload as printable text.
func excerpt(b []byte, n int) string {
	if len(b) > n {
		b = b[:n]
	}
	var sb strings.Builder
	for _, r := range string(b) {
		switch {
		case r == '\n' || r == '\t':
			sb.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&sb, "\\x%02x", r)
		default:
			sb.WriteRune(r)
		}
	}
	return sb.String()
}

func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i := range lines {
		lines[i] = prefix + lines[i]
	}
	return strings.Join(lines, "\n")
}
