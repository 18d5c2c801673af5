// Command cardbridge keeps Office 365 contacts and the contacts people keep
// elsewhere (vCard directories, CardDAV servers) in step, both ways.
//
// This package is flags, wiring and printing only: one file per command,
// each turning flags and configuration into calls of the application
// layer (package pairs) and printing what comes back (package termout
// escapes what cards and servers wrote).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"github.com/cardbridge/cardbridge/buildinfo"
	"github.com/cardbridge/cardbridge/config"
	"github.com/cardbridge/cardbridge/o365/graph"
	"github.com/cardbridge/cardbridge/pairs"
	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/termout"
	"github.com/spf13/cobra"
)

// Exit codes of the CLI contract.
const (
	exitOK     = 0
	exitFailed = 1
	exitUsage  = 2
	exitGuard  = 3
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// exitError carries an exit code through cobra.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func withCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: code, err: err}
}

// app holds what every command shares: global flags, streams and, once
// loaded, the configuration.
type app struct {
	configPath string
	logLevel   string
	logFormat  string
	quiet      bool
	cpuProfile string
	// asJSON is the --json flag of the command run (each command that
	// takes it binds it here: one command runs per process).
	asJSON bool

	stdin          io.Reader
	stdout, stderr io.Writer
	// progressErr, when set, is where progress bars go instead of stderr
	// (the terminal itself, when stderr is wrapped).
	progressErr io.Writer
	env         []string
	log         *slog.Logger
	// limiters holds the in-flight limit of every Office 365 mailbox the
	// process works on: all pairs, serve's scheduler and the web page's
	// pairs share 4 requests per (Graph host, app, mailbox).
	limiters *graph.Limiters
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Environ())
	stop()
	os.Exit(code)
}

// run executes the CLI with the given arguments and streams and returns
// the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, env []string) int {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr, env: env, limiters: graph.NewLimiters(0)}
	root := a.rootCmd()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(stderr, "cardbridge:", termout.Block(err.Error()))
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	var ce *config.Error
	if errors.As(err, &ce) {
		return exitUsage
	}
	// Cobra's own errors (unknown flag or command) are usage errors.
	return exitUsage
}

func (a *app) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "cardbridge",
		Short:         "Keep Office 365 contacts and vCard directories / CardDAV address books in step",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       buildinfo.Current(version).String(),
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			if a.cpuProfile != "" {
				f, err := os.Create(a.cpuProfile)
				if err != nil {
					return withCode(exitUsage, err)
				}
				if err := pprof.StartCPUProfile(f); err != nil {
					return withCode(exitUsage, err)
				}
			}
			return a.setupLog()
		},
		PersistentPostRun: func(cmd *cobra.Command, args []string) {
			if a.cpuProfile != "" {
				pprof.StopCPUProfile()
			}
		},
	}
	f := root.PersistentFlags()
	f.StringVar(&a.configPath, "config", "", "configuration file (default $CARDBRIDGE_CONFIG or ~/.config/cardbridge/config.yaml)")
	f.StringVar(&a.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	f.StringVar(&a.logFormat, "log-format", "text", "log format: text or json")
	f.BoolVar(&a.quiet, "quiet", false, "print only errors")
	f.StringVar(&a.cpuProfile, "cpuprofile", "", "write a CPU profile to this file (for benchmarks)")
	f.MarkHidden("cpuprofile")
	root.AddCommand(a.syncCmd(), a.statusCmd(), a.conflictsCmd(), a.trashCmd(), a.versionCmd(), a.demoCmd(),
		a.loginCmd(), a.logoutCmd(), a.accountsCmd(), a.graphsimCmd(), a.userCmd(), a.serveCmd(), a.resetCmd(), a.stateCmd())
	root.SetVersionTemplate("{{.Version}}")
	root.InitDefaultCompletionCmd()
	termout.StrictUsage(root)
	termout.StrictHelp(root)
	a.completeIDs(root)
	return root
}

func (a *app) setupLog() error {
	l, err := termout.NewLogger(a.stderr, a.logLevel, a.logFormat, a.quiet)
	a.log = l
	return withCode(exitUsage, err)
}

// logger is the process's logger, one that discards when the root
// command's hooks did not run (cobra's completion requests).
func (a *app) logger() *slog.Logger {
	if a.log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return a.log
}

// loadConfig loads and validates the configuration.
func (a *app) loadConfig() (*config.Config, error) {
	cfg, err := config.Load(a.configPath, a.configPath != "", a.env)
	if err != nil {
		return nil, withCode(exitUsage, err)
	}
	return cfg, nil
}

// checkResources checks the files, directories and variables cfg names
// (config.CheckResources): what the commands that sync or sign in (sync,
// serve, login, accounts folders) use, checked before they start.
func (a *app) checkResources(cfg *config.Config) error {
	return withCode(exitUsage, config.CheckResources(cfg, a.env))
}

// configRunner loads the configuration and opens the application layer
// over it and its state (stateRunner). The caller closes the database.
func (a *app) configRunner(ctx context.Context, readOnly bool) (*pairs.Runner, *state.DB, error) {
	cfg, err := a.loadConfig()
	if err != nil {
		return nil, nil, err
	}
	return a.stateRunner(ctx, cfg, readOnly)
}

// stateRunner opens the state database of cfg with the key that seals
// its Office 365 tokens and the application layer over both (pairs.Open;
// readOnly opens it read-only, or an empty in-memory one when the file
// does not exist yet). The caller closes the database.
func (a *app) stateRunner(ctx context.Context, cfg *config.Config, readOnly bool) (*pairs.Runner, *state.DB, error) {
	// Shares the process's Office 365 in-flight limits.
	r, db, err := pairs.Open(ctx, pairs.Options{Config: cfg, Env: a.env, Limiters: a.limiters, Logger: a.log}, readOnly)
	return r, db, withCode(exitFailed, err)
}
