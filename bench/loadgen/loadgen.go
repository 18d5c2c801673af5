// Package loadgen holds what the load generators of bench/ (bench/load,
// bench/replicas) share besides their CardDAV client (bench/davclient):
// the end of their main (run, print the report as text or JSON, the exit
// code), building the cardbridge binary, a free loopback port, running
// the binary with its configuration, and stopping it.
package loadgen

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"
)

// Report is what a generator's run returns.
type Report interface {
	// WriteText prints the report for people.
	WriteText(w io.Writer)
	// Passed says every check passed.
	Passed() bool
}

// Main ends a generator's main: it parses the flags registered on
// flag.CommandLine (into *cfg), refuses arguments and a configuration
// validate refuses (exit 2), runs run until SIGINT or SIGTERM, prints the
// report's text on stdout, or with *asJSON the text on stderr and the
// report as one JSON object on stdout, and exits 1 when the run failed or
// a check did. name prefixes its messages.
func Main[C any, R Report](name string, asJSON *bool, cfg *C, validate func(C) error, run func(context.Context, C, io.Writer) (R, error)) {
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "%s: unexpected arguments %q\n", name, flag.Args())
		os.Exit(2)
	}
	if err := validate(*cfg); err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	rep, err := run(ctx, *cfg, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
	textOut := io.Writer(os.Stdout)
	if *asJSON {
		textOut = os.Stderr
	}
	rep.WriteText(textOut)
	if *asJSON {
		b, err := json.Marshal(rep)
		if err != nil {
			fmt.Fprintln(os.Stderr, name+":", err)
			os.Exit(1)
		}
		fmt.Println(string(b))
	}
	if !rep.Passed() {
		os.Exit(1)
	}
}

// Build builds the cardbridge binary of this module into dir and returns
// its path.
func Build(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "cardbridge")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/cardbridge/cardbridge/cmd/cardbridge").CombinedOutput(); err != nil {
		return "", fmt.Errorf("building cardbridge: %w\n%s", err, out)
	}
	return bin, nil
}

// FreeAddr is a loopback address whose port was free a moment ago.
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("finding a port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// Command is bin run with --config config and args, with home as HOME and
// only PATH besides.
func Command(ctx context.Context, bin, config, home string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, bin, append([]string{"--config", config}, args...)...)
	cmd.Env = []string{"HOME=" + home, "PATH=" + os.Getenv("PATH")}
	return cmd
}

// Proc is a started process whose exit is watched.
type Proc struct {
	Cmd *exec.Cmd
	// Exited is closed when the process has exited (Cmd.ProcessState is
	// then set).
	Exited chan struct{}
}

// Start starts cmd and watches its exit.
func Start(cmd *exec.Cmd) (*Proc, error) {
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &Proc{Cmd: cmd, Exited: make(chan struct{})}
	go func() { cmd.Wait(); close(p.Exited) }()
	return p, nil
}

// Stop sends SIGTERM and waits up to 30 s for the exit code.
func (p *Proc) Stop() (int, error) {
	if err := p.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return -1, err
	}
	select {
	case <-p.Exited:
		return p.Cmd.ProcessState.ExitCode(), nil
	case <-time.After(30 * time.Second):
		return -1, errors.New("still running 30 s after SIGTERM")
	}
}

// Kill kills the process with SIGKILL unless it has exited, and waits for
// its exit.
func (p *Proc) Kill() {
	select {
	case <-p.Exited:
	default:
		p.Cmd.Process.Kill()
		<-p.Exited
	}
}
