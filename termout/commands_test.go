package termout

import (
	"bytes"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// testTree is a root with a group "trash" (list, purge) and a leaf "sync".
func testTree(out *bytes.Buffer) *cobra.Command {
	root := &cobra.Command{Use: "tool", SilenceErrors: true, SilenceUsage: true}
	trash := &cobra.Command{Use: "trash", Short: "the trash"}
	trash.AddCommand(&cobra.Command{Use: "list", Run: func(*cobra.Command, []string) {}},
		&cobra.Command{Use: "purge", Run: func(*cobra.Command, []string) {}})
	root.AddCommand(trash, &cobra.Command{Use: "sync", Short: "sync it", Run: func(*cobra.Command, []string) {}})
	root.SetOut(out)
	root.SetErr(out)
	StrictUsage(root)
	StrictHelp(root)
	return root
}

func TestStrictUsageAndHelp(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		wantErr string // "" for success
		wantOut string
	}{
		{args: []string{"trash", "pur"}, wantErr: `unknown command "pur" for "tool trash" (did you mean purge?); commands: list, purge`},
		{args: []string{"trash", "nothing"}, wantErr: `unknown command "nothing" for "tool trash"; commands: list, purge`},
		{args: []string{"trash"}, wantOut: "the trash"},
		{args: []string{"help", "sync"}, wantOut: "sync it"},
		{args: []string{"help", "snyc"}, wantErr: `help snyc: no such command: unknown command "snyc" for "tool"`},
		{args: []string{"help", "trash", "nothing"}, wantErr: `help trash nothing: no such command: unknown command "nothing" for "tool trash"`},
		{args: []string{"trash", "list"}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var out bytes.Buffer
			root := testTree(&out)
			root.SetArgs(tc.args)
			err := root.Execute()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("error %v", err)
			case tc.wantErr != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.wantErr)):
				t.Fatalf("error %v, want %q", err, tc.wantErr)
			}
			if !strings.Contains(out.String(), tc.wantOut) {
				t.Errorf("output %q, want it to contain %q", out.String(), tc.wantOut)
			}
		})
	}
}
