package graphsim

import (
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func parseCommandOptions(t *testing.T, args ...string) *CommandOptions {
	t.Helper()
	var o CommandOptions
	f := pflag.NewFlagSet("graphsim", pflag.ContinueOnError)
	o.AddFlags(f)
	if err := f.Parse(args); err != nil {
		t.Fatalf("parse %v: %v", args, err)
	}
	return &o
}

func TestCommandOptionsCheck(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		wantErr string
		check   func(t *testing.T, o *CommandOptions, opts Options, chaos *Chaos)
	}{
		{name: "defaults", check: func(t *testing.T, o *CommandOptions, opts Options, chaos *Chaos) {
			if o.Listen != "127.0.0.1:5233" || o.Contacts != 100 || opts.Cloud != CloudGlobal {
				t.Errorf("defaults: listen %q contacts %d cloud %q", o.Listen, o.Contacts, opts.Cloud)
			}
			if chaos != nil {
				t.Errorf("no fault flag, yet chaos %+v", chaos)
			}
			if o.Chaos.Stall != 2*time.Second || o.Chaos.LargePage != 50 || !o.Chaos.SubRequests {
				t.Errorf("chaos defaults: %+v", o.Chaos)
			}
		}},
		{name: "faults draw from the seed", args: []string{"--fault-429", "0.2", "--seed", "7", "--cloud", "China"},
			check: func(t *testing.T, o *CommandOptions, opts Options, chaos *Chaos) {
				if chaos == nil || chaos.P429 != 0.2 || chaos.Seed != 7 {
					t.Fatalf("chaos %+v, want P429 0.2 seed 7", chaos)
				}
				if opts.Cloud != CloudChina || opts.Seed != 7 {
					t.Errorf("opts cloud %q seed %d", opts.Cloud, opts.Seed)
				}
			}},
		{name: "options", args: []string{"--latency", "20ms", "--max-page-size", "10", "--redirect-uri", "https://dav.example.com/ui/connect/callback"},
			check: func(t *testing.T, o *CommandOptions, opts Options, chaos *Chaos) {
				if opts.Latency != 20*time.Millisecond || opts.MaxPageSize != 10 || len(o.Redirects) != 1 {
					t.Errorf("opts %+v redirects %v", opts, o.Redirects)
				}
			}},
		{name: "unknown cloud", args: []string{"--cloud", "mars"}, wantErr: "--cloud: graphsim: unknown cloud"},
		{name: "bad probability", args: []string{"--fault-503", "1.5"}, wantErr: "--fault-503 1.5"},
		{name: "bad redirect", args: []string{"--redirect-uri", "http://dav.example.com/cb"}, wantErr: "redirect"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := parseCommandOptions(t, tc.args...)
			opts, chaos, err := o.Check()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Check() error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Check(): %v", err)
			}
			tc.check(t, o, opts, chaos)
		})
	}
}
