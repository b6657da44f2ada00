package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/waybill-hub/waybill/internal/app"
)

func newArchiveCmd(g *globals) *cobra.Command {
	var restore string
	var days int
	cmd := &cobra.Command{
		Use:   "archive",
		Short: "Archive raw payloads past their retention and purge them from the database",
		Long: `Apply the retention policy now: payloads older than their document type's online period are
written gzip-compressed to the archive ($` + app.ArchiveDirEnv + `, default DATA_DIR/archive), then
set to NULL in the database; every message's metadata, the audit trail and trace stay.
"waybill serve" runs the same job on a schedule; this command is for cron or a one-off run.

With --restore MESSAGE_ID the archived payload of one message is put back into the database
(replaying its dead letter from the dashboard does this by itself).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, st, err := g.openStorage(cmd.Context())
			if err != nil {
				return err
			}
			defer st.DB.Close()
			arc := app.ArchiverFor(cfg, st.DB, g.logger(cfg))
			if restore != "" {
				if err := arc.Restore(cmd.Context(), restore); err != nil {
					return err
				}
				fmt.Fprintf(g.stdout, "payload of %s restored from the archive\n", restore)
				return nil
			}
			if cmd.Flags().Changed("days") {
				if days < 1 {
					return &ExitError{Code: 2, Err: fmt.Errorf("--days must be at least 1")}
				}
				arc.Policy.DefaultDays = days
			}
			res, err := arc.Run(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "archived and purged %d payloads (%d bytes)\n", res.Archived, res.Bytes)
			return nil
		},
	}
	cmd.Flags().StringVar(&restore, "restore", "", "put one message's archived payload back into the database")
	cmd.Flags().IntVar(&days, "days", 0, "keep payloads of every type without a rule this many days online (overrides the policy)")
	return cmd
}
