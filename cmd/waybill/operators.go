package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/waybill-hub/waybill/internal/dashboard"
	"github.com/waybill-hub/waybill/internal/store"
)

// PasswordEnv holds an operator's password for "waybill operators create" when stdin is not used.
const PasswordEnv = "WAYBILL_OPERATOR_PASSWORD"

func newOperatorsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "operators",
		Short: "Dashboard operators: create (or reset), list, disable",
	}
	cmd.AddCommand(newOperatorsCreateCmd(g), newOperatorsListCmd(g), newOperatorsDisableCmd(g))
	return cmd
}

func newOperatorsCreateCmd(g *globals) *cobra.Command {
	var role string
	cmd := &cobra.Command{
		Use:   "create NAME --role viewer|operator|admin",
		Short: "Create an operator, or reset an existing one's role and password",
		Long: `Create a dashboard operator with a role: viewer (sees every page), operator (also replays,
discards and releases holds) or admin (also manages partners, keys and mappings).

The password is read from $` + PasswordEnv + ` when set, otherwise from the first line of standard
input (so that it never appears in the process list or the shell history). It must be at least
10 characters. Creating an operator that exists resets its role and password and signs it out.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := dashboard.ParseRole(role)
			if err != nil {
				return &ExitError{Code: 2, Err: err}
			}
			pw, err := readPassword(cmd.InOrStdin())
			if err != nil {
				return &ExitError{Code: 2, Err: err}
			}
			_, st, err := g.openStorage(cmd.Context())
			if err != nil {
				return err
			}
			defer st.DB.Close()
			if err := dashboard.CreateOperator(cmd.Context(), st.DB, args[0], r, pw); err != nil {
				return &ExitError{Code: 2, Err: err}
			}
			fmt.Fprintf(g.stdout, "operator %s saved with role %s\n", args[0], r)
			return nil
		},
	}
	cmd.Flags().StringVar(&role, "role", "", "viewer, operator or admin (required)")
	_ = cmd.MarkFlagRequired("role")
	return cmd
}

func readPassword(stdin io.Reader) (string, error) {
	if pw := os.Getenv(PasswordEnv); pw != "" {
		return pw, nil
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("reading the password from standard input: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", fmt.Errorf("no password: set $%s or pass it on standard input", PasswordEnv)
	}
	return pw, nil
}

func newOperatorsListCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List operators and their roles",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, st, err := g.openStorage(cmd.Context())
			if err != nil {
				return err
			}
			defer st.DB.Close()
			ops, err := st.DB.Operators(cmd.Context())
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tROLE\tSTATE\tUPDATED")
			for _, op := range ops {
				state := "active"
				if op.Disabled {
					state = "disabled"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", op.Name, op.Role, state, op.UpdatedAt.Format("2006-01-02 15:04"))
			}
			return tw.Flush()
		},
	}
}

func newOperatorsDisableCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "disable NAME",
		Short: "Disable an operator and end its sessions (create it again to re-enable)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, st, err := g.openStorage(cmd.Context())
			if err != nil {
				return err
			}
			defer st.DB.Close()
			ctx := cmd.Context()
			op, err := st.DB.Operator(ctx, args[0])
			if errors.Is(err, store.ErrNotFound) {
				return &ExitError{Code: 1, Err: fmt.Errorf("no operator %s", args[0])}
			}
			if err != nil {
				return err
			}
			op.Disabled = true
			if err := st.DB.PutOperator(ctx, *op); err != nil {
				return err
			}
			n, err := st.DB.DeleteOperatorSessions(ctx, op.Name)
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "operator %s disabled; %d sessions ended\n", op.Name, n)
			return nil
		},
	}
}
