package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"
)

// newAcksCmd returns `waybill acks`: overdue lists outbound X12 documents whose functional
// acknowledgement (997/999) did not come within the partner's SLA. Exit status: 0 when none is
// overdue, 1 when some are, 2 for usage or store problems.
func newAcksCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "acks", Short: "Acknowledgements of outbound X12 documents"}
	var limit int
	overdue := &cobra.Command{
		Use:   "overdue",
		Short: "List outbound documents whose 997/999 is overdue per the partner's SLA",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			_, st, err := g.openStorage(ctx)
			if err != nil {
				return exitErr(2, err)
			}
			defer st.DB.Close()
			now := time.Now().UTC()
			list, err := st.DB.OverdueEDIOutbound(ctx, now, limit)
			if err != nil {
				return exitErr(2, err)
			}
			out := cmd.OutOrStdout()
			if len(list) == 0 {
				fmt.Fprintln(out, "no acknowledgement is overdue")
				return nil
			}
			fmt.Fprintf(out, "%-12s %-4s %-10s %-10s %-6s %-20s %-12s %s\n", "PARTNER", "SET", "ISA13", "GS06", "ST02", "DUE", "LATE BY", "MESSAGE")
			for _, o := range list {
				fmt.Fprintf(out, "%-12s %-4s %-10s %-10s %-6s %-20s %-12s %s\n", o.Partner, o.SetID, o.Interchange, o.Group, o.SetControl,
					o.AckDueAt.Format(time.RFC3339), now.Sub(o.AckDueAt).Truncate(time.Minute), o.MessageID)
			}
			return exitErr(1, fmt.Errorf("%d acknowledgements overdue", len(list)))
		},
	}
	overdue.Flags().IntVar(&limit, "limit", 100, "list at most this many")
	cmd.AddCommand(overdue)
	return cmd
}
