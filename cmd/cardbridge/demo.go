package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/cardbridge/cardbridge/vcard"
	"github.com/spf13/cobra"
)

// demoNames are the sample contacts of the demo.
var demoNames = [][2]string{
	{"Ada", "Lovelace"}, {"Grace", "Hopper"}, {"Alan", "Turing"}, {"Katherine", "Johnson"},
	{"Edsger", "Dijkstra"}, {"Barbara", "Liskov"}, {"Donald", "Knuth"}, {"Margaret", "Hamilton"},
	{"Zdzisław", "Wójcik"}, {"Øyvind", "Ångström"}, {"Seán", "O'Brien"}, {"李", "明"},
}

func (a *app) demoCmd() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "A first run that needs no account: sync two sample vCard directories both ways",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if dir == "" {
				d, err := os.MkdirTemp("", "cardbridge-demo-")
				if err != nil {
					return withCode(exitFailed, err)
				}
				dir = d
			}
			phone, laptop := filepath.Join(dir, "phone"), filepath.Join(dir, "laptop")
			for _, d := range []string{phone, laptop} {
				if err := os.MkdirAll(d, 0o700); err != nil {
					return withCode(exitFailed, err)
				}
			}
			// The phone has every contact; the laptop has most of them (the
			// same contacts, saved by another program), one edited there, and
			// two of its own.
			for i, n := range demoNames {
				c := demoCard(i, n[0], n[1])
				if err := os.WriteFile(filepath.Join(phone, fmt.Sprintf("contact-%02d.vcf", i)), c.Encode(), 0o600); err != nil {
					return withCode(exitFailed, err)
				}
				if i >= 9 {
					continue
				}
				if i == 2 {
					c.Set(vcard.NewText("TITLE", "Mathematician (edited on the laptop)"))
				}
				if err := os.WriteFile(filepath.Join(laptop, c.UID()+".vcf"), c.ConvertTo(vcard.V40).Encode(), 0o600); err != nil {
					return withCode(exitFailed, err)
				}
			}
			for i, n := range [][2]string{{"Linus", "Torvalds"}, {"Frances", "Allen"}} {
				c := demoCard(100+i, n[0], n[1])
				if err := os.WriteFile(filepath.Join(laptop, c.UID()+".vcf"), c.Encode(), 0o600); err != nil {
					return withCode(exitFailed, err)
				}
			}
			cfgPath := filepath.Join(dir, "config.yaml")
			cfgText := fmt.Sprintf("state: %s\npairs:\n  demo:\n    a: {type: vdir, path: %s}\n    b: {type: vdir, path: %s}\n    conflict: merge\n",
				filepath.Join(dir, "state.db"), phone, laptop)
			if err := os.WriteFile(cfgPath, []byte(cfgText), 0o600); err != nil {
				return withCode(exitFailed, err)
			}
			fmt.Fprintf(a.stdout, "demo workspace: %s\n  phone:  %d contacts in %s\n  laptop: %d contacts in %s (9 shared, saved as vCard 4.0, one edited; 2 of its own)\n\n",
				dir, len(demoNames), phone, 11, laptop)
			a.configPath = cfgPath
			cfg, err := a.loadConfig()
			if err != nil {
				return err
			}
			fmt.Fprintln(a.stdout, "first sync (shared contacts are matched, not copied; the edit travels to the phone):")
			if code := a.syncOnce(cmd.Context(), cfg, []string{"demo"}, syncFlags{}); code != exitOK {
				return withCode(code, fmt.Errorf("demo sync failed"))
			}
			fmt.Fprintln(a.stdout, "\nsecond sync (nothing changed, nothing written):")
			if code := a.syncOnce(cmd.Context(), cfg, []string{"demo"}, syncFlags{}); code != exitOK {
				return withCode(code, fmt.Errorf("demo sync failed"))
			}
			fmt.Fprintf(a.stdout, "\nTry it: edit or delete a file in %s, then\n  cardbridge --config %s sync --dry-run\n  cardbridge --config %s sync\n  cardbridge --config %s trash list\n", laptop, cfgPath, cfgPath, cfgPath)
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "workspace folder (default: a new temporary folder)")
	return cmd
}

func demoCard(i int, given, family string) *vcard.Card {
	c := vcard.New(vcard.V30)
	c.SetUID(fmt.Sprintf("cardbridge-demo-%04d", i))
	c.SetFN(given + " " + family)
	c.Set(vcard.NewStructured("N", family, given, "", "", ""))
	c.Props = append(c.Props,
		vcard.NewText("EMAIL", fmt.Sprintf("contact%02d@example.org", i)),
		vcard.NewText("TEL", fmt.Sprintf("+48 600 100 %03d", i)))
	return c
}
