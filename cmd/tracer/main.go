// Command tracer follows Bitcoin out of sanctioned wallets: it ingests block
// data into an embedded store, traces flows under a chosen taint model, and
// screens addresses for exposure to sanctioned funds.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/tracer-oss/tracer/store"
)

// Exit codes, documented in --help and the README.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// heapLimit is the Go heap's soft limit unless the user set GOMEMLIMIT:
// the caches and bulk-load runs stay well under 2 GiB, and Go's GC works
// harder instead of growing. The store's chain-sized arrays (the cluster
// forest, a clustering scan's unspent outputs) are held beside it
// (store.SetHeapLimit). Commands that build the exposure index raise
// it (indexHeapLimit).
const heapLimit = 1536 << 20

// indexHeapLimit is the soft limit of screen and serve, which may build
// the exposure index: Badger's write buffers and caches (~0.8 GiB) and the
// build's accumulators (up to ~0.6 GiB) leave 1.5 GiB no room, and the GC
// then runs back to back (a 10M-transaction build with 100 source groups
// took 1.6× as long); 3 GiB keeps the process under 4 GiB.
const indexHeapLimit = 3 << 30

func main() {
	if os.Getenv("GOMEMLIMIT") == "" {
		store.SetHeapLimit(heapLimit)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	endProfiling := startProfiling(os.Stderr)
	code := run(ctx, os.Args, os.Stdout, os.Stderr)
	endProfiling()
	os.Exit(code)
}

// run builds the application and maps its error to an exit code in one place.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	app := newApp(stdout, stderr)
	err := app.RunContext(ctx, reorderArgs(app, args))
	if err == nil {
		return exitOK
	}
	var exit cli.ExitCoder
	if errors.As(err, &exit) && exit.Error() == "" {
		return exit.ExitCode()
	}
	fmt.Fprintf(stderr, "tracer: %v\n", err)
	if isUsage(err) {
		return exitUsage
	}
	return exitFailure
}

func newApp(stdout, stderr io.Writer) *cli.App {
	app := &cli.App{
		Name:  "tracer",
		Usage: "follow Bitcoin out of sanctioned wallets",
		Description: `tracer follows bitcoin out of sanctioned wallets. It ingests block data
(Bitcoin Core blk*.dat files, with Core 28's xor.dat, or a node over RPC) into
an embedded store, loads OFAC sanctions lists and attribution tags, groups
addresses into entities, traces funds under a chosen taint model to the
exchanges that received them, and screens addresses for exposure.

Start with:  tracer demo
A case:      tracer ingest --blocks ~/.bitcoin/blocks
             tracer sanctions update
             tracer tags load packs/*.yaml --skip-invalid
             tracer cluster
             tracer trace --entity "Chen Zhi" --format html --out case.html

Flags may follow arguments (tracer tx TXID --json); every lookup takes --json.
Exit codes:  0 success, 1 failure, 2 bad usage or bad input.
Memory:      Go's heap is kept near 1.5 GiB (3 GiB for screen and serve), plus
             the cluster forest while clustering (about 110 bytes an address);
             GOMEMLIMIT=8GiB (say) sets one limit for everything instead.
Profiling:   TRACER_CPUPROFILE=FILE, TRACER_HEAPPROFILE=FILE (every 10 s).`,
		Writer:               stdout,
		ErrWriter:            stderr,
		EnableBashCompletion: true,
		HideHelpCommand:      true,
		Flags: []cli.Flag{
			&cli.StringFlag{
				Name:    "db",
				Usage:   "store directory",
				EnvVars: []string{"TRACER_DB"},
				Value:   defaultDBDir(),
			},
			&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "log debug detail to stderr"},
		},
		Commands: commands(),
		OnUsageError: func(c *cli.Context, err error, _ bool) error {
			return usageErrorf("%v", err)
		},
		ExitErrHandler: func(*cli.Context, error) {}, // run() maps errors to exit codes
	}
	tidyHelp(app.Commands, app.Flags)
	unknownCommands(app)
	return app
}

// logger returns the logger for a command: quiet (warnings) unless --verbose.
func logger(c *cli.Context) *slog.Logger {
	level := slog.LevelWarn
	if c.Bool("verbose") {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(c.App.ErrWriter, &slog.HandlerOptions{Level: level}))
}

func defaultDBDir() string {
	if dir, err := os.UserHomeDir(); err == nil {
		if x := os.Getenv("XDG_DATA_HOME"); x != "" {
			return x + "/tracer"
		}
		return dir + "/.local/share/tracer"
	}
	return "tracer-db"
}

// raiseHeapLimit raises the heap's soft limit to indexHeapLimit for a
// command that may build the exposure index, unless GOMEMLIMIT is set.
func raiseHeapLimit(*cli.Context) error {
	if os.Getenv("GOMEMLIMIT") == "" {
		store.SetHeapLimit(indexHeapLimit)
	}
	return nil
}
