// Command imagegate is a security gate for container images in CI.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/imagegate/imagegate/report"

	"github.com/spf13/cobra"

	"github.com/imagegate/imagegate/failure"
	"github.com/imagegate/imagegate/reporters/visible"
)

func main() {
	// IMAGEGATE_CPUPROFILE=FILE writes a CPU profile of the run (go tool pprof FILE): how
	// bench/ finds where a scan spends its time on real images.
	if p := os.Getenv("IMAGEGATE_CPUPROFILE"); p != "" {
		if f, err := os.Create(p); err == nil && pprof.StartCPUProfile(f) == nil {
			code := run(os.Args[1:], os.Stdout, os.Stderr)
			pprof.StopCPUProfile()
			f.Close()
			os.Exit(code)
		}
	}
	if p := os.Getenv("IMAGEGATE_HEAPPROFILE"); p != "" {
		go heapPeaks(p)
	} else {
		// No allocation is sampled for a heap profile nobody reads: its records were
		// 1.4 MiB under a scan's memory limit (scanner.ScanMemoryLimit), room the collector
		// then lacked.
		runtime.MemProfileRate = 0
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// heapPeaks writes a heap profile to p each time the heap in use grows past its previous
// peak by an eighth (IMAGEGATE_HEAPPROFILE=FILE): the profile left is the one nearest the
// run's peak, where bench/ looks for what grows with an image.
func heapPeaks(p string) {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak uint64
	for range time.Tick(10 * time.Millisecond) {
		metrics.Read(sample)
		if v := sample[0].Value.Uint64(); v > peak+peak/8 {
			peak = v
			if f, err := os.Create(p + ".tmp"); err == nil {
				pprof.WriteHeapProfile(f)
				f.Close()
				os.Rename(p+".tmp", p)
			}
		}
	}
}

// run executes the command line and returns the exit code. It prints at most one error
// line; a panic becomes such a line too, never a Go stack.
func run(args []string, stdout, stderr io.Writer) (code int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "imagegate: internal error: %v (please report this)\n", r)
			if os.Getenv("IMAGEGATE_DEBUG") != "" {
				fmt.Fprintf(stderr, "%s", debug.Stack())
			}
			code = failure.ExitIncomplete
		}
	}()
	// Temporary files (a 'docker save' of a daemon image, zip indexes being built) go to a
	// folder of this run's own, removed when the run ends whatever way it ends; those of
	// runs that died are swept first.
	if tmp, err := newRunDir(); err == nil {
		prev, had := os.LookupEnv("TMPDIR")
		os.Setenv("TMPDIR", tmp)
		defer func() {
			if had {
				os.Setenv("TMPDIR", prev)
			} else {
				os.Unsetenv("TMPDIR")
			}
			os.RemoveAll(tmp)
		}()
	}
	ctx, stop := signalContext()
	defer stop()
	root := newRootCmd(stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return failure.ExitPass
	}
	var gate *gateError
	if errors.As(err, &gate) {
		return failure.ExitFindings
	}
	var exit *exitError
	if errors.As(err, &exit) {
		return exit.code
	}
	var ferr *failure.Error
	if !errors.As(err, &ferr) {
		// Errors that did not come from a command's own work are cobra's: usage errors.
		err = failure.Input(err)
	}
	fmt.Fprintf(stderr, "imagegate: %s\n", visible.String(failure.OneLine(failure.Explain(err, func(flag string) string { return "--" + flag }))))
	return failure.Code(err)
}

// signalContext is cancelled, with the signal as its cause, on SIGINT or SIGTERM.
func signalContext() (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(context.Background())
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		if s, ok := <-ch; ok {
			cancel(fmt.Errorf("%v", s))
		}
	}()
	return ctx, func() { signal.Stop(ch); close(ch); cancel(nil) }
}

// DefaultTimeout bounds a whole run (pull, walk, match, reports).
const DefaultTimeout = 10 * time.Minute

// gateError ends a run whose findings failed the gate (exit 1); the report says why.
type gateError struct{}

func (gateError) Error() string { return "findings at or above the threshold" }

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "imagegate",
		Short:         "A security gate for container images in CI",
		Long:          "imagegate scans container images for what is installed in them, and gates CI on what it finds.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return failure.Input(err) })
	root.PersistentFlags().Duration("timeout", DefaultTimeout, "give up (exit 3) when the whole run takes longer than this; 0: no limit")
	root.AddCommand(newScanCmd(stdout, stderr), newSBOMCmd(stdout, stderr), newLintCmd(stdout, stderr), newDBCmd(stdout, stderr), newVersionCmd(stdout), newRegistryCmd(stdout, stderr), newRescanCmd(stdout, stderr))
	root.AddCommand(newHostCmds(stdout)...)
	refuseUnknownSubcommands(root)
	return root
}

// refuseUnknownSubcommands makes every command group (imagegate, db, registry, ...) an
// error for a word that names none of its commands (exit 2); alone, it shows its help.
// Cobra would show the help and exit 0 for 'imagegate db frobnicate'.
func refuseUnknownSubcommands(c *cobra.Command) {
	for _, sub := range c.Commands() {
		refuseUnknownSubcommands(sub)
	}
	if !c.HasSubCommands() || c.Runnable() {
		return
	}
	c.Args = cobra.ArbitraryArgs
	c.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) > 0 {
			return failure.Inputf("unknown command %q for %q: see '%s --help'", args[0], cmd.CommandPath(), cmd.CommandPath())
		}
		return cmd.Help()
	}
}

// work marks an unclassified error from a command's own work as an incomplete scan, so
// that only cobra's own errors count as usage errors. It also keeps the deadline: when
// --timeout passes or SIGINT/SIGTERM arrives, the command has Grace to stop; if it has
// not, the run ends anyway with exit 3 (main exits, so nothing it was doing is written).
func work(fn func(cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		timeout, _ := cmd.Flags().GetDuration("timeout")
		if timeout < 0 {
			return failure.Inputf("--timeout %s: want a positive duration, or 0 for no limit", timeout)
		}
		if timeout > 0 {
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			cmd.SetContext(ctx)
		}
		ctx := cmd.Context()
		done := make(chan error, 1)
		go func() {
			defer func() {
				if r := recover(); r != nil {
					done <- failure.Incompletef("internal error: %v (please report this)", r)
				}
			}()
			done <- fn(cmd, args)
		}()
		var err error
		select {
		case err = <-done:
		case <-ctx.Done():
			select {
			case err = <-done:
			case <-time.After(Grace):
				err = ctx.Err()
			}
		}
		if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return failure.Incomplete(fmt.Errorf("did not finish within --timeout %s: raise --timeout for a large image or a slow registry", timeout))
		}
		if err != nil && errors.Is(ctx.Err(), context.Canceled) {
			return failure.Incompletef("interrupted (%w): the scan did not finish and no report was written", context.Cause(ctx))
		}
		var ferr *failure.Error
		var gate *gateError
		var exit *exitError
		if err != nil && !errors.As(err, &ferr) && !errors.As(err, &gate) && !errors.As(err, &exit) {
			err = failure.Incomplete(err)
		}
		return err
	}
}

// Grace is how long a command has to stop after its deadline or a signal.
const Grace = 2 * time.Second

func newVersionCmd(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: work(func(*cobra.Command, []string) error {
			_, err := fmt.Fprintf(stdout, "imagegate %s\n", version())
			return err
		}),
	}
}

func version() string {
	if report.Version != report.DefaultVersion {
		return report.Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return report.Version
}
