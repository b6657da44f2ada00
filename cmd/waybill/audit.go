package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newAuditCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "The hash-chained audit trail"}
	var seal bool
	verify := &cobra.Command{
		Use:   "verify",
		Short: "Recompute the audit trail's hash chain and report edited or deleted records",
		Long: `Recompute the hash chain over every sealed audit record. An edited record, a deleted record or a
forged chain head is reported with its sequence number, and the exit status is 1. Records newer
than the chain head (written since the last seal) are counted; --seal seals them first.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			_, st, err := g.openStorage(ctx)
			if err != nil {
				return err
			}
			defer st.DB.Close()
			if seal {
				n, err := st.DB.SealAudit(ctx)
				if err != nil {
					return err
				}
				fmt.Fprintf(g.stdout, "sealed %d record(s)\n", n)
			}
			rep, err := st.DB.VerifyAudit(ctx)
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "checked %d sealed record(s) up to #%d; %d newer record(s) not sealed yet\n", rep.Checked, rep.HeadSeq, rep.Unsealed)
			if rep.OK() {
				fmt.Fprintln(g.stdout, "audit trail intact")
				return nil
			}
			for _, p := range rep.Problems {
				fmt.Fprintf(g.stdout, "record #%d: %s\n", p.Seq, p.Problem)
			}
			return &ExitError{Code: 1, Err: fmt.Errorf("audit trail verification failed: %d problem(s)", len(rep.Problems))}
		},
	}
	verify.Flags().BoolVar(&seal, "seal", false, "seal records written since the last seal before verifying")
	cmd.AddCommand(verify)
	return cmd
}
