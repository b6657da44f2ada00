package main

import (
	"bytes"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/waybill-hub/waybill/internal/edi"
	"github.com/waybill-hub/waybill/internal/partner"
	"github.com/waybill-hub/waybill/mappings"
	"github.com/waybill-hub/waybill/x12"
)

// newMappingCmd returns `waybill mapping`: test runs the golden examples of the mapping library,
// diff re-translates a stored message with two mapping versions. Exit status: 0 when every
// example passes (or the diff ran), 1 when an example fails, 2 for usage or I/O problems.
func newMappingCmd(g *globals) *cobra.Command {
	var dir, partnersDir string
	cmd := &cobra.Command{Use: "mapping", Short: "Test mappings against their golden examples; replay stored messages with another version"}
	cmd.PersistentFlags().StringVar(&dir, "mappings", "", "mapping directory (default: the built-in library)")
	cmd.PersistentFlags().StringVar(&partnersDir, "partners", os.Getenv("WAYBILL_PARTNERS_DIR"), "partner profile directory")
	lib := func() *edi.Library {
		if dir != "" {
			return edi.NewLibrary(os.DirFS(dir))
		}
		return edi.NewLibrary(mappings.FS)
	}
	versionOf := func() (func(string) string, error) {
		reg := partner.NewRegistry()
		if partnersDir != "" {
			var err error
			if reg, err = partner.LoadDir(partnersDir); err != nil {
				return nil, err
			}
		}
		return func(id string) string {
			if p, ok := reg.Profile(id); ok {
				return p.X12.Version
			}
			return "004010"
		}, nil
	}
	test := &cobra.Command{
		Use:   "test [PARTNER]",
		Short: "Run every golden example (of PARTNER's overlays and the bases) and print a diff for failures",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			vo, err := versionOf()
			if err != nil {
				return exitErr(2, err)
			}
			p := ""
			if len(args) == 1 {
				p = args[0]
			}
			res, err := lib().RunExamples(p, vo)
			if err != nil {
				return exitErr(2, err)
			}
			failed := 0
			out := cmd.OutOrStdout()
			for _, r := range res {
				switch {
				case r.Err != nil:
					failed++
					fmt.Fprintf(out, "FAIL %s %s: %v\n", r.Mapping, r.Name, r.Err)
				case !r.OK():
					failed++
					fmt.Fprintf(out, "FAIL %s %s\n%s", r.Mapping, r.Name, r.Diff())
				default:
					fmt.Fprintf(out, "ok   %s %s\n", r.Mapping, r.Name)
				}
			}
			fmt.Fprintf(out, "%d examples, %d failed\n", len(res), failed)
			if failed > 0 {
				return exitErr(1, fmt.Errorf("%d mapping examples failed", failed))
			}
			return nil
		},
	}
	var doc, from, to, msgID string
	diff := &cobra.Command{
		Use:   "diff PARTNER --doc 850 --from V1 --to V2 --message ID",
		Short: "Re-translate a stored message with two mapping versions and show how the output changes",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			vo, err := versionOf()
			if err != nil {
				return exitErr(2, err)
			}
			ctx := cmd.Context()
			_, st, err := g.openStorage(ctx)
			if err != nil {
				return exitErr(2, err)
			}
			defer st.DB.Close()
			msg, err := st.DB.Message(ctx, msgID)
			if err != nil {
				return exitErr(2, fmt.Errorf("message %s: %w", msgID, err))
			}
			if msg.Payload == nil {
				return exitErr(2, fmt.Errorf("message %s has no stored payload (archived?)", msgID))
			}
			version := vo(args[0])
			if v := groupVersion(msg.Payload); v != "" {
				version = v // the version the partner actually sent wins over the profile's
			}
			var outs [2][]byte
			for i, v := range []string{from, to} {
				m, err := lib().Resolve(args[0], version, doc, v)
				if err != nil {
					return exitErr(2, err)
				}
				if outs[i], err = m.TranslateAll(msg.Payload); err != nil {
					return exitErr(1, fmt.Errorf("translating with %s: %w", v, err))
				}
			}
			r := edi.ExampleResult{Want: outs[0], Got: outs[1]}
			if r.OK() {
				fmt.Fprintf(cmd.OutOrStdout(), "%s and %s translate message %s identically\n", from, to, msgID)
				return nil
			}
			fmt.Fprintf(cmd.OutOrStdout(), "--- %s\n+++ %s\n%s", from, to, r.Diff())
			return nil
		},
	}
	diff.Flags().StringVar(&doc, "doc", "850", "transaction set")
	diff.Flags().StringVar(&from, "from", "", "mapping version to compare from")
	diff.Flags().StringVar(&to, "to", "", "mapping version to compare to")
	diff.Flags().StringVar(&msgID, "message", "", "stored message id")
	_ = diff.MarkFlagRequired("from")
	_ = diff.MarkFlagRequired("to")
	_ = diff.MarkFlagRequired("message")
	cmd.AddCommand(test, diff)
	return cmd
}

func exitErr(code int, err error) error { return &ExitError{Code: code, Err: err} }

// groupVersion returns the schema version of the first functional group of an interchange ("" when
// there is none).
func groupVersion(payload []byte) string {
	dec := x12.NewDecoder(bytes.NewReader(payload))
	for {
		ev, err := dec.Next()
		if err != nil {
			return ""
		}
		if ev.Kind == x12.GroupStart {
			v, _ := x12.SchemaVersion(ev.Group.Version)
			return v
		}
	}
}
