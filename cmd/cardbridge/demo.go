package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/cardbridge/cardbridge/daemon"
	"github.com/cardbridge/cardbridge/demo"
	"github.com/spf13/cobra"
)

// demoCmd is `cardbridge demo`: the zero-setup first run.
func (a *app) demoCmd() *cobra.Command {
	var dir, listen string
	var contacts int
	var debounce time.Duration
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "A first run that needs no account: simulated Office 365 <-> the built-in CardDAV server and its web page",
		Long: `Start everything cardbridge does, with no account and no configuration: a simulated Office 365 (graphsim, on a random loopback port)
holding a few hundred sample contacts, the built-in CardDAV server with a
user "demo" and a random password, its web page, and a pair that syncs the
two both ways every minute (and a few seconds after a phone or mail client
changes the address book). The first sync shows a progress bar on a
terminal; then the web URL, the CardDAV URL and the credentials are
printed. It listens on this computer only, unless --listen 0.0.0.0:5232
lets phones on the same network in (plain HTTP: a warning says so); then
it prints this machine's network addresses for them. Ctrl-C stops it all.
The workspace (configuration, state) is a temporary folder removed at
exit, unless --dir names one to keep.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.demo(cmd.Context(), dir, listen, contacts, debounce)
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "dir", "", "workspace folder, new or empty, kept at exit (default: a temporary folder, removed at exit)")
	f.StringVar(&listen, "listen", "", "address of the CardDAV server and web page (default "+demo.Listen+", or a free port when that is busy; 0.0.0.0:5232 lets phones on the same network connect, over plain HTTP)")
	f.IntVar(&contacts, "contacts", demo.Contacts, "how many sample contacts the simulated Office 365 starts with")
	f.DurationVar(&debounce, "debounce", daemon.DefaultDebounce, "how long after a client's last change the pair runs")
	return cmd
}

// demo runs the demo until ctx ends (Ctrl-C, SIGTERM): a workspace in dir
// (a temporary one for ""), the server on listen, contacts sample contacts.
func (a *app) demo(ctx context.Context, dir, listen string, contacts int, debounce time.Duration) error {
	a.env = demo.WithoutConfigEnv(a.env)
	w, keep, err := demo.NewWorkspace(dir, listen, contacts)
	if err != nil {
		if errors.Is(err, demo.ErrUsage) {
			return withCode(exitUsage, err)
		}
		return withCode(exitFailed, err)
	}
	if keep {
		defer fmt.Fprintf(a.stdout, "The demo's workspace stays in %s (its Office 365 was simulated in memory and is gone).\n", w.Dir)
	} else {
		defer func() {
			if err := os.RemoveAll(w.Dir); err != nil {
				fmt.Fprintf(a.stderr, "cardbridge: removing the demo workspace %s: %v\n", w.Dir, err)
				return
			}
			fmt.Fprintf(a.stdout, "Removed the demo workspace %s.\n", w.Dir)
		}()
	}
	stopSim, err := demo.StartGraphsim(ctx, w, a.log)
	if err != nil {
		return withCode(exitFailed, err)
	}
	defer stopSim()
	cfg, err := demo.Setup(ctx, w, a.env, a.log)
	if err != nil {
		return withCode(exitFailed, err)
	}

	fmt.Fprint(a.stdout, w.Intro()+"\nFirst sync:\n")
	code := a.syncOnce(ctx, cfg, []string{demo.Pair}, syncFlags{})
	if ctx.Err() != nil {
		fmt.Fprintln(a.stdout, "Interrupted during the first sync; stopped.")
		return nil
	}
	if code != exitOK {
		return withCode(code, fmt.Errorf("demo: the first sync failed (%s)", exitMessage(code)))
	}

	// Serve, and print where to connect once the server answers.
	printCtx, stopPrint := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		if demo.WaitHTTP(printCtx, w.BaseURL()+"/healthz", demo.ReadyWait) {
			fmt.Fprint(a.stdout, w.Instructions())
		}
	})
	err = a.serve(ctx, cfg, debounce)
	stopPrint()
	wg.Wait()
	stopSim()
	if err != nil {
		return err
	}
	fmt.Fprintln(a.stdout, "Stopped: the server, the scheduler and the simulated Office 365.")
	return nil
}
