package cluster

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/tracer-oss/tracer/sanctions/address"
	"github.com/tracer-oss/tracer/store"
)

// DefaultMaxMerge is the default size guard: a merge of two clusters that
// both have more addresses than this is refused and recorded.
const DefaultMaxMerge = 10_000

// Options tune Run.
type Options struct {
	Change   []Rule // change rules to apply (none by default)
	MaxMerge int64  // size guard; 0 disables it
	// Rebuild drops the stored clusters and starts from the first
	// transaction; needed to change Change or MaxMerge.
	Rebuild bool
	// CommitEvery is the number of transactions between commits: a
	// killed run resumes from the last commit. By default 1,000,000, or a
	// third of the forest's addresses when more (see commitInterval).
	CommitEvery int
	// Progress, when set, is called every few thousand transactions.
	Progress func(done, total store.TxNum)
	// OnCommit, when set, is called after each commit with the first
	// transaction not yet clustered.
	OnCommit func(next store.TxNum)
	// UndoBlocks is how many blocks below the tip get an undo record
	// each (store.ClusterWriter.Mark), so that a reorganisation up to that
	// depth is undone exactly (default DefaultUndoBlocks, as deep as
	// tracer follow undoes by default; negative: none).
	UndoBlocks int
}

// DefaultUndoBlocks is the default Options.UndoBlocks.
const DefaultUndoBlocks = 100

// Result is what one Run did.
type Result struct {
	From      store.TxNum            `json:"from_tx"` // first transaction clustered in this run
	To        store.TxNum            `json:"to_tx"`   // one past the last
	Txs       int64                  `json:"txs"`
	Inputs    int64                  `json:"inputs"`
	Unions    int64                  `json:"unions"`
	CoinJoins map[string]int64       `json:"coinjoins"`    // skipped, by shape
	Change    map[Rule]int64         `json:"change_links"` // unions by change rule
	Refusals  []store.ClusterRefusal `json:"refusals"`
	State     store.ClusterState     `json:"state"` // after the run
	Seconds   float64                `json:"seconds"`
	// ForestBytes is the memory of the union-find (about 60–70 bytes per
	// address; see store.ClusterWriter).
	ForestBytes int64 `json:"forest_bytes"`
}

// Run clusters the transactions stored since the last run (all of them
// with Rebuild) and commits the forest to the store: Open, then Extend.
// Its Seconds include loading the stored forest.
func Run(ctx context.Context, st *store.Store, opt Options) (*Result, error) {
	start := time.Now()
	c, err := Open(st, opt)
	if err != nil {
		return nil, err
	}
	res, err := c.Extend(ctx)
	if res != nil {
		res.Seconds = time.Since(start).Seconds()
	}
	return res, err
}

// Clusterer holds the union-find in memory between Extend calls, so a
// process that follows the chain opens it once and, after each block,
// pays only for the new transactions (and the nodes they change).
type Clusterer struct {
	st    *store.Store
	w     *store.ClusterWriter
	opt   Options
	rules []Rule
	err   error // a failed Extend leaves the forest mid-transaction
}

// Open loads the stored forest (drops it with Rebuild) for clustering
// with opt, whose rules and guard must be the stored ones unless Rebuild.
func Open(st *store.Store, opt Options) (*Clusterer, error) {
	rules := slices.Clone(opt.Change)
	slices.Sort(rules)
	names := make([]string, len(rules))
	for i, r := range rules {
		names[i] = string(r)
	}
	prev, ok, err := st.ClusterState()
	if err != nil {
		return nil, err
	}
	if ok && !opt.Rebuild && prev.NextTx > 0 && (!slices.Equal(prev.Rules, names) || prev.MaxMerge != opt.MaxMerge) {
		return nil, fmt.Errorf("%w: stored rules [%s] and guard %d, asked [%s] and %d", ErrOptions,
			ruleNames(toRules(prev.Rules)), prev.MaxMerge, ruleNames(rules), opt.MaxMerge)
	}
	c := &Clusterer{st: st, opt: opt, rules: rules}
	if err := c.open(opt.Rebuild); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Clusterer) open(rebuild bool) error {
	w, err := c.st.NewClusterWriter(rebuild)
	if err != nil {
		return err
	}
	s := w.State()
	s.Rules, s.MaxMerge = make([]string, len(c.rules)), c.opt.MaxMerge
	for i, r := range c.rules {
		s.Rules[i] = string(r)
	}
	c.w = w
	return nil
}

func (c *Clusterer) reopen() error { return c.open(false) }

// Extend clusters the transactions stored since the last commit and
// commits (every CommitEvery transactions and at the end; on
// cancellation, up to the last whole transaction). A store rolled back
// below the clustered transactions is store.ErrClusterDirty.
func (c *Clusterer) Extend(ctx context.Context) (*Result, error) {
	if c.err != nil {
		return nil, fmt.Errorf("cluster: an earlier extend failed: %w", c.err)
	}
	if err := c.resync(); err != nil {
		return nil, err
	}
	st, w, opt := c.st, c.w, c.opt
	s := w.State()
	total := st.State().NextTx
	if total < s.NextTx {
		return nil, fmt.Errorf("%w: clustered up to tx %d, the store now ends at %d", store.ErrClusterDirty, s.NextTx, total)
	}
	start := time.Now()
	res := &Result{From: s.NextTx, To: total, CoinJoins: map[string]int64{}, Change: map[Rule]int64{}}
	p := &pass{w: w, st: st, opt: opt, rules: c.rules, res: res}
	for _, r := range c.rules {
		p.peeling = p.peeling || r == RulePeeling
	}
	err := c.walk(ctx, p, total, undoFrom(opt.UndoBlocks, st.State().Height))
	if err != nil {
		c.err = err
	}
	res.To = s.NextTx
	res.State = *s
	res.Seconds = time.Since(start).Seconds()
	res.ForestBytes = w.MemoryBytes()
	return res, err
}

// resync reopens the writer when a rollback since the last Extend undid
// the stored clusters (or marked them dirty): it starts again from what
// the store holds.
func (c *Clusterer) resync() error {
	cs, ok, err := c.st.ClusterState()
	if err != nil {
		return err
	}
	if !ok || cs.Dirty || cs.NextTx != c.w.Committed().NextTx {
		return c.reopen()
	}
	return nil
}

// undoFrom is the first height whose blocks get an undo record each: the
// last undoBlocks blocks up to tip do (0: DefaultUndoBlocks; negative: none).
func undoFrom(undoBlocks int, tip int32) int32 {
	if undoBlocks == 0 {
		undoBlocks = DefaultUndoBlocks
	}
	if undoBlocks < 0 {
		return math.MaxInt32
	}
	return tip - int32(undoBlocks) + 1
}

// walk runs p over the transactions from the writer's state to total,
// committing every CommitEvery transactions and at the end; cancelled, it
// commits up to the last whole transaction. Blocks from height perBlock
// on are marked for an undo record each.
func (c *Clusterer) walk(ctx context.Context, p *pass, total store.TxNum, perBlock int32) error {
	w, opt, res := c.w, c.opt, p.res
	s := w.State()
	every := commitInterval(opt.CommitEvery, s.Addresses)
	since := 0
	commit := func() error {
		if err := w.Commit(); err != nil {
			return err
		}
		every = commitInterval(opt.CommitEvery, s.Addresses)
		if opt.OnCommit != nil {
			opt.OnCommit(s.NextTx)
		}
		return nil
	}
	err := c.st.ForEachTxSpent(ctx, s.NextTx, total, func(tx *store.Tx, spent []store.Spent) error {
		if err := checkIn(ctx, opt.Progress, tx.Num, total); err != nil {
			return err
		}
		if tx.Pos == 0 && tx.Num > res.From && tx.Height >= perBlock {
			w.Mark()
		}
		if err := p.tx(tx, spent); err != nil {
			return fmt.Errorf("cluster tx %d (%s): %w", tx.Num, tx.ID, err)
		}
		s.NextTx = tx.Num + 1
		if since++; since >= every {
			since = 0
			return commit()
		}
		return nil
	})
	if err == nil || errors.Is(err, errStop) {
		s.NextTx = total
		return commit()
	}
	if ctx.Err() != nil {
		// Keep what was done up to the last whole transaction.
		if cerr := commit(); cerr != nil {
			err = fmt.Errorf("%w (and commit: %v)", err, cerr)
		}
	}
	return err
}

// commitInterval is the number of transactions between commits: every
// when set, else 1,000,000 or a third of the forest's addresses, whichever
// is more. A commit rewrites the forest's address table (about 20 bytes
// per address: the new addresses fill slots all over it), so with a fixed
// interval its cost would grow with the forest while the work between
// commits stays the same; at a third, it stays below the 45 bytes per new
// address of the nodes the commit writes anyway (1.3 per transaction).
func commitInterval(every int, addresses int64) int {
	if every > 0 {
		return every
	}
	return int(max(1_000_000, addresses/3))
}

// checkIn checks ctx every 1,024 transactions and reports progress every
// 16,384.
func checkIn(ctx context.Context, progress func(done, total store.TxNum), n, total store.TxNum) error {
	if n%1024 != 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if progress != nil && n%16384 == 0 {
		progress(n, total)
	}
	return nil
}

var errStop = errors.New("cluster: stop")

func toRules(names []string) []Rule {
	out := make([]Rule, len(names))
	for i, n := range names {
		out[i] = Rule(n)
	}
	return out
}

// forest is what a pass needs of the union-find: store.ClusterWriter, or a
// reference implementation in the tests.
type forest interface {
	Intern(a address.Addr) (store.AddrID, error)
	Union(a, b store.AddrID, tx store.TxNum, guard int64, rule string) (bool, *store.ClusterRefusal, error)
	State() *store.ClusterState
}

// pass is the state of one Run.
type pass struct {
	w       forest
	st      *store.Store
	opt     Options
	rules   []Rule
	peeling bool
	res     *Result
	view    txView // reused
}

func (p *pass) tx(tx *store.Tx, spent []store.Spent) error {
	p.res.Txs++
	p.w.State().Txs++
	if tx.Coinbase {
		return nil
	}
	p.res.Inputs += int64(len(tx.Inputs))
	if len(tx.Inputs) < 2 && len(p.rules) == 0 {
		return nil // links nothing without change rules
	}
	if shape := multiOwner(tx, spent); shape != "" {
		p.res.CoinJoins[shape]++
		p.w.State().CoinJoins++
		return nil
	}
	v := &p.view
	v.reset(tx, spent)
	if err := p.multiInput(v, tx.Num); err != nil {
		return err
	}
	if len(p.rules) == 0 {
		return nil
	}
	if err := p.change(v, tx); err != nil {
		return err
	}
	if p.peeling {
		in, change, ok, err := peelingLink(v, p.st.TxByNum)
		if err != nil || !ok {
			return err
		}
		a, err := p.w.Intern(in)
		if err != nil {
			return err
		}
		return p.union(a, change, tx.Num, string(RulePeeling))
	}
	return nil
}

// multiInput joins the addresses of a transaction's inputs (the
// common-input rule).
func (p *pass) multiInput(v *txView, n store.TxNum) error {
	if len(v.ins) < 2 {
		return nil
	}
	first, err := p.w.Intern(v.ins[0])
	if err != nil {
		return err
	}
	for _, a := range v.ins[1:] {
		if err := p.union(first, a, n, "multi-input"); err != nil {
			return err
		}
	}
	return nil
}

// change joins the change output the rules find, if any, to the inputs.
func (p *pass) change(v *txView, tx *store.Tx) error {
	idx, rule, err := changeOutput(v, p.rules, p.seen)
	if err != nil || idx < 0 {
		return err
	}
	first, err := p.w.Intern(v.ins[0])
	if err != nil {
		return err
	}
	return p.union(first, tx.Outputs[idx].Addr, tx.Num, string(rule))
}

func (p *pass) union(a store.AddrID, b address.Addr, tx store.TxNum, rule string) error {
	bid, err := p.w.Intern(b)
	if err != nil {
		return err
	}
	joined, ref, err := p.w.Union(a, bid, tx, p.opt.MaxMerge, rule)
	if err != nil {
		return err
	}
	if ref != nil {
		p.res.Refusals = append(p.res.Refusals, *ref)
	}
	if joined {
		p.res.Unions++
		if rule != "multi-input" {
			p.res.Change[Rule(rule)]++
			p.w.State().Change++
		}
	}
	return nil
}

// seen reports whether a was paid before transaction n.
func (p *pass) seen(a address.Addr, n store.TxNum) (bool, error) {
	seen := false
	err := p.st.AddressOutputs(a, store.OutPoint{}, func(o store.AddrOutput) bool {
		seen = o.Tx < n
		return false
	})
	return seen, err
}
