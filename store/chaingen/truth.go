package chaingen

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/tracer-oss/tracer/store/outdir"
)

// TruthVersion is the schema version written to truth.json.
const TruthVersion = 1

// Truth is the ground truth written to truth.json (schema in doc.go).
type Truth struct {
	Version     int             `json:"version"`
	Network     string          `json:"network"`
	Seed        uint64          `json:"seed"`
	Scenarios   []string        `json:"scenarios"`
	TipHeight   int32           `json:"tip_height"`
	TipHash     string          `json:"tip_hash"`
	Blocks      int             `json:"blocks"`
	Txs         int64           `json:"txs"`
	StaleBlocks []string        `json:"stale_blocks"` // hashes of the fork blocks (not in the main chain)
	TaintModels []TaintModel    `json:"taint_models"`
	Entities    []TruthEntity   `json:"sanctioned_entities"`
	Seeds       []TruthSeed     `json:"seeds"`
	Deposits    []TruthDeposit  `json:"deposits"`
	Paths       []TruthPath     `json:"paths"`
	Clean       []TruthClean    `json:"clean"`
	Flows       []TruthClean    `json:"flows"` // tainted coins back in the economy: every output of those steps
	Txids       []string        `json:"scenario_txids"`
	Exchanges   []TruthExchange `json:"exchanges"`
}

// TruthEntity is one sanctioned party as listed in sdn_advanced.xml.
type TruthEntity struct {
	Name      string   `json:"name"`
	Type      string   `json:"type"` // "entity" or "individual"
	Program   string   `json:"program"`
	SDNID     int      `json:"sdn_id"`
	Addresses []string `json:"addresses"`
}

// TruthOutput names one transaction output.
type TruthOutput struct {
	Txid   string `json:"txid"`
	Vout   uint32 `json:"vout"`
	Value  int64  `json:"value"`
	Height int32  `json:"height"`
}

// TruthSeed is a sanctioned address and the victim payments it received;
// each funding output is fully tainted under every model.
type TruthSeed struct {
	Address string        `json:"address"`
	Entity  string        `json:"entity"`
	Funding []TruthOutput `json:"funding"`
}

// Taint holds the tainted satoshi of one output under each model.
type Taint struct {
	Poison  int64 `json:"poison"`
	Haircut int64 `json:"haircut"`
	FIFO    int64 `json:"fifo"`
	LIFO    int64 `json:"lifo"`
	TIHO    int64 `json:"tiho"`
}

// Get returns the amount for model m.
func (t Taint) Get(m TaintModel) int64 {
	switch m {
	case Poison:
		return t.Poison
	case Haircut:
		return t.Haircut
	case FIFO:
		return t.FIFO
	case LIFO:
		return t.LIFO
	case TIHO:
		return t.TIHO
	}
	return 0
}

func (t *Taint) set(m TaintModel, v int64) {
	switch m {
	case Poison:
		t.Poison = v
	case Haircut:
		t.Haircut = v
	case FIFO:
		t.FIFO = v
	case LIFO:
		t.LIFO = v
	case TIHO:
		t.TIHO = v
	}
}

// TruthDeposit is one output paid into an exchange deposit address by the
// scenario. Exchange-owned outputs are terminal: taint is recorded at the
// deposit and not propagated through the exchange's sweep.
type TruthDeposit struct {
	TruthOutput
	Address   string `json:"address"`
	Exchange  string `json:"exchange"`
	Tagged    bool   `json:"tagged"`     // the deposit address itself is in the tag pack
	CleanUser bool   `json:"clean_user"` // paid by a clean CoinJoin participant, not the operators
	Taint     Taint  `json:"taint"`
	SweepTxid string `json:"sweep_txid,omitempty"` // the exchange's sweep spending it, if in the chain
	HotWallet string `json:"hot_wallet,omitempty"` // the (tagged) hot wallet it was swept to
}

// TruthPath is one route from a seed's funding output to a deposit. Txids
// lists the transactions in order, starting with the one spending the
// funding output and ending with the one paying the deposit; Hops is
// len(Txids).
type TruthPath struct {
	Seed           string   `json:"seed_address"`
	FundingTxid    string   `json:"funding_txid"`
	FundingVout    uint32   `json:"funding_vout"`
	Txids          []string `json:"txids"`
	Hops           int      `json:"hops"`
	DepositTxid    string   `json:"deposit_txid"`
	DepositVout    uint32   `json:"deposit_vout"`
	DepositAddress string   `json:"deposit_address"`
	Exchange       string   `json:"exchange"`
	Tagged         bool     `json:"tagged"`
	Height         int32    `json:"height"`
	Amount         int64    `json:"amount"`
}

// TruthClean is an output that received clean money; CleanUnder lists the
// models under which its taint is zero (all of them unless it came out of a
// transaction with tainted inputs, like the CoinJoin).
type TruthClean struct {
	TruthOutput
	Address    string       `json:"address"`
	Kind       string       `json:"kind"`
	Taint      Taint        `json:"taint"`
	CleanUnder []TaintModel `json:"clean_under"`
}

// TruthExchange lists an exchange's hot wallets (all tagged) and the
// deposit addresses its customers used; TaggedDeposits is the subset in the
// tag pack.
type TruthExchange struct {
	Name           string   `json:"name"`
	Actor          string   `json:"actor"`
	HotWallets     []string `json:"hot_wallets"`
	Deposits       []string `json:"deposit_addresses"`
	TaggedDeposits []string `json:"tagged_deposit_addresses"`
}

// ReadTruth loads a truth.json written by Generate.
func ReadTruth(path string) (*Truth, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read truth: %w", err)
	}
	var t Truth
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrBadTruth, path, err)
	}
	if t.Version != TruthVersion {
		return nil, fmt.Errorf("%w: %s: version %d, want %d", ErrBadTruth, path, t.Version, TruthVersion)
	}
	return &t, nil
}

func outputOf(u *utxo) TruthOutput {
	return TruthOutput{Txid: u.op.Hash.String(), Vout: u.op.Index, Value: u.value, Height: u.height}
}

// truth computes the ground truth from what was generated.
func (g *generator) truth() (*Truth, error) {
	t := &Truth{Version: TruthVersion, Network: "regtest", Seed: g.seed, Scenarios: g.cfg.Scenarios,
		TipHeight: g.sum.TipHeight, TipHash: g.sum.TipHash, Blocks: g.sum.Blocks, Txs: g.doneTxs,
		TaintModels: TaintModels, StaleBlocks: append([]string{}, g.stale...)}
	if g.cfg.has(ScenarioExchange) || g.scam != nil {
		for _, ex := range g.exchanges {
			t.Exchanges = append(t.Exchanges, truthExchange(ex))
		}
	}
	s := g.scam
	if s == nil {
		return t, nil
	}
	s.truthEntities(t)
	taint, err := s.taint()
	if err != nil {
		return nil, err
	}
	for _, p := range s.txs {
		t.Txids = append(t.Txids, p.txid.String())
	}
	s.truthDeposits(t, taint)
	for _, c := range append(s.clean, s.cleanDeps...) {
		t.Clean = append(t.Clean, truthClean(c, taint))
	}
	for _, c := range s.flows {
		if c.u.height == 0 {
			continue
		}
		tc := truthClean(c, taint)
		t.Flows = append(t.Flows, tc)
		if len(tc.CleanUnder) == len(TaintModels) {
			t.Clean = append(t.Clean, tc)
		}
	}
	t.Paths = s.paths()
	sort.SliceStable(t.Paths, func(i, j int) bool { return t.Paths[i].Height < t.Paths[j].Height })
	return t, nil
}

// truthExchange is an exchange's hot wallets and the deposit addresses it
// was paid on (tagged or not).
func truthExchange(ex *exchange) TruthExchange {
	te := TruthExchange{Name: ex.name, Actor: ex.actor}
	for _, a := range ex.hot {
		te.HotWallets = append(te.HotWallets, a.String())
	}
	add := func(a *address, tagged bool) {
		if !a.ready {
			return // allocated but never paid
		}
		te.Deposits = append(te.Deposits, a.String())
		if tagged {
			te.TaggedDeposits = append(te.TaggedDeposits, a.String())
		}
	}
	for i, a := range ex.customers {
		add(a, taggedCustomer(i))
	}
	for i, a := range ex.special {
		add(a, ex.specialTagged[i])
	}
	return te
}

// truthEntities adds the sanctioned entities and their seed addresses,
// each seed with the outputs that funded it.
func (s *scamCentre) truthEntities(t *Truth) {
	for i, e := range s.entities {
		te := TruthEntity{Name: e.name, Type: "entity", Program: e.program, SDNID: sdnBaseID + i}
		if e.individual {
			te.Type = "individual"
		}
		for _, a := range e.seeds {
			te.Addresses = append(te.Addresses, a.String())
			ts := TruthSeed{Address: a.String(), Entity: e.name}
			for j, u := range s.funding {
				if s.seeds[s.fundSeed[j]] == a {
					ts.Funding = append(ts.Funding, outputOf(u))
				}
			}
			t.Seeds = append(t.Seeds, ts)
		}
		t.Entities = append(t.Entities, te)
	}
}

// truthDeposits adds the deposits made on chain, with their taint and the
// sweep that moved each to its exchange's hot wallet.
func (s *scamCentre) truthDeposits(t *Truth, taint map[*utxo]Taint) {
	for _, d := range s.deposits {
		if d.p == nil || d.u.height == 0 {
			continue
		}
		td := TruthDeposit{TruthOutput: outputOf(d.u), Address: d.u.addr.String(), Exchange: d.ex.name,
			Tagged: d.tagged, CleanUser: d.clean, Taint: taint[d.u]}
		if d.u.sweep != nil && d.u.sweep.height > 0 {
			td.SweepTxid, td.HotWallet = d.u.sweep.txid.String(), d.u.hotAddr.String()
		}
		t.Deposits = append(t.Deposits, td)
	}
}

// truthClean is an output with its taint and the models under which it is
// clean.
func truthClean(c *cleanInfo, taint map[*utxo]Taint) TruthClean {
	tc := TruthClean{TruthOutput: outputOf(c.u), Address: c.u.addr.String(), Kind: c.kind, Taint: taint[c.u]}
	for _, m := range TaintModels {
		if tc.Taint.Get(m) == 0 {
			tc.CleanUnder = append(tc.CleanUnder, m)
		}
	}
	return tc
}

// taint runs the reference calculator over the scenario's transactions in
// chain order; victim payments into seeds start fully tainted.
func (s *scamCentre) taint() (map[*utxo]Taint, error) {
	res := map[*utxo]Taint{}
	for _, m := range TaintModels {
		for _, p := range s.txs {
			if p.height == 0 {
				continue // planned but the chain ended first: cannot happen, kept safe
			}
			ins := make([]Coin, len(p.ins))
			for i, u := range p.ins {
				ins[i] = Coin{Value: u.value, Tainted: res[u].Get(m)}
			}
			outs := make([]int64, len(p.outs))
			for j, o := range p.outs {
				outs[j] = o.value
			}
			ot, _, err := Propagate(m, ins, outs)
			if err != nil {
				return nil, fmt.Errorf("taint %s of %s: %w", m, p.txid, err)
			}
			for j, o := range p.outs {
				if o.u == nil {
					continue
				}
				v := ot[j]
				if o.u.isSeedIn {
					v = o.value
				}
				tt := res[o.u]
				tt.set(m, v)
				res[o.u] = tt
			}
		}
	}
	return res, nil
}

// paths enumerates every route from a seed funding output to a deposit.
func (s *scamCentre) paths() []TruthPath {
	var out []TruthPath
	var walk func(fund *utxo, seed *address, u *utxo, path []*ptx)
	walk = func(fund *utxo, seed *address, u *utxo, path []*ptx) {
		if len(out) >= 200_000 {
			return
		}
		if u.deposit != nil && len(path) > 0 {
			d := u.deposit
			tp := TruthPath{Seed: seed.String(), FundingTxid: fund.op.Hash.String(), FundingVout: fund.op.Index,
				Hops: len(path), DepositTxid: u.op.Hash.String(), DepositVout: u.op.Index,
				DepositAddress: u.addr.String(), Exchange: d.ex.name, Tagged: d.tagged, Height: u.height, Amount: u.value}
			for _, p := range path {
				tp.Txids = append(tp.Txids, p.txid.String())
			}
			out = append(out, tp)
			return
		}
		p := u.spentBy
		if p == nil || p.height == 0 {
			return
		}
		next := append(path[:len(path):len(path)], p)
		for j := range p.outs {
			if o := p.outs[j].u; o != nil && o.tracked && o.height > 0 {
				walk(fund, seed, o, next)
			}
		}
	}
	for i, f := range s.funding {
		if f.height > 0 {
			walk(f, s.seeds[s.fundSeed[i]], f, nil)
		}
	}
	return out
}

// writeOutputs writes truth.json, the sanctions list and the tag pack.
func (g *generator) writeOutputs() error {
	t, err := g.truth()
	if err != nil {
		return err
	}
	g.sum.Deposits, g.sum.Paths = len(t.Deposits), len(t.Paths)
	b, err := json.MarshalIndent(t, "", " ")
	if err != nil {
		return err
	}
	if err := outdir.CheckFile(filepath.Join(g.cfg.OutDir, "truth.json")); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(g.cfg.OutDir, "truth.json"), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write truth: %w", err)
	}
	if g.scam != nil {
		if err := writeSDN(filepath.Join(g.cfg.OutDir, "sanctions", "sdn_advanced.xml"), t, g.baseTime); err != nil {
			return err
		}
	}
	if len(t.Exchanges) > 0 {
		if err := writeTagPack(filepath.Join(g.cfg.OutDir, "tags", "exchanges.yaml"), t, g.baseTime); err != nil {
			return err
		}
	}
	return nil
}
