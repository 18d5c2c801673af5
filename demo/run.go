package demo

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"

	"github.com/cardbridge/cardbridge/config"
)

// RunOptions are what Run takes from the CLI: the flags, the streams, the
// environment, and how to sync the demo's pair once and to serve (the
// CLI's own sync and serve, which print progress and choose exit codes).
type RunOptions struct {
	// Dir is the workspace folder ("" for a temporary one, removed at
	// exit), Listen the server's address ("" for the default), Contacts
	// how many sample contacts the simulated Office 365 starts with.
	Dir, Listen string
	Contacts    int

	Stdout, Stderr io.Writer
	// Env is the environment the state's token key is looked up in
	// (without the CLI's configuration variables: WithoutConfigEnv).
	Env    []string
	Logger *slog.Logger

	// Sync runs the pair Pair of cfg once; Serve serves cfg until ctx
	// ends. Their errors come back from Run as they are.
	Sync, Serve func(ctx context.Context, cfg *config.Config) error
}

// Run runs the demo until ctx ends (Ctrl-C, SIGTERM): a workspace
// (NewWorkspace; an error wraps ErrUsage for bad flags), the simulated
// Office 365, the first sync, then the server, printing where to connect
// once it answers. A ctx ended during the first sync stops it quietly.
func Run(ctx context.Context, o RunOptions) error {
	w, keep, err := NewWorkspace(o.Dir, o.Listen, o.Contacts)
	if err != nil {
		return err
	}
	if keep {
		defer fmt.Fprintf(o.Stdout, "The demo's workspace stays in %s (its Office 365 was simulated in memory and is gone).\n", w.Dir)
	} else {
		defer func() {
			if err := os.RemoveAll(w.Dir); err != nil {
				fmt.Fprintf(o.Stderr, "cardbridge: removing the demo workspace %s: %v\n", w.Dir, err)
				return
			}
			fmt.Fprintf(o.Stdout, "Removed the demo workspace %s.\n", w.Dir)
		}()
	}
	stopSim, err := StartGraphsim(ctx, w, o.Logger)
	if err != nil {
		return err
	}
	defer stopSim()
	cfg, err := Setup(ctx, w, o.Env, o.Logger)
	if err != nil {
		return err
	}

	fmt.Fprint(o.Stdout, w.Intro()+"\nFirst sync:\n")
	err = o.Sync(ctx, cfg)
	if ctx.Err() != nil {
		fmt.Fprintln(o.Stdout, "Interrupted during the first sync; stopped.")
		return nil
	}
	if err != nil {
		return err
	}

	// Serve, and print where to connect once the server answers.
	printCtx, stopPrint := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		if WaitHTTP(printCtx, w.BaseURL()+"/healthz", ReadyWait) {
			fmt.Fprint(o.Stdout, w.Instructions())
		}
	})
	err = o.Serve(ctx, cfg)
	stopPrint()
	wg.Wait()
	stopSim()
	if err != nil {
		return err
	}
	fmt.Fprintln(o.Stdout, "Stopped: the server, the scheduler and the simulated Office 365.")
	return nil
}
