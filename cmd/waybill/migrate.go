package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newMigrateCmd(g *globals) *cobra.Command {
	var status bool
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply the store's schema migrations (the hub also applies them at start)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, st, err := g.openStorage(cmd.Context())
			if err != nil {
				return err
			}
			defer st.DB.Close()
			fmt.Fprintf(g.stdout, "schema up to date (%s)\n", cfg.Database.Driver)
			if status {
				lines, err := st.DB.MigrationStatus(cmd.Context())
				if err != nil {
					return err
				}
				for _, l := range lines {
					fmt.Fprintln(g.stdout, l)
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&status, "status", false, "list the migrations and their state")
	return cmd
}
