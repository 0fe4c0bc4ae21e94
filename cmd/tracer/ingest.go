package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/blockfile"
	"github.com/tracer-oss/tracer/store/ingest"
	"github.com/tracer-oss/tracer/store/network"
	"github.com/tracer-oss/tracer/tracer/alert"
)

func ingestCommand() *cli.Command {
	return &cli.Command{
		Name:      "ingest",
		Usage:     "read Bitcoin block files into the store",
		ArgsUsage: "[PATH ...]",
		Description: `Reads a Bitcoin Core blocks/ directory (blk*.dat, de-obfuscated with xor.dat
when present) or any file in the same framing (bootstrap.dat, btcd's
blk_0_to_14131.dat, optionally .bz2/.gz), or raw serialized blocks as block
explorers export them (.bin, or .hex text; see --format), picks the chain with
the most work, and stores it after the store's tip. Running it again adds new
blocks only. Every block's merkle root and witness commitment are checked; a
block that fails is refused, naming its file and byte offset.

The chain stored is never silently shortened: a missing block stops it at a
gap (reported with the missing block, its height and where the next block
is; ingest files holding it later and the chain continues), a file ending in
an incomplete block (as a node killed while writing leaves it) is stored up
to its last complete block and reported, and blocks that connect neither to
the stored chain nor to the files' chain are reported as not connected.
Raw blocks carry no network: they are regtest when their difficulty bits are
regtest's, mainnet otherwise; say --network for testnet or signet.

Examples:
  tracer ingest --blocks ~/.bitcoin/blocks     (or: tracer ingest ~/.bitcoin/blocks)
  tracer --db /tmp/t ingest --blocks blk_0_to_14131.dat
  tracer ingest --blocks pruned/blocks --start-height 850000
  tracer ingest --rpc http://127.0.0.1:8332 --rpc-cookie ~/.bitcoin/.cookie

With --rpc it reads the node's best chain over JSON-RPC instead (one pass;
tracer follow keeps going). Either way, when the best chain leaves the stored
one, the stored blocks above the fork are undone first (at most --max-reorg).`,
		Flags: append([]cli.Flag{
			&cli.StringSliceFlag{Name: "blocks", Usage: "blocks/ `PATH` or a block file (repeatable)"},
			&cli.StringFlag{Name: "format", Value: "auto", Usage: "block file `FORMAT`: auto (detect), blk (Core's framing), raw (serialized blocks, .bin) or hex"},
			&cli.StringFlag{Name: "network", Usage: "mainnet, testnet3, testnet4, signet or regtest (default: from the files)"},
			&cli.Int64Flag{Name: "start-height", Value: -1, Usage: "height of the first block when the files start after genesis (default: BIP34 height)"},
			&cli.Int64Flag{Name: "to-height", Value: -1, Usage: "stop after this height"},
			&cli.IntFlag{Name: "workers", Usage: "block decoders (default: one per core)"},
			&cli.IntFlag{Name: "cache-txs", Value: 1_000_000, Usage: "transactions kept in the input cache (≈200 bytes each; the rest of a bulk load's memory is fixed, so memory is flat in chain length); inputs beyond it are resolved by a sort-merge join at the end of a bulk load, by store reads otherwise"},
			jsonFlag,
		}, rpcFlags(false)...),
		Action: runIngest,
	}
}

func runIngest(c *cli.Context) (err error) {
	// Paths may be given as arguments too, as people type them
	// ("tracer ingest ~/.bitcoin/blocks").
	paths := append(c.StringSlice("blocks"), c.Args().Slice()...)
	if (len(paths) == 0) == (c.String("rpc") == "") {
		return usageErrorf("ingest needs block files (--blocks PATH, or PATH as an argument) or --rpc URL (one of them)")
	}
	format, err := blockfile.ParseFormat(c.String("format"))
	if err != nil {
		return badInput(err)
	}
	st, err := createStore(c)
	if err != nil {
		return err
	}
	defer closing(st, &err)
	prog := newProgress(c.App.ErrWriter)
	cfg := ingest.Config{
		Paths:       paths,
		Format:      format,
		Network:     c.String("network"),
		StartHeight: int32(c.Int64("start-height")),
		ToHeight:    int32(c.Int64("to-height")),
		Workers:     c.Int("workers"),
		CacheTxs:    c.Int("cache-txs"),
		MaxReorg:    c.Int("max-reorg"),
		Logger:      logger(c),
		Progress:    prog.ingest,
	}
	var res ingest.Result
	if c.String("rpc") != "" {
		res, err = syncFromNode(c, st, cfg)
	} else {
		res, err = ingest.Run(c.Context, st, cfg)
	}
	prog.finish()
	if err != nil {
		return badInputIf(err, badBlockInput...)
	}
	if c.Bool("json") {
		return printJSON(c, res)
	}
	return printIngest(c.App.Writer, st.State(), &res)
}

// printIngest renders an ingest run for people: what was stored, and every
// block record that was not, with why.
func printIngest(w io.Writer, state store.State, res *ingest.Result) error {
	if res.Blocks == 0 {
		fmt.Fprintf(w, "nothing new: the store's tip is %s block %d (%d blocks in the files)\n", state.Network, state.Height, res.Records)
	} else {
		secs := res.Elapsed.Seconds()
		fmt.Fprintf(w, "ingested %s blocks %d–%d: %d txs, %d inputs, %d outputs, %.1f MB in %s (%.0f tx/s, %.1f MB/s)\n",
			res.Network, res.FromHeight, res.ToHeight, res.Txs, res.Inputs, res.Outputs, float64(res.Bytes)/1e6,
			res.Elapsed.Round(time.Millisecond), float64(res.Txs)/secs, float64(res.Bytes)/1e6/secs)
	}
	if res.External > 0 {
		fmt.Fprintf(w, "%d inputs spend outputs from before height %d: kept as references, value unknown\n", res.External, state.StartHeight)
	}
	if res.Reorgs > 0 {
		fmt.Fprintf(w, "the best chain had switched: undid %d stored blocks\n", res.Undone)
	}
	if res.Stale > 0 {
		fmt.Fprintf(w, "skipped %d stale blocks on losing forks\n", res.Stale)
	}
	if res.Duplicates > 0 {
		fmt.Fprintf(w, "skipped %d duplicate block records\n", res.Duplicates)
	}
	if g := res.Gap; g != nil {
		if g.NextHeight < 0 {
			fmt.Fprintf(w, "stopped after height %d: %d later blocks do not connect; the first, %s in %s at byte %d, builds on block %s, which is in neither the files nor the store (a missing block, or unrelated blocks). Ingest files holding it to continue.\n",
				g.After, g.Blocks, g.Next, g.File, g.Offset, g.Missing)
		} else {
			missing := fmt.Sprintf("block %d (%s) is", g.After+1, g.Missing)
			if g.NextHeight > g.After+2 {
				missing = fmt.Sprintf("blocks %d–%d (the last %s) are", g.After+1, g.NextHeight-1, g.Missing)
			}
			fmt.Fprintf(w, "stopped at a gap after height %d: %s missing from the files; %d later blocks were not stored, the first at height %d in %s at byte %d. Ingest files holding the missing blocks to continue.\n",
				g.After, missing, g.Blocks, g.NextHeight, g.File, g.Offset)
		}
	}
	if u := res.Unconnected; u != nil {
		fmt.Fprintf(w, "%d blocks not connected to the stored chain, not stored: the first, %s in %s at byte %d: %s\n", u.Blocks, u.Hash, u.File, u.Offset, u.Reason)
	}
	for _, t := range res.Tails {
		fmt.Fprintf(w, "%s ends in an incomplete record at byte %d (%s): the complete blocks before it were read\n", t.File, t.Offset, t.Reason)
	}
	if res.Interrupted {
		fmt.Fprintf(w, "interrupted: stopped cleanly at height %d; run the same command to continue\n", res.ToHeight)
	}
	return nil
}

// badBlockInput are the errors of block input that is wrong: exit 2.
var badBlockInput = []error{blockfile.ErrNotBlocks, blockfile.ErrNoFiles, blockfile.ErrBadMagic, blockfile.ErrBadLength,
	blockfile.ErrMixedNetworks, blockfile.ErrBadXORKey, blockfile.ErrTruncated, ingest.ErrBadBlock, ingest.ErrNoBlocks,
	ingest.ErrStartHeight, ingest.ErrNotConnected, ingest.ErrMissingInput}

// progress draws a bar on a terminal, or a log line every few seconds.
type progress struct {
	w     *os.File
	tty   bool
	last  time.Time
	drawn bool
	merge time.Duration // when the merge (or join) phase began
	from  float64       // the fraction of it done then
	phase ingest.Phase
}

func newProgress(w any) *progress {
	f, _ := w.(*os.File)
	p := &progress{w: f}
	if f != nil {
		p.tty = term.IsTerminal(int(f.Fd()))
	}
	return p
}

func (p *progress) ingest(pr ingest.Progress) {
	if p.w == nil || pr.Done {
		return
	}
	if pr.Phase != p.phase {
		// A phase's ETA is from its own rate, seen from its first event
		// (printed or not) on.
		p.phase, p.merge, p.from = pr.Phase, pr.Elapsed, float64(pr.Step)/float64(max(pr.Steps, 1))
	}
	// The ends of short phases are noise.
	end := pr.Phase == ingest.PhaseMerge || pr.Phase == ingest.PhaseJoin
	if pr.Phase == ingest.PhaseHeaders && pr.Elapsed < 2*time.Second || end && (pr.Step == 0 || pr.Step == pr.Steps) {
		return
	}
	if !p.tty && time.Since(p.last) < 5*time.Second {
		return
	}
	p.last = time.Now()
	done, line := p.describe(pr)
	if !p.tty {
		fmt.Fprintln(p.w, "ingest:", line)
		return
	}
	const width = 24
	n := int(done * width)
	bar := make([]byte, width)
	for i := range bar {
		bar[i] = '.'
		if i < n {
			bar[i] = '#'
		}
	}
	fmt.Fprintf(p.w, "\r[%s] %s\x1b[K", bar, line)
	p.drawn = true
}

// describe is the fraction of pr's phase done and the line saying so,
// with an ETA.
func (p *progress) describe(pr ingest.Progress) (done float64, line string) {
	switch pr.Phase {
	case ingest.PhaseHeaders:
		done = float64(pr.Step) / float64(max(pr.Steps, 1))
		return done, fmt.Sprintf("reading block headers: %.1f of %.1f GB", float64(pr.Step)/1e9, float64(pr.Steps)/1e9)
	case ingest.PhaseJoin, ingest.PhaseMerge:
		// The bulk load's last parts: the ETA of the blocks is not the end.
		done = float64(pr.Step) / float64(max(pr.Steps, 1))
		left := etaFrom(p.from, done, (pr.Elapsed - p.merge).Seconds())
		if pr.Phase == ingest.PhaseJoin {
			return done, fmt.Sprintf("resolving inputs beyond the cache: joined %d of %d sorted spends and outputs (%.0f%%) of blocks to %d  ETA %s", pr.Step, pr.Steps, 100*done, pr.Height, left)
		}
		return done, fmt.Sprintf("writing the store: merged %d of %d sorted writes (%.0f%%) of blocks to %d  ETA %s", pr.Step, pr.Steps, 100*done, pr.Height, left)
	default:
		secs := pr.Elapsed.Seconds()
		done = float64(pr.Height+1) / float64(pr.TargetHeight+1)
		return done, fmt.Sprintf("height %d/%d  %.0f blk/s  %.0f tx/s  %.1f MB/s  blocks ETA %s",
			pr.Height, pr.TargetHeight, float64(pr.Blocks)/secs, float64(pr.Txs)/secs, float64(pr.Bytes)/1e6/secs, eta(done, secs))
	}
}

// eta is the time left when the fraction done took secs, or "?".
func eta(done, secs float64) string { return etaFrom(0, done, secs) }

// etaFrom is the time left when going from the fraction from to done took
// secs, or "?" while no rate is known yet (no time or no progress seen).
func etaFrom(from, done, secs float64) string {
	if done <= from || done >= 1 || secs <= 0 {
		return "?"
	}
	return time.Duration(secs / (done - from) * (1 - done) * float64(time.Second)).Round(time.Second).String()
}

func (p *progress) finish() {
	if p.drawn {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
}

// line shows a one-line status: redrawn on a terminal, every 5 s otherwise.
func (p *progress) line(s string) {
	if p.w == nil {
		return
	}
	if p.tty {
		fmt.Fprintf(p.w, "\r%s\x1b[K", s)
		p.drawn = true
		return
	}
	if time.Since(p.last) >= 5*time.Second {
		p.last = time.Now()
		fmt.Fprintln(p.w, s)
	}
}

// syncFromNode is ingest --rpc: one pass over the node's best chain, with
// alerts queued for the watch list (tracer follow delivers them).
func syncFromNode(c *cli.Context, st *store.Store, cfg ingest.Config) (ingest.Result, error) {
	if c.Int64("to-height") >= 0 {
		return ingest.Result{}, usageErrorf("--to-height works with --blocks only")
	}
	node, err := dialNode(c)
	if err != nil {
		return ingest.Result{}, err
	}
	defer node.Close()
	if n := cfg.Network; n != "" {
		if net, err := network.ByName(n); err != nil || net.Name != node.Network() {
			return ingest.Result{}, usageErrorf("--network %s, but the node serves %s", n, node.Network())
		}
	}
	cfg.Network = node.Network()
	ws, err := st.WatchList().All()
	if err != nil {
		return ingest.Result{}, err
	}
	if len(ws) > 0 {
		net, err := network.ByName(node.Network())
		if err != nil {
			return ingest.Result{}, err
		}
		a, err := alert.New(st, net.Params)
		if err != nil {
			return ingest.Result{}, err
		}
		cfg.Observer = a
	}
	return ingest.Sync(c.Context, st, node, cfg)
}
