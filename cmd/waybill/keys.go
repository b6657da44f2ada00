package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/waybill-hub/waybill/internal/config"
	"github.com/waybill-hub/waybill/internal/portal"
	"github.com/waybill-hub/waybill/internal/store"
)

// newKeysCmd manages the customer portal's API keys.
func newKeysCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Portal API keys: create, list, revoke (keys are stored hashed; several may be active for rotation)",
	}
	cmd.AddCommand(newKeysCreateCmd(g), newKeysListCmd(g), newKeysRevokeCmd(g))
	return cmd
}

func newKeysCreateCmd(g *globals) *cobra.Command {
	var client, name string
	var accounts, scopes []string
	var rate, burst int
	var expires time.Duration
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "create --account ACCOUNT [--account ...] [--scope SCOPE ...]",
		Short: "Create an API key and print it (once: only its hash is kept)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(accounts) == 0 {
				return &ExitError{Code: 2, Err: fmt.Errorf("--account is required (repeat it for a portal operator allowed several accounts)")}
			}
			if len(scopes) == 0 {
				scopes = portal.AllScopes
			}
			if err := portal.CheckScopes(scopes); err != nil {
				return &ExitError{Code: 2, Err: err}
			}
			cfg, st, err := g.openStorage(cmd.Context())
			if err != nil {
				return err
			}
			defer st.DB.Close()
			if !slices.ContainsFunc(cfg.Partners, func(p config.Partner) bool { return p.ID == client }) {
				fmt.Fprintf(g.stderr, "warning: no partner %q is configured; add it under partners: so that its orders are processed\n", client)
			}
			key, id, hash := portal.NewKey()
			k := &store.PortalKey{ID: id, Hash: hash, Name: name, Client: client, Accounts: accounts, Scopes: scopes, RateLimit: rate, Burst: burst}
			if expires > 0 {
				k.ExpiresAt = time.Now().UTC().Add(expires)
			}
			if err := st.DB.InsertPortalKey(cmd.Context(), k); err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(g.stdout).Encode(map[string]any{"id": id, "key": key, "client": client, "accounts": accounts, "scopes": scopes})
			}
			fmt.Fprintf(g.stdout, "key %s created for %s (accounts %s; scopes %s)\n%s\n", id, client, strings.Join(accounts, ", "),
				strings.Join(scopes, " "), key)
			fmt.Fprintln(g.stderr, "store the key now: it cannot be shown again")
			return nil
		},
	}
	cmd.Flags().StringVar(&client, "client", "portal", "the portal client (a configured partner) its orders come from")
	cmd.Flags().StringVar(&name, "name", "", "a label, e.g. the environment or the person it was given to")
	cmd.Flags().StringArrayVar(&accounts, "account", nil, "customer account the key acts for (repeatable)")
	cmd.Flags().StringArrayVar(&scopes, "scope", nil, "scope (repeatable; default all): "+strings.Join(portal.AllScopes, ", "))
	cmd.Flags().IntVar(&rate, "rate", 0, "requests per second (0: the server default)")
	cmd.Flags().IntVar(&burst, "burst", 0, "burst size (0: the server default)")
	cmd.Flags().DurationVar(&expires, "expires", 0, "expire after this long (0: never)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func keyState(k *store.PortalKey, now time.Time) string {
	switch {
	case !k.RevokedAt.IsZero():
		return "revoked"
	case !k.Active(now):
		return "expired"
	}
	return "active"
}

func newKeysListCmd(g *globals) *cobra.Command {
	var client string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List API keys (never their secrets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, st, err := g.openStorage(cmd.Context())
			if err != nil {
				return err
			}
			defer st.DB.Close()
			keys, err := st.DB.PortalKeys(cmd.Context(), client)
			if err != nil {
				return err
			}
			now := time.Now()
			if asJSON {
				type view struct {
					ID        string    `json:"id"`
					Name      string    `json:"name,omitempty"`
					Client    string    `json:"client"`
					Accounts  []string  `json:"accounts"`
					Scopes    []string  `json:"scopes"`
					State     string    `json:"state"`
					CreatedAt time.Time `json:"created_at"`
				}
				out := []view{}
				for _, k := range keys {
					out = append(out, view{k.ID, k.Name, k.Client, k.Accounts, k.Scopes, keyState(k, now), k.CreatedAt})
				}
				return json.NewEncoder(g.stdout).Encode(out)
			}
			if len(keys) == 0 {
				fmt.Fprintln(g.stdout, "no API keys")
				return nil
			}
			tw := tabwriter.NewWriter(g.stdout, 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tCLIENT\tACCOUNTS\tSCOPES\tSTATE\tCREATED")
			for _, k := range keys {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Name, k.Client, strings.Join(k.Accounts, ","), strings.Join(k.Scopes, " "),
					keyState(k, now), k.CreatedAt.Format(time.RFC3339))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&client, "client", "", "only this client's keys")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newKeysRevokeCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke an API key (takes effect within the server's key cache time, 10 s by default)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, st, err := g.openStorage(cmd.Context())
			if err != nil {
				return err
			}
			defer st.DB.Close()
			id := args[0]
			if kid, _, ok := portal.ParseKey(id); ok {
				id = kid // a whole key was pasted
			}
			if err := st.DB.RevokePortalKey(cmd.Context(), id); err != nil {
				return &ExitError{Code: 1, Err: fmt.Errorf("revoking key %s: %w", id, err)}
			}
			fmt.Fprintf(g.stdout, "key %s revoked\n", id)
			return nil
		},
	}
}
