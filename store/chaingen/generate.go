package chaingen

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/big"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"time"

	"github.com/btcsuite/btcd/blockchain"
	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
)

// dest says where a created output goes once its block is written.
type dest uint8

const (
	destNone     dest = iota // never spent again (dust, OP_RETURN, held by nobody)
	destPool                 // the users' spendable pool
	destDeposit              // an exchange deposit address, waiting for a sweep
	destHot                  // an exchange hot wallet
	destHeld                 // kept by a scenario or a peel chain, which spends it itself
	destCoinbase             // the miner's maturing coinbases
	destMix                  // a Whirlpool premix or postmix coin queued for a round
)

type utxo struct {
	op       wire.OutPoint
	value    int64
	addr     *address
	height   int32
	sweep    *ptx // set for watched deposits when an exchange sweeps them
	watched  bool
	hotAddr  *address
	spentBy  *ptx // set for scenario-tracked outputs
	tracked  bool
	deposit  *depositInfo
	isSeedIn bool  // a victim payment into a seed address
	pi, wi   int32 // index in the pool and in its wallet's list, while in the pool
}

type pout struct {
	value int64
	addr  *address // nil: OP_RETURN carrying data
	data  []byte
	dest  dest
	ex    *exchange
	u     *utxo
	pool  int8 // destMix: the Whirlpool pool
}

type txKind uint8

const (
	kindPayment txKind = iota
	kindBatchPayment
	kindConsolidation
	kindDeposit
	kindSweep
	kindWithdrawal
	kindCoinJoin
	kindPeel
	kindPayout
	kindScam
	numKinds
)

var kindNames = [numKinds]string{"payment", "batch-payment", "consolidation", "exchange-deposit",
	"exchange-sweep", "exchange-withdrawal", "coinjoin", "peel-chain", "mining-payout", "scenario"}

// ptx is a planned transaction: inputs and outputs chosen by the planner,
// then built and signed by a worker.
type ptx struct {
	kind   txKind
	collab collabKind
	ins    []*utxo
	outs   []pout
	fee    int64
	weight int
	height int32
	tx     *wire.MsgTx
	txid   chainhash.Hash
}

type generator struct {
	cfg      Config
	seed     uint64
	base     btcec.ModNScalar // key derivation base (keys.go)
	params   *chaincfg.Params
	target   *big.Int
	rng      *rand.Rand
	baseTime time.Time
	keyIdx   uint64
	fresh    []*address
	start    time.Time

	height   int32
	prevHash chainhash.Hash
	planned  int32 // planned tip height
	quota    int   // mean txs per post-activation block

	pool       []*utxo
	poolGoal   int
	reuse      []*address
	cbq        []*utxo
	exchanges  []*exchange
	peels      []*peelChain
	users      []*wallet // created on first use
	merchants  []*wallet
	miners     []*wallet
	coord      *wallet
	coordAddrs []*address
	mixq       [4][]*utxo  // Whirlpool queues by pool
	tf         *truthFiles // nil when planning only (tests)

	block   []*ptx
	blockWt int
	bug     error // set by the planner on an internal inconsistency
	doneTxs int64

	files *blockFiles
	sh    *shuffler
	forks map[int32]int32 // height → depth
	scam  *scamCentre
	stale []string // fork block hashes
	sum   Summary
	main  *mainnet // the mainnet shape's state; nil in the standard shape
	kinds [numKinds]int64
	ages  [3]int64 // spends by age (ageClass)
	// Outputs paying an address, and those paying one paid before.
	paidOuts, reused int64
	mix              [numScriptTypes]int64
	spent            [numScriptTypes]int64
}

// Generate writes a deterministic regtest chain and its ground truth to
// cfg.OutDir. progress, if not nil, is called after every main-chain block
// from the calling goroutine.
func Generate(ctx context.Context, cfg Config, progress func(Progress)) (Summary, error) {
	if err := cfg.normalize(); err != nil {
		return Summary{}, err
	}
	if cfg.Workers == 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	g := newGenerator(cfg)
	if err := os.MkdirAll(cfg.OutDir, 0o755); err != nil {
		return Summary{}, fmt.Errorf("create out dir: %w", err)
	}
	var key *[8]byte
	if cfg.XOR {
		k := g.xorKey()
		key = &k
		g.sum.XORKey = hex.EncodeToString(k[:])
	}
	files, err := newBlockFiles(cfg.OutDir, cfg.MaxFileSize, key)
	if err != nil {
		return Summary{}, err
	}
	g.files = files
	if g.tf, err = openTruthFiles(cfg.OutDir); err != nil {
		_ = files.closeFile()
		return Summary{}, err
	}
	window := 1
	if cfg.Shuffle {
		window = 8
	}
	g.sh = &shuffler{out: files, window: window, rng: rand.New(rand.NewPCG(cfg.Seed, 0x5348554646))}
	if err := g.run(ctx, progress); err != nil {
		_ = files.closeFile()
		_ = g.tf.close()
		return Summary{}, err
	}
	if err := g.tf.close(); err != nil {
		_ = files.closeFile()
		return Summary{}, err
	}
	if err := g.sh.flush(); err != nil {
		return Summary{}, err
	}
	if err := files.closeFile(); err != nil {
		return Summary{}, err
	}
	if err := g.writeOutputs(); err != nil {
		return Summary{}, err
	}
	g.finishSummary()
	return g.sum, nil
}

func newGenerator(cfg Config) *generator {
	g := &generator{
		cfg:    cfg,
		seed:   cfg.Seed,
		params: &chaincfg.RegressionNetParams,
		target: blockchain.CompactToBig(regtestBits),
		rng:    rand.New(rand.NewPCG(cfg.Seed, 0x45434f4e4f4d59)),
		forks:  map[int32]int32{},
		start:  time.Now(),
		base:   baseScalar(cfg.Seed),
	}
	if cfg.Shape == ShapeMainnet {
		g.main = newMainnet(cfg.Seed)
	}
	g.baseTime = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(cfg.Seed%86400) * time.Second)
	post := int32((cfg.Txs + cfg.TxsPerBlock - 1) / cfg.TxsPerBlock)
	minPost := int32(12)
	if cfg.has(ScenarioScamCentre) {
		minPost = scamBlocks + 12
	}
	post = max(post, minPost)
	g.planned = ActivationHeight + post
	g.quota = max(1, cfg.Txs/int(post))
	g.poolGoal = min(max(15*g.quota, 300), 300_000)
	nUsers := max(g.poolGoal/4, 50)
	g.users = make([]*wallet, nUsers)
	g.merchants = make([]*wallet, max(nUsers/20, 5))
	for i := range 3 {
		o := g.newOwner(KindMining, "mining-pool-"+strconv.Itoa(i))
		g.miners = append(g.miners, &wallet{name: o.name, owner: o, prof: &profiles[0].p, typ: P2WPKH, chTyp: P2WPKH})
	}
	g.exchanges = newExchanges(g)
	if cfg.has(ScenarioScamCentre) {
		g.scam = newScamCentre(g, ActivationHeight+3)
	}
	// Forks: Config.Forks stale blocks in branches 1–3 deep at distinct
	// heights, each ending at least two blocks below the tip so it loses on
	// work.
	frng := rand.New(rand.NewPCG(cfg.Seed, 0x464f524b))
	span := g.planned - 6
	for left := int32(cfg.Forks); left > 0 && len(g.forks) < int(span); {
		h := 2 + frng.Int32N(span)
		if _, dup := g.forks[h]; dup {
			continue
		}
		d := min(1+frng.Int32N(3), left)
		g.forks[h] = d
		left -= d
	}
	g.sum = Summary{OutDir: cfg.OutDir, Seed: cfg.Seed, Scenarios: cfg.Scenarios}
	return g
}

func (g *generator) xorKey() [8]byte {
	var buf [8 + 8]byte
	binary.BigEndian.PutUint64(buf[:], g.seed)
	copy(buf[8:], "xor.dat!")
	for {
		s := sha256.Sum256(buf[:])
		var k [8]byte
		copy(k[:], s[:8])
		if k != [8]byte{} {
			return k
		}
		buf[15]++
	}
}

// newAddr allocates fresh keys for an address of type t in wallet w; its
// scripts are derived in the next parallel materialize phase.
func (g *generator) newAddr(w *wallet, t ScriptType) *address {
	a := &address{typ: t, idx: g.keyIdx, w: w}
	g.keyIdx += t.keysFor()
	g.fresh = append(g.fresh, a)
	return a
}

// userType draws the script type of a new user address (see doc.go).
func (g *generator) userType() ScriptType {
	r := g.rng.IntN(100)
	switch {
	case r < 52:
		return P2WPKH
	case r < 72:
		return P2TR
	case r < 83:
		return P2SHP2WPKH
	case r < 94:
		return P2PKH
	case r < 98:
		return P2WSHMultisig
	default:
		return P2PK
	}
}

func (g *generator) run(ctx context.Context, progress func(Progress)) error {
	genesis := g.params.GenesisBlock
	raw, err := serializeBlock(genesis)
	if err != nil {
		return err
	}
	if err := g.files.write(raw); err != nil {
		return err
	}
	g.prevHash = *g.params.GenesisHash
	g.sum.Blocks = 1
	g.sum.Coinbases = 1
	g.sum.Outputs = 1
	g.mix[P2PK]++
	var last time.Time
	for h := int32(1); ; h++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		if h > g.planned && g.doneTxs >= int64(g.cfg.Txs) && (g.scam == nil || g.scam.done(h)) {
			break
		}
		g.height = h
		if err := g.makeBlock(ctx, h); err != nil {
			return fmt.Errorf("block %d: %w", h, err)
		}
		if progress != nil {
			if now := time.Now(); now.Sub(last) > 200*time.Millisecond || h == 1 {
				last = now
				progress(g.progress())
			}
		}
	}
	if progress != nil {
		progress(g.progress())
	}
	return nil
}

func (g *generator) progress() Progress {
	return Progress{Height: g.height, Blocks: g.sum.Blocks + g.sum.ForkBlocks, Txs: g.doneTxs,
		Target: int64(g.cfg.Txs), Bytes: g.files.total, Elapsed: time.Since(g.start)}
}

// makeBlock plans, signs, assembles, mines and writes main-chain block h
// (and any fork branching off below it).
func (g *generator) makeBlock(ctx context.Context, h int32) error {
	g.block, g.blockWt = g.block[:0], 0
	if g.main != nil {
		g.releaseDue(h)
	}
	if h >= ActivationHeight {
		g.plan(h)
	}
	if g.bug != nil {
		return g.bug
	}
	// Coinbase payee: early coinbases pay P2PK as in Bitcoin's first years.
	payType := P2WPKH
	switch r := g.rng.IntN(10); {
	case h < 100 && r < 4:
		payType = P2PK
	case r < 2:
		payType = P2PKH
	}
	payTo := g.newAddr(g.miners[g.rng.IntN(len(g.miners))], payType)
	fresh := g.fresh
	chunk := max(64, (len(fresh)+4*g.cfg.Workers-1)/(4*g.cfg.Workers))
	nchunks := (len(fresh) + chunk - 1) / chunk
	if err := parallel(ctx, nchunks, g.cfg.Workers, func(i int) error {
		return materializeRange(&g.base, fresh[i*chunk:min(len(fresh), (i+1)*chunk)], g.cfg.Unsigned)
	}); err != nil {
		return err
	}
	g.fresh = g.fresh[:0]
	blk := g.block
	if err := parallel(ctx, len(blk), g.cfg.Workers, func(i int) error { return blk[i].build(g.cfg.Unsigned) }); err != nil {
		return err
	}
	txs := make([]*wire.MsgTx, len(blk))
	var fees int64
	for i, p := range blk {
		txs[i] = p.tx
		fees += p.fee
	}
	ts := g.blockTime(h)
	b, err := g.assemble(h, g.prevHash, ts, txs, fees, payTo, 0)
	if err != nil {
		return err
	}
	raw, err := serializeBlock(b)
	if err != nil {
		return err
	}
	if err := g.sh.add(raw); err != nil {
		return err
	}
	g.commit(h, b, payTo)
	g.forget()
	parent := g.prevHash
	g.prevHash = b.BlockHash()
	if depth, ok := g.forks[h]; ok {
		if err := g.fork(h, depth, parent, blk); err != nil {
			return fmt.Errorf("fork at %d: %w", h, err)
		}
	}
	for _, p := range blk {
		p.tx = nil // let signed transactions go; txids stay
	}
	return nil
}

// commit records the written block: outpoints of the created outputs become
// known and the outputs go to their owners' pools.
func (g *generator) commit(h int32, b *wire.MsgBlock, payTo *address) {
	g.sum.Blocks++
	g.sum.Coinbases++
	g.sum.TipHeight = h
	g.sum.TipHash = b.BlockHash().String()
	g.sum.MaxBlockTxs = max(g.sum.MaxBlockTxs, len(b.Transactions))
	wt := int64(b.SerializeSizeStripped()*3 + b.SerializeSize())
	g.sum.MaxWeight = max(g.sum.MaxWeight, wt)
	cb := b.Transactions[0]
	g.sum.Outputs += int64(len(cb.TxOut))
	g.mix[payTo.typ]++
	if len(cb.TxOut) > 1 {
		g.mix[OpReturn]++
	}
	g.cbq = append(g.cbq, &utxo{op: wire.OutPoint{Hash: cb.TxHash()}, value: cb.TxOut[0].Value, addr: payTo, height: h})
	if g.tf != nil {
		g.tf.list(payTo)
	}
	g.commitTxs(h)
}

// commitTxs gives the block's created outputs their outpoints and hands
// them to their owners.
func (g *generator) commitTxs(h int32) {
	for _, p := range g.block {
		p.height = h
		g.doneTxs++
		g.kinds[p.kind]++
		g.sum.Inputs += int64(len(p.ins))
		for _, u := range p.ins {
			g.spent[u.addr.typ]++
			g.ages[ageClass(h-u.height)]++
		}
		g.sum.Outputs += int64(len(p.outs))
		for j := range p.outs {
			o := &p.outs[j]
			if o.addr == nil {
				g.mix[OpReturn]++
				continue
			}
			g.mix[o.addr.typ]++
			g.paidOuts++
			if o.addr.paid {
				g.reused++
			}
			o.addr.paid = true
			if g.tf != nil {
				g.tf.list(o.addr)
			}
			if o.u == nil {
				continue
			}
			o.u.op = wire.OutPoint{Hash: p.txid, Index: uint32(j)}
			o.u.height = h
			switch o.dest {
			case destPool:
				if o.value >= minPoolValue {
					if g.main != nil {
						g.schedule(o.u, h)
					} else {
						g.addPool(o.u)
					}
					if g.rng.IntN(16) == 0 && o.addr.typ != P2PK {
						g.remember(o.addr)
					}
				}
			case destDeposit:
				o.ex.deposits = append(o.ex.deposits, o.u)
			case destHot:
				o.ex.hotUTXOs = append(o.ex.hotUTXOs, o.u)
			case destMix:
				g.queueMix(o.u, o.pool)
			}
		}
		if g.tf != nil {
			g.tf.record(p)
		}
	}
}

// forget drops pool entries beyond three times the goal, preferring small
// ones: they stay unspent forever, like lost coins, and memory stays
// bounded without draining the economy's value.
func (g *generator) forget() {
	for probes := 0; len(g.pool) > 3*g.poolGoal; probes++ {
		i := g.rng.IntN(len(g.pool))
		if g.pool[i].value > forgetBelow && probes < 64*g.poolGoal {
			continue
		}
		g.removePool(g.pool[i])
	}
}

func (g *generator) remember(a *address) {
	const ring = 4096
	if len(g.reuse) < ring {
		g.reuse = append(g.reuse, a)
		return
	}
	g.reuse[g.rng.IntN(ring)] = a
}

// fork writes a stale branch of depth blocks whose first block is at height
// h on parent; its first block repeats some of the main block's
// transactions (all of which spend outputs confirmed below h).
func (g *generator) fork(h, depth int32, parent chainhash.Hash, mainTxs []*ptx) error {
	prev := parent
	for j := int32(0); j < depth; j++ {
		var txs []*wire.MsgTx
		var fees int64
		if j == 0 {
			for _, p := range mainTxs[:min(len(mainTxs), 20)] {
				txs = append(txs, p.tx)
				fees += p.fee
			}
		}
		payTo := &address{typ: P2WPKH, idx: 1<<62 + uint64(h)*4 + uint64(j)}
		if err := payTo.materialize(&g.base, g.cfg.Unsigned); err != nil {
			return err
		}
		b, err := g.assemble(h+j, prev, g.blockTime(h+j).Add(7*time.Second), txs, fees, payTo, 0xF0000000|uint32(j))
		if err != nil {
			return err
		}
		raw, err := serializeBlock(b)
		if err != nil {
			return err
		}
		if err := g.sh.add(raw); err != nil {
			return err
		}
		g.sum.ForkBlocks++
		prev = b.BlockHash()
		g.stale = append(g.stale, prev.String())
	}
	return nil
}

func (g *generator) finishSummary() {
	g.sum.Txs = g.doneTxs
	g.sum.Bytes = g.files.total
	g.sum.Files = g.files.files
	g.sum.ScriptMix = map[string]int64{}
	for t, n := range g.mix {
		g.sum.ScriptMix[ScriptType(t).String()] = n
	}
	g.sum.InputMix = map[string]int64{}
	for t, n := range g.spent {
		if ScriptType(t) != OpReturn {
			g.sum.InputMix[ScriptType(t).String()] = n
		}
	}
	g.sum.Shape = g.cfg.Shape
	g.sum.Unspent = g.sum.Outputs - g.sum.Inputs - g.mix[OpReturn]
	g.sum.SpendAges = map[string]int64{"under-1-day": g.ages[0], "1-day-to-1-month": g.ages[1], "over-1-month": g.ages[2]}
	g.sum.AddressOutputs, g.sum.ReusedOutputs = g.paidOuts, g.reused
	g.sum.TxKinds = map[string]int64{}
	for k, n := range g.kinds {
		g.sum.TxKinds[kindNames[k]] = n
	}
	el := time.Since(g.start)
	g.sum.Seconds = el.Seconds()
	if el > 0 {
		g.sum.TxsPerSecond = float64(g.doneTxs) / el.Seconds()
	}
}
