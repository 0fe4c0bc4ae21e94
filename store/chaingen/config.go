package chaingen

import (
	"fmt"
	"strings"
	"time"
)

// Scenario names accepted in Config.Scenarios.
const (
	ScenarioScamCentre = "scam-centre"
	ScenarioExchange   = "exchange"
)

// Scenarios lists the known scenarios; the default is all of them.
var Scenarios = []string{ScenarioScamCentre, ScenarioExchange}

// Config says what to generate. The zero value of every optional field
// means its default.
type Config struct {
	OutDir      string   // required: blocks/, truth.json, sanctions/, tags/ go here
	Txs         int      // non-coinbase main-chain transactions to generate (>= 0)
	Seed        uint64   // everything is derived from it
	Scenarios   []string // default: Scenarios; names may be comma-separated
	XOR         bool     // obfuscate blk files with blocks/xor.dat (Core 28)
	Shuffle     bool     // write blocks out of height order within windows
	Forks       int      // stale side-branch blocks to interleave, in branches 1–3 deep (>= 0)
	MaxFileSize int64    // blk file roll-over size; default DefaultMaxFileSize
	Workers     int      // signing goroutines; default GOMAXPROCS
	TxsPerBlock int      // mean non-coinbase txs per block; default 2000
	// Shape is ShapeStandard (default) or ShapeMainnet: an unspent set
	// growing with the chain, coins spent at mainnet-like ages and more
	// address reuse (doc.go, "Mainnet shape").
	Shape string
	// Unsigned writes placeholder signatures of real sizes instead of
	// signing (doc.go, "Signatures"): several times faster, but no node
	// accepts the chain. Ingest, tracing and clustering never check
	// signatures, so the scale harness uses it.
	Unsigned bool
}

// Progress is reported after every main-chain block.
type Progress struct {
	Height  int32
	Blocks  int   // blocks written, forks included
	Txs     int64 // non-coinbase txs so far
	Target  int64 // Config.Txs
	Bytes   int64 // bytes written to blk files
	Elapsed time.Duration
}

// Summary describes a finished generation.
type Summary struct {
	OutDir      string           `json:"out_dir"`
	Seed        uint64           `json:"seed"`
	Scenarios   []string         `json:"scenarios"`
	Blocks      int              `json:"blocks"`      // main chain, genesis included
	ForkBlocks  int              `json:"fork_blocks"` // stale side-branch blocks
	TipHeight   int32            `json:"tip_height"`
	TipHash     string           `json:"tip_hash"`
	Txs         int64            `json:"txs"`       // non-coinbase, main chain
	Coinbases   int64            `json:"coinbases"` // main chain
	Inputs      int64            `json:"inputs"`
	Outputs     int64            `json:"outputs"` // all main-chain outputs, coinbases included
	Bytes       int64            `json:"bytes"`   // blk file bytes
	Files       int              `json:"files"`
	XORKey      string           `json:"xor_key,omitempty"`
	ScriptMix   map[string]int64 `json:"script_mix"` // outputs by script type
	InputMix    map[string]int64 `json:"input_mix"`  // inputs by the script type they spend
	TxKinds     map[string]int64 `json:"tx_kinds"`   // transactions by economic role
	MaxBlockTxs int              `json:"max_block_txs"`
	MaxWeight   int64            `json:"max_block_weight"`
	Deposits    int              `json:"truth_deposits"`
	Paths       int              `json:"truth_paths"`
	Shape       string           `json:"shape"`
	// Unspent is the main chain's unspent outputs at the tip, OP_RETURN
	// outputs excluded: Outputs - Inputs - OP_RETURNs.
	Unspent int64 `json:"unspent_outputs"`
	// SpendAges counts inputs by the age of the output they spend, in
	// ten-minute blocks: under-1-day (< 144), 1-day-to-1-month (< 4,320),
	// over-1-month.
	SpendAges map[string]int64 `json:"spend_ages"`
	// AddressOutputs are the outputs paying an address (not OP_RETURN);
	// ReusedOutputs those paying an address an earlier output paid.
	AddressOutputs int64   `json:"address_outputs"`
	ReusedOutputs  int64   `json:"reused_outputs"`
	Seconds        float64 `json:"seconds"`
	TxsPerSecond   float64 `json:"txs_per_second"`
}

func (c *Config) normalize() error {
	if c.OutDir == "" {
		return fmt.Errorf("%w: out dir is required", ErrBadConfig)
	}
	if c.Txs < 0 {
		return fmt.Errorf("%w: txs must be >= 0, got %d", ErrBadConfig, c.Txs)
	}
	if c.Forks < 0 {
		return fmt.Errorf("%w: forks must be >= 0, got %d", ErrBadConfig, c.Forks)
	}
	if c.MaxFileSize < 0 || c.Workers < 0 || c.TxsPerBlock < 0 {
		return fmt.Errorf("%w: max file size, workers and txs per block must be >= 0", ErrBadConfig)
	}
	if c.MaxFileSize == 0 {
		c.MaxFileSize = DefaultMaxFileSize
	}
	switch c.Shape {
	case "":
		c.Shape = ShapeStandard
	case ShapeStandard, ShapeMainnet:
	default:
		return fmt.Errorf("%w: %q (known: %s)", ErrUnknownShape, c.Shape, strings.Join(Shapes, ", "))
	}
	if c.TxsPerBlock == 0 {
		c.TxsPerBlock = 2000
	}
	c.TxsPerBlock = min(c.TxsPerBlock, 3000)
	sc, err := ParseScenarios(c.Scenarios)
	if err != nil {
		return err
	}
	c.Scenarios = sc
	return nil
}

// ParseScenarios splits comma-separated names, checks them, removes
// duplicates and returns them in canonical order; none means all.
func ParseScenarios(names []string) ([]string, error) {
	want := map[string]bool{}
	for _, n := range names {
		for _, p := range strings.Split(n, ",") {
			p = strings.TrimSpace(p)
			if p == "" {
				continue
			}
			known := false
			for _, s := range Scenarios {
				known = known || s == p
			}
			if !known {
				return nil, fmt.Errorf("%w: %q (known: %s)", ErrUnknownScenario, p, strings.Join(Scenarios, ", "))
			}
			want[p] = true
		}
	}
	var out []string
	for _, s := range Scenarios {
		if want[s] || len(want) == 0 {
			out = append(out, s)
		}
	}
	return out, nil
}

func (c *Config) has(s string) bool {
	for _, x := range c.Scenarios {
		if x == s {
			return true
		}
	}
	return false
}
