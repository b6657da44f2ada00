package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

func newTraceCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "trace KEY",
		Short: "Show the chain of a PO number, message id, correlation id, control number or ERP reference",
		Long: `Print, in order, everything that happened to the documents a key belongs to: receipt, duplicates,
transitions, ERP calls, dead letters and replays, outbound documents and their acknowledgements.
KEY may be a PO number, a hub message or order id, a correlation id, an interchange control number,
an AS2 message id, or an ERP document name (sale order, invoice).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			h, st, err := g.operatorHub(ctx)
			if err != nil {
				return err
			}
			defer st.DB.Close()
			traces, err := h.Trace(ctx, args[0])
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(g.stdout).Encode(traces)
			}
			if len(traces) == 0 {
				return &ExitError{Code: 1, Err: fmt.Errorf("nothing is known about %q", args[0])}
			}
			w := g.stdout
			for i, t := range traces {
				if i > 0 {
					fmt.Fprintln(w)
				}
				fmt.Fprintf(w, "Correlation %s\n", t.CorrelationID)
				for _, m := range t.Messages {
					fmt.Fprintf(w, "  message %s: %s %s from %s over %s, %d bytes, %s\n", m.ID, m.Direction, m.DocType, m.Partner, m.Channel, m.Size, m.State)
				}
				for _, o := range t.Orders {
					erp := o.Order.ERP.Name
					if erp == "" {
						erp = "-"
					}
					fmt.Fprintf(w, "  order %s: PO %s, %s, ERP %s\n", o.Order.ID, o.Order.PONumber, o.Order.State, erp)
					for _, e := range t.Events[o.Order.ID] {
						from := string(e.From)
						if from == "" {
							from = "·"
						}
						reason := ""
						if e.Reason != "" {
							reason = " (" + e.Reason + ")"
						}
						fmt.Fprintf(w, "    %s  %s → %s by %s/%s%s\n", e.At.Format("15:04:05.000"), from, e.To, e.Source, e.Actor, reason)
					}
				}
				fmt.Fprintln(w, "  timeline:")
				for _, r := range t.Records {
					refs := ""
					if len(r.Refs) > 0 {
						refs = "  [" + strings.Join(r.Refs, " ") + "]"
					}
					fmt.Fprintf(w, "    %s  %-18s %s%s\n", r.At.Format(time.RFC3339Nano), r.Kind, r.Summary, refs)
				}
				for _, d := range t.DeadLetters {
					fmt.Fprintf(w, "  dead letter %s (%s): %s: %s\n", d.ID, d.State, d.Reason, d.Message)
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
