package ingest

import (
	"context"
	"errors"
	"fmt"
	"github.com/tracer-oss/tracer/store/network"
	"log/slog"
	"runtime"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
	"golang.org/x/sync/errgroup"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/blockfile"
)

// Config is one ingest run.
type Config struct {
	Paths       []string         // blocks/ directories or single block files
	Format      blockfile.Format // the files' format; 0: detect
	Network     string           // "" detects it from the files
	StartHeight int32            // height of the first block of a pruned range; -1: genesis or BIP34
	ToHeight    int32            // last height to ingest; -1: all
	Workers     int              // decoders; 0: GOMAXPROCS
	CacheTxs    int              // transactions kept in the input-resolution cache; 0: 1,000,000
	CommitTxs   int              // transactions per committed batch; 0: 200,000
	Logger      *slog.Logger
	// Progress, if set, is called about once a second and at the end.
	Progress func(Progress)
	// BulkMinBlocks: an empty store's first run of at least this many blocks
	// is bulk loaded (sorted outside Badger and streamed into its tables;
	// see store.NewBulkBatch); 0: 200; negative: never.
	BulkMinBlocks int
	// OnCommit, if set, is called after each durable commit with the new tip.
	OnCommit func(height int32)
	// Observer, if set, sees every stored transaction and adds its writes
	// (alerts) to the same commits; it turns bulk loading off.
	Observer Observer
	// MaxReorg is the deepest best-chain switch undone (blocks); deeper
	// ones stop with ErrReorgTooDeep and leave the store as it was. 0: 100.
	MaxReorg int
	// OnReorg, if set, is called after each undo.
	OnReorg func(store.RollbackResult)
}

// Phase is a part of a run, for progress.
type Phase string

const (
	// PhaseHeaders reads every block header of the files (Step and Steps
	// count bytes).
	PhaseHeaders Phase = "headers"
	// PhaseBlocks decodes and writes the chain's blocks.
	PhaseBlocks Phase = "blocks"
	// PhaseJoin ends a bulk load whose unspent outputs outgrew the input
	// cache: the inputs the cache missed are resolved by a sort-merge join
	// against the outputs it evicted (Step and Steps count join entries).
	PhaseJoin Phase = "join"
	// PhaseMerge ends a bulk load: the sorted runs are merged into the
	// store's tables (Step and Steps count writes).
	PhaseMerge Phase = "merge"
)

// Progress is a snapshot of a run.
type Progress struct {
	Phase        Phase
	Step, Steps  int64 // work done and total in PhaseHeaders and PhaseMerge
	Height       int32 // last block written
	TargetHeight int32 // last block to write
	Blocks       int64
	Txs          int64
	Bytes        int64 // serialized block bytes written
	Elapsed      time.Duration
	Done         bool
}

// Result summarises a run.
type Result struct {
	Network    string `json:"network"`
	FromHeight int32  `json:"from_height"` // first block written; -1 when none
	ToHeight   int32  `json:"to_height"`   // store tip after the run
	Blocks     int64  `json:"blocks"`
	Txs        int64  `json:"txs"`
	Inputs     int64  `json:"inputs"`
	Outputs    int64  `json:"outputs"`
	External   int64  `json:"external_inputs"` // inputs spending before the store's first block
	Bytes      int64  `json:"bytes"`
	Records    int    `json:"records"`       // block records in the files
	Duplicates int    `json:"duplicates"`    // records of a block already seen
	Stale      int    `json:"stale"`         // blocks on losing forks, skipped
	Orphans    int    `json:"orphans"`       // blocks after a gap, not stored
	GapAfter   int32  `json:"gap_after"`     // the files' chain stops here though later blocks exist; -1 if not
	Gap        *Gap   `json:"gap,omitempty"` // the first gap: the missing block and where the next one is
	// Unconnected: blocks that connect to neither the stored chain nor the
	// files' chain, not stored.
	Unconnected  *Unconnected     `json:"not_connected,omitempty"`
	Tails        []blockfile.Tail `json:"incomplete_tails,omitempty"` // files ending in an incomplete block, not stored
	AlreadyHad   int              `json:"already_stored"`             // best-chain blocks the store already held
	Interrupted  bool             `json:"interrupted"`                // stopped by a signal at a block boundary
	Elapsed      time.Duration    `json:"elapsed_ns"`
	CacheMisses  int64            `json:"cache_misses"` // inputs resolved from the store or the join instead of the cache
	CacheEvicted int64            `json:"cache_evicted"`
	Joined       int64            `json:"joined_inputs"`  // inputs resolved by the bulk load's join (no store reads)
	BulkTo       int32            `json:"bulk_loaded_to"` // last height of the bulk load; -1: none
	Reorgs       int              `json:"reorgs"`         // best-chain switches undone
	Undone       int              `json:"undone_blocks"`  // blocks undone by them
}

// Run ingests the best chain found in cfg.Paths into st, after the store's tip.
func Run(ctx context.Context, st *store.Store, cfg Config) (Result, error) {
	start := time.Now()
	res := Result{FromHeight: -1, GapAfter: -1, BulkTo: -1}
	cfg = cfg.withDefaults()
	state := st.State()
	net, err := runNetwork(cfg, state)
	if err != nil {
		return res, err
	}
	src, err := blockfile.OpenWith(blockfile.Options{Format: cfg.Format, RawNet: net.Magic}, cfg.Paths...)
	if err != nil {
		return res, err
	}
	defer src.Close() //nolint:errcheck // block files are opened read-only

	plan, err := planRun(ctx, st, src, net, cfg, state, start)
	if err != nil {
		return res, err
	}
	res.fromPlan(plan)
	res.ToHeight = state.Height
	if len(plan.chain) == 0 && plan.gap == nil && plan.unconnected == nil {
		return res, noBlocks(cfg.Paths, plan.tails)
	}
	if len(plan.chain) == 0 {
		return res, nil
	}
	if state.Network != "" && state.Network != plan.net.Name {
		return res, fmt.Errorf("%w: the store holds %s, the files hold %s", ErrNetwork, state.Network, plan.net.Name)
	}
	todo, state, err := newBlocks(ctx, st, plan.chain, plan.net.Name, state, cfg, &res)
	if err != nil || len(todo) == 0 {
		return res, err
	}
	res.FromHeight = todo[0].height

	w, err := startWriter(st, state, plan.net, todo, cfg, &res)
	if err != nil {
		return res, err
	}
	w.onMerge(cfg, todo[len(todo)-1].height, start)
	load := func(_ context.Context, i int, buf *[]byte) (*decoded, error) { return decodeBlock(src, todo[i], buf) }
	err = pipeline(ctx, len(todo), todo[len(todo)-1].height, load, cfg, w, start)
	res.Elapsed = time.Since(start)
	res.ToHeight = w.state.Height
	res.CacheMisses, res.CacheEvicted = w.cache.misses, w.cache.evicted
	if err != nil && cfg.Observer != nil {
		if rerr := cfg.Observer.Reset(); rerr != nil {
			cfg.Logger.Warn("observer reset", "err", rerr)
		}
	}
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		res.Interrupted = true
		return res, nil
	}
	return res, err
}

// runNetwork is the network a run expects: the store's, or the one
// cfg names; zero when neither says (the files tell).
func runNetwork(cfg Config, state store.State) (network.Network, error) {
	var net network.Network
	if cfg.Network != "" {
		n, err := network.ByName(cfg.Network)
		if err != nil {
			return net, err
		}
		net = n
	}
	if state.Network != "" {
		n, err := network.ByName(state.Network)
		if err != nil {
			return net, err
		}
		if net.Name != "" && net.Name != n.Name {
			return net, fmt.Errorf("%w: the store holds %s, --network says %s", ErrNetwork, n.Name, net.Name)
		}
		net = n
	}
	return net, nil
}

// planRun reads the files' headers and finds their best chain, against
// the stored one.
func planRun(ctx context.Context, st *store.Store, src *blockfile.Source, net network.Network, cfg Config, state store.State, start time.Time) (*chainPlan, error) {
	sc := storedChain{tip: -1, first: -1}
	if !state.Empty() {
		sc = storedChain{tip: state.Height, first: state.StartHeight, height: func(h chainhash.Hash) (int32, bool) {
			height, err := st.HeightOf(h)
			return height, err == nil
		}}
	}
	var headers func(done, total int64)
	if cfg.Progress != nil {
		headers = func(done, total int64) {
			cfg.Progress(Progress{Phase: PhaseHeaders, Step: done, Steps: total, Height: state.Height, TargetHeight: -1, Elapsed: time.Since(start)})
		}
	}
	return planChain(ctx, src, net, cfg.StartHeight, sc, headers)
}

// fromPlan records what the header pass found.
func (res *Result) fromPlan(plan *chainPlan) {
	res.Network = plan.net.Name
	res.Records, res.Duplicates, res.Stale, res.Orphans = plan.records, plan.dups, plan.stale, plan.orphans
	res.Gap, res.Unconnected, res.Tails = plan.gap, plan.unconnected, plan.tails
	if plan.gap != nil {
		res.GapAfter = plan.gap.After
	}
}

// noBlocks is the error of files that hold no block.
func noBlocks(paths []string, tails []blockfile.Tail) error {
	msg := fmt.Sprintf("%v", paths)
	if len(paths) == 1 {
		msg = paths[0]
	}
	if len(tails) > 0 {
		return fmt.Errorf("%w: no complete block in %s (it ends in an incomplete one: %s)", ErrNoBlocks, msg, tails[0])
	}
	return fmt.Errorf("%w in %s (empty, or only zeros as Bitcoin Core preallocates)", ErrNoBlocks, msg)
}

// newBlocks is the part of the files' best chain the store lacks, up to
// cfg.ToHeight, and the state it builds on (an empty store's takes
// netName and the chain's first height): a chain that leaves the stored
// one is switched to first (the stored blocks above the fork are undone).
func newBlocks(ctx context.Context, st *store.Store, chain []*node, netName string, state store.State, cfg Config, res *Result) ([]*node, store.State, error) {
	todo := chain
	if !state.Empty() {
		i := 0
		for i < len(todo) && todo[i].height <= state.Height {
			if h, err := st.HeightOf(todo[i].hash); err != nil || h != todo[i].height {
				break
			}
			i++
		}
		if i < len(todo) && todo[i].height <= state.Height {
			// The files' best chain leaves the stored one: switch to it when
			// it reaches at least as high (a shorter branch is more likely
			// files that lack the stored blocks than a better chain).
			fork := todo[i].height
			if tip := todo[len(todo)-1].height; tip < state.Height {
				return nil, state, fmt.Errorf("%w at height %d (block %s is not the stored one, and the files' chain ends at %d, below the store's tip %d)", ErrFork, fork, todo[i].hash, tip, state.Height)
			}
			if i == 0 {
				if h, err := st.HeightOf(todo[0].prev); err != nil || h != fork-1 {
					return nil, state, fmt.Errorf("%w at height %d: block %s does not build on a stored block", ErrFork, fork, todo[0].hash)
				}
			}
			if err := rollback(ctx, st, fork-1, cfg, res); err != nil {
				return nil, state, err
			}
			state = st.State()
		}
		res.AlreadyHad = i
		todo = todo[i:]
		if len(todo) > 0 && todo[0].height != state.Height+1 {
			return nil, state, fmt.Errorf("%w: the files' chain starts at height %d, the store ends at %d", ErrFork, todo[0].height, state.Height)
		}
		if len(todo) > 0 && todo[0].prev != state.Hash {
			return nil, state, fmt.Errorf("%w at height %d: block %s does not build on the stored tip %s", ErrFork, todo[0].height, todo[0].hash, state.Hash)
		}
	} else {
		state.Network = netName
		state.StartHeight = todo[0].height
	}
	if cfg.ToHeight >= 0 {
		n := 0
		for n < len(todo) && todo[n].height <= cfg.ToHeight {
			n++
		}
		todo = todo[:n]
	}
	return todo, state, nil
}

// startWriter makes the writer of blocks todo and its batch: a bulk load
// into an empty store when the run is long enough (cfg.BulkMinBlocks),
// ordinary commits otherwise.
func startWriter(st *store.Store, state store.State, params network.Network, todo []*node, cfg Config, res *Result) (*writer, error) {
	w := &writer{
		st:       st,
		state:    state,
		params:   params,
		cache:    newTxCache(cfg.CacheTxs),
		onCommit: cfg.OnCommit,
		res:      res,
		obs:      cfg.Observer,
	}
	bulk, err := st.CanBulkLoad()
	if err != nil {
		return nil, err
	}
	bulk = bulk && cfg.BulkMinBlocks >= 0 && len(todo) >= max(cfg.BulkMinBlocks, 1)
	// Probe the free space before starting: the store takes about half the
	// blocks' bytes (measured: 0.42 on a generated modern chain), a bulk
	// load as much again for its sorted runs.
	var blockBytes int64
	for _, n := range todo {
		blockBytes += int64(n.rec.Len)
	}
	need := blockBytes / 2
	if bulk {
		need = blockBytes
	}
	if err := st.CheckSpace(need); err != nil {
		return nil, err
	}
	if bulk {
		w.batch, err = st.NewBulkBatch()
	} else {
		w.batch, err = st.NewBatch()
	}
	if err != nil {
		return nil, err
	}
	return w, nil
}

// onMerge reports the end of a bulk load as PhaseJoin and PhaseMerge
// progress.
func (w *writer) onMerge(cfg Config, target int32, start time.Time) {
	if cfg.Progress == nil {
		return
	}
	w.batch.OnBulkProgress(func(phase string, done, total int64) {
		p := PhaseMerge
		if phase == store.BulkPhaseJoin {
			p = PhaseJoin
		}
		cfg.Progress(Progress{Phase: p, Step: done, Steps: total, Height: w.state.Height, TargetHeight: target,
			Blocks: w.res.Blocks, Txs: w.res.Txs, Bytes: w.res.Bytes, Elapsed: time.Since(start)})
	})
}

func (cfg Config) withDefaults() Config {
	if cfg.Workers <= 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	if cfg.CacheTxs <= 0 {
		cfg.CacheTxs = 1_000_000
	}
	if cfg.BulkMinBlocks == 0 {
		cfg.BulkMinBlocks = 200
	}
	if cfg.Observer != nil {
		cfg.BulkMinBlocks = -1
	}
	if cfg.CommitTxs <= 0 {
		cfg.CommitTxs = 200_000
	}
	if cfg.MaxReorg <= 0 {
		cfg.MaxReorg = 100
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return cfg
}

// rollback undoes the stored blocks above height to, within cfg.MaxReorg.
func rollback(ctx context.Context, st *store.Store, to int32, cfg Config, res *Result) error {
	state := st.State()
	depth := int(state.Height - to)
	if depth > cfg.MaxReorg {
		return fmt.Errorf("%w: the best chain leaves the stored one at height %d, %d blocks below the tip %d (limit %d, --max-reorg); the store is unchanged",
			ErrReorgTooDeep, to+1, depth, state.Height, cfg.MaxReorg)
	}
	rr, err := st.Rollback(ctx, to)
	if err != nil {
		return err
	}
	res.Reorgs++
	res.Undone += rr.Blocks
	cfg.Logger.Info("reorganisation: undid blocks", "from", rr.From, "to", rr.To, "txs", rr.Txs, "alerts_retracted", rr.Retracted, "retraction_notices", rr.Notices)
	if cfg.Observer != nil {
		if err := cfg.Observer.Reset(); err != nil {
			return err
		}
	}
	if cfg.OnReorg != nil {
		cfg.OnReorg(rr)
	}
	return nil
}

// decoded is one block ready for the writer (see scanBlock), or the error
// that stopped its loader.
type decoded struct {
	err     error
	height  int32
	hash    chainhash.Hash
	header  wire.BlockHeader
	txs     []scannedTx
	prevs   []wire.OutPoint // every input's previous outpoint, in block order
	allOuts []store.Output  // every output, in block order
	size    uint32
	weight  uint32
	// Witness data (BIP141): whether any transaction has it, the
	// coinbase's commitment and its witness reserved value.
	witness       bool
	hasCommitment bool
	commitment    [32]byte
	reserved      [32]byte
	reservedOK    bool
}

// scannedTx is one transaction of a decoded block.
type scannedTx struct {
	id         chainhash.Hash
	size, base uint32 // serialized size with and without witness
	vsize      uint32
	segwit     bool
	wid        chainhash.Hash // wtxid, when segwit
	nIn, nOut  int
	ins        []wire.OutPoint // previous outpoints, a part of decoded.prevs
	outs       []store.Output  // a part of decoded.allOuts
}

// pipeline loads blocks 0…count-1 of a run with cfg.Workers loaders and
// hands them to the writer in order; target is the last block's height.
func pipeline(ctx context.Context, count int, target int32, load func(ctx context.Context, i int, buf *[]byte) (*decoded, error), cfg Config, w *writer, start time.Time) error {
	g, gctx := errgroup.WithContext(context.Background())
	p := &pipe{jobs: make(chan pipeJob, cfg.Workers*4), futures: make(chan chan *decoded, cfg.Workers*8),
		stop: make(chan struct{})}
	g.Go(func() error { p.queue(ctx, gctx, count); return nil })
	for i := 0; i < cfg.Workers; i++ {
		g.Go(func() error { p.decode(gctx, load); return nil })
	}
	g.Go(func() error { return p.write(ctx, gctx, cfg, w, target, start) })
	return g.Wait()
}

// pipe is the ingest pipeline's channels: a reader queues jobs in height
// order with a future each, decoders fill the futures, one writer stores
// the blocks in that order.
type pipe struct {
	jobs    chan pipeJob
	futures chan chan *decoded
	stop    chan struct{} // closed when the writer is done (error or signal)
}

type pipeJob struct {
	i   int
	out chan *decoded
}

// queue queues the jobs in height order. It checks ctx so a signal ends
// the run at the next block boundary: the writer commits what it has.
func (p *pipe) queue(ctx, gctx context.Context, count int) {
	defer close(p.jobs)
	defer close(p.futures)
	for i := 0; i < count; i++ {
		if ctx.Err() != nil {
			return
		}
		ch := make(chan *decoded, 1)
		select {
		case p.futures <- ch:
		case <-p.stop:
			return
		case <-gctx.Done():
			return
		}
		select {
		case p.jobs <- pipeJob{i, ch}:
		case <-p.stop:
			return
		case <-gctx.Done():
			return
		}
	}
}

// decode loads and decodes blocks until the jobs run out; a block that
// fails ends this decoder, its error delivered in order.
func (p *pipe) decode(gctx context.Context, load func(ctx context.Context, i int, buf *[]byte) (*decoded, error)) {
	var buf []byte
	for j := range p.jobs {
		d, err := load(gctx, j.i, &buf)
		if err != nil {
			// In order: the writer stores the blocks before it.
			j.out <- &decoded{err: err}
			return
		}
		j.out <- d
	}
}

// write stores the decoded blocks in height order, committing every
// CommitTxs transactions and reporting progress about once a second.
func (p *pipe) write(ctx, gctx context.Context, cfg Config, w *writer, target int32, start time.Time) error {
	defer close(p.stop)
	last := time.Now()
	report := func(done bool) {
		if cfg.Progress != nil {
			cfg.Progress(Progress{Phase: PhaseBlocks, Height: w.state.Height, TargetHeight: target, Blocks: w.res.Blocks, Txs: w.res.Txs, Bytes: w.res.Bytes, Elapsed: time.Since(start), Done: done})
		}
	}
	for ch := range p.futures {
		var d *decoded
		select {
		case d = <-ch:
		case <-gctx.Done():
			w.batch.Cancel()
			return gctx.Err()
		}
		if d.err != nil {
			return w.stopAt(d.err, report)
		}
		if err := w.block(d); err != nil {
			w.batch.Cancel()
			return err
		}
		if w.batch.Keys() >= cfg.CommitTxs*6 || w.pendingTxs >= cfg.CommitTxs {
			if err := w.commit(false); err != nil {
				return err
			}
		}
		if time.Since(last) >= time.Second {
			last = time.Now()
			report(false)
		}
	}
	if err := w.commit(true); err != nil {
		return err
	}
	report(true)
	if ctx.Err() != nil {
		return context.Canceled
	}
	return nil
}

// stopAt ends a run at a block that cannot be read or fails its checks:
// the chain before it is kept (committed), and err returned.
func (w *writer) stopAt(err error, report func(done bool)) error {
	if w.res.Blocks == 0 {
		w.batch.Cancel()
		return err
	}
	if cerr := w.commit(true); cerr != nil {
		return cerr
	}
	report(true)
	return err
}

func decodeBlock(src *blockfile.Source, n *node, buf *[]byte) (*decoded, error) {
	raw, err := src.ReadBlock(n.rec, *buf)
	if err != nil {
		return nil, err
	}
	*buf = raw
	d, err := decodeRaw(raw, n.height, n.hash)
	if err != nil {
		return nil, &blockfile.Error{File: src.Files[n.rec.File].Path, Offset: n.rec.Offset, Err: err}
	}
	return d, nil
}

// decodeRaw decodes a serialized block expected at height with hash, and
// checks its content against its header.
func decodeRaw(raw []byte, height int32, hash chainhash.Hash) (*decoded, error) {
	where := func(err error) error {
		return fmt.Errorf("%w at height %d (%s): %v", ErrBadBlock, height, hash, err)
	}
	d, err := scanBlock(raw, height, hash)
	if err != nil {
		return nil, where(err)
	}
	if d.header.BlockHash() != hash {
		return nil, where(errors.New("the block's hash is not the one asked for"))
	}
	if len(d.txs) == 0 {
		return nil, where(errors.New("no transactions"))
	}
	ids := make([]chainhash.Hash, len(d.txs))
	for i := range d.txs {
		ids[i] = d.txs[i].id
	}
	if root := merkleRoot(ids); root != d.header.MerkleRoot {
		return nil, where(fmt.Errorf("merkle root %s does not match header %s", root, d.header.MerkleRoot))
	}
	if err := checkWitness(d, ids); err != nil {
		return nil, where(err)
	}
	return d, nil
}

// checkWitness checks a block's witness data against the commitment in its
// coinbase (BIP141), as a node does: the witness merkle root of the wtxids
// (the coinbase's counted as zero), hashed with the coinbase's witness
// reserved value. The txids merkle root does not cover witness data, so
// this is what catches altered witnesses. ids is reused.
func checkWitness(d *decoded, ids []chainhash.Hash) error {
	if !d.witness {
		return nil // nothing to commit to; a node checks no commitment then either
	}
	if !d.hasCommitment {
		return errors.New("transactions carry witness data but the coinbase has no witness commitment")
	}
	if !d.reservedOK {
		return errors.New("the coinbase's witness is not a single 32-byte reserved value")
	}
	ids[0] = chainhash.Hash{}
	for i := 1; i < len(d.txs); i++ {
		if d.txs[i].segwit {
			ids[i] = d.txs[i].wid
		}
	}
	var buf [64]byte
	root := merkleRoot(ids)
	copy(buf[:32], root[:])
	copy(buf[32:], d.reserved[:])
	if c := chainhash.DoubleHashH(buf[:]); c != chainhash.Hash(d.commitment) {
		return fmt.Errorf("the witness data does not match the coinbase's witness commitment %x (it hashes to %x)", d.commitment, c[:])
	}
	return nil
}

// maxSatoshi is the most an output may pay (consensus: 21 million BTC); the
// store's tx record relies on it.
const maxSatoshi = 21e6 * 1e8

// merkleRoot computes a block's merkle root from its txids.
func merkleRoot(ids []chainhash.Hash) chainhash.Hash {
	level := append([]chainhash.Hash(nil), ids...)
	var buf [64]byte
	for len(level) > 1 {
		if len(level)%2 == 1 {
			level = append(level, level[len(level)-1])
		}
		next := level[:0]
		for i := 0; i < len(level); i += 2 {
			copy(buf[:32], level[i][:])
			copy(buf[32:], level[i+1][:])
			next = append(next, chainhash.DoubleHashH(buf[:]))
		}
		level = next
	}
	return level[0]
}
