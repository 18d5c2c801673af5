package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStatusListsFailedItems: an item a run could not read is listed by
// `status` (an aligned table: side, id, reason, attempts, next retry) and `status --json`
// (failed_items), and the readable contact next to it syncs.
func TestStatusListsFailedItems(t *testing.T) {
	cfg, a, b, _ := workspace(t, "")
	os.WriteFile(filepath.Join(a, "good.vcf"), []byte("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:good\r\nFN:Good\r\nN:Good;;;;\r\nEND:VCARD\r\n"), 0o600)
	os.WriteFile(filepath.Join(a, "bad.vcf"), []byte("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:bad\r\nthis is not a vCard line\r\n"), 0o600)
	cb(t, nil, "--config", cfg, "sync")
	if files := vcfFiles(t, b); len(files) != 1 {
		t.Fatalf("b holds %d files, want the good one", len(files))
	}
	cases := []struct {
		name  string
		args  []string
		check func(t *testing.T, out string)
	}{
		{"text", []string{"status"}, func(t *testing.T, out string) {
			// Two aligned tables (pairs.WriteStatus): the pair with its
			// one failed item, then the item.
			lines := strings.Split(out, "\n")
			if len(lines) < 6 || !strings.HasPrefix(lines[0], "PAIR  A ") || !strings.Contains(lines[0], "  FAILED  LAST SYNC") ||
				!strings.HasPrefix(lines[1], "p     vdir ") || !strings.HasSuffix(lines[1], "  just now, ok") {
				t.Fatalf("status is not the pairs' table:\n%s", out)
			}
			if f := strings.Index(lines[0], "FAILED"); len(lines[1]) <= f || lines[1][f] != '1' {
				t.Errorf("FAILED column does not read 1:\n%s", out)
			}
			for _, want := range []string{"Items that failed", "PAIR  SIDE  ITEM     REASON", "\np     a     bad.vcf  ", "NEXT RETRY"} {
				if !strings.Contains(out, want) {
					t.Errorf("status output lacks %q:\n%s", want, out)
				}
			}
		}},
		{"json", []string{"status", "--json"}, func(t *testing.T, out string) {
			var st struct {
				Failed []struct {
					Side, ID, Reason string
					Attempts         int
					NextRetry        string `json:"next_retry"`
				} `json:"failed_items"`
			}
			if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &st); err != nil {
				t.Fatalf("status --json %q: %v", out, err)
			}
			if len(st.Failed) != 1 || st.Failed[0].Side != "a" || st.Failed[0].ID != "bad.vcf" || st.Failed[0].Attempts != 1 ||
				!strings.Contains(st.Failed[0].Reason, "unreadable") || st.Failed[0].NextRetry == "" {
				t.Errorf("failed_items = %+v, want a/bad.vcf, unreadable, 1 attempt, a next retry", st.Failed)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := cb(t, nil, append([]string{"--config", cfg}, c.args...)...)
			if r.code != 0 {
				t.Fatalf("%v: exit %d: %s", c.args, r.code, r.stderr)
			}
			c.check(t, r.stdout)
		})
	}
}
