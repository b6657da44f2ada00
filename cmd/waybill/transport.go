package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/waybill-hub/waybill/internal/sftp"
	"github.com/waybill-hub/waybill/internal/transport"
)

// newSFTPCmd is "waybill sftp": helpers for the built-in SFTP mailbox.
func newSFTPCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "sftp", Short: "SFTP mailbox helpers: password hashes and host keys"}
	cmd.AddCommand(&cobra.Command{
		Use:   "hash-password",
		Short: "Read a password on standard input and print its bcrypt hash for a partner profile",
		Long: `Read a partner's mailbox password from standard input (the first line) and print the bcrypt hash
to put in its profile as transport.sftp.mailbox.password_hash. The password itself is never stored.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
			if err != nil && !errors.Is(err, io.EOF) {
				return err
			}
			pw := strings.TrimRight(line, "\r\n")
			if pw == "" {
				return &ExitError{Code: 2, Err: errors.New("no password on standard input")}
			}
			h, err := sftp.HashPassword(pw)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), h)
			return nil
		},
	})
	var out string
	hk := &cobra.Command{
		Use:   "host-key",
		Short: "Make the mailbox's SSH host key (Ed25519) and print its public key for partners to pin",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			priv, pub, err := transport.NewHostKey()
			if err != nil {
				return err
			}
			if err := writeNew(out, priv); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s (set transport.sftp.host_key_file); partners pin:\n%s", out, pub)
			return nil
		},
	}
	hk.Flags().StringVar(&out, "out", "sftp_host_key", "file to write the private key to (must not exist)")
	cmd.AddCommand(hk)
	return cmd
}

// newAS2Cmd is "waybill as2": certificates of our AS2 station.
func newAS2Cmd() *cobra.Command {
	cmd := &cobra.Command{Use: "as2", Short: "AS2 helpers: make and inspect certificates"}
	var id, certOut, keyOut, from string
	var days int
	nc := &cobra.Command{
		Use:   "new-cert",
		Short: "Make a self-signed certificate and key for our AS2 station (or a rollover certificate)",
		Long: `Make a self-signed RSA-2048 certificate and its key for an AS2 name. For a rollover without
downtime, set --not-before to the switch date, add the pair to transport.as2.cert_files/key_files
next to the current one, and send the certificate to the partners ahead of the date.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if id == "" {
				return &ExitError{Code: 2, Err: errors.New("--as2-id is required")}
			}
			nb := time.Now().UTC().Add(-time.Hour)
			if from != "" {
				t, err := time.Parse(time.DateOnly, from)
				if err != nil {
					return &ExitError{Code: 2, Err: fmt.Errorf("--not-before: %w", err)}
				}
				nb = t
			}
			c, k, err := transport.NewCertificate(id, nb, time.Duration(days)*24*time.Hour)
			if err != nil {
				return err
			}
			if err := writeNew(keyOut, k); err != nil {
				return err
			}
			if err := writeNew(certOut, c); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s and %s for %s, valid %s to %s\n", certOut, keyOut, id, nb.Format(time.DateOnly),
				nb.Add(time.Duration(days)*24*time.Hour).Format(time.DateOnly))
			return nil
		},
	}
	nc.Flags().StringVar(&id, "as2-id", "", "our AS2 name (required)")
	nc.Flags().StringVar(&certOut, "cert", "as2.crt", "certificate file to write (must not exist)")
	nc.Flags().StringVar(&keyOut, "key", "as2.key", "key file to write (must not exist)")
	nc.Flags().IntVar(&days, "days", 730, "validity in days")
	nc.Flags().StringVar(&from, "not-before", "", "start of validity, YYYY-MM-DD (default now)")
	cmd.AddCommand(nc)
	var warn time.Duration
	cmd.AddCommand(func() *cobra.Command {
		c := &cobra.Command{
			Use:   "certs FILE...",
			Short: "List the certificates of PEM files with their validity; exit 1 if one expires within --warn",
			Args:  cobra.MinimumNArgs(1),
			RunE: func(cmd *cobra.Command, files []string) error {
				now := time.Now()
				w := cmd.OutOrStdout()
				soon := 0
				type row struct {
					file, subject, serial string
					nb, na                time.Time
				}
				var rows []row
				for _, f := range files {
					certs, err := transport.LoadCertificates(f)
					if err != nil {
						return err
					}
					for _, c := range certs {
						rows = append(rows, row{f, c.Subject.String(), c.SerialNumber.Text(16), c.NotBefore, c.NotAfter})
					}
				}
				sort.SliceStable(rows, func(i, j int) bool { return rows[i].na.Before(rows[j].na) })
				for _, r := range rows {
					left := r.na.Sub(now)
					state := fmt.Sprintf("%d days left", int(left.Hours()/24))
					switch {
					case left < 0:
						state, soon = "EXPIRED", soon+1
					case now.Before(r.nb):
						state = "not yet valid (from " + r.nb.UTC().Format(time.DateOnly) + ")"
					case left < warn:
						state, soon = state+" (renew)", soon+1
					}
					fmt.Fprintf(w, "%s  %s  serial %s  %s → %s  %s\n", r.file, r.subject, r.serial, r.nb.UTC().Format(time.DateOnly),
						r.na.UTC().Format(time.DateOnly), state)
				}
				if soon > 0 {
					return &ExitError{Code: 1, Err: fmt.Errorf("%d certificate(s) expired or expiring within %s", soon, warn)}
				}
				return nil
			},
		}
		c.Flags().DurationVar(&warn, "warn", 30*24*time.Hour, "warn about certificates expiring within this time")
		return c
	}())
	return cmd
}

// newIntakeCmd is "waybill intake": tokens for the HTTP intake.
func newIntakeCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "intake", Short: "HTTP intake helpers"}
	cmd.AddCommand(&cobra.Command{
		Use:   "token",
		Short: "Make a bearer token for a partner's HTTP intake and print it with the hash for its profile",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tok, hash, err := transport.NewToken()
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "token (give to the partner, once): %s\ntoken_hash (transport.http.token_hash): %s\n", tok, hash)
			return nil
		},
	})
	return cmd
}

// writeNew writes a secret file that must not exist yet.
func writeNew(name string, data []byte) error {
	f, err := os.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
