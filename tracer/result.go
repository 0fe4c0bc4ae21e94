package tracer

import (
	"cmp"
	"slices"
	"time"
)

// Result is a finished (or partial) trace: what the reporter renders. Its
// JSON form is the stable, documented schema of `tracer trace --format json`
// (schema_version bumps on any incompatible change).
type Result struct {
	SchemaVersion int        `json:"schema_version"` // 1
	Params        Params     `json:"params"`
	Data          DataInfo   `json:"data"`
	Seeds         []SeedInfo `json:"seeds"`
	Hits          []Hit      `json:"hits"`     // hops into labelled entities (exchanges by default), in chain order
	Holdings      []Holding  `json:"holdings"` // tainted outputs still unspent
	Edges         []Edge     `json:"edges"`    // the flow graph: tainted value moving between transactions
	Nodes         []Node     `json:"nodes"`    // transactions of the flow graph
	Totals        Totals     `json:"totals"`
	Partial       bool       `json:"partial"` // stopped early (Ctrl-C or a limit); totals cover what was visited
	// GraphTruncated: the walk had more edges than the graph cap
	// (Options.MaxGraph); Edges and Nodes hold the first ones, in walk order,
	// and totals, hits and holdings counts still cover everything.
	GraphTruncated bool   `json:"graph_truncated,omitempty"`
	PartialWhy     string `json:"partial_reason,omitempty"`
}

// Params are the trace's parameters, stated in every report.
type Params struct {
	Direction       string    `json:"direction"` // forward | backward
	Model           string    `json:"model"`     // poison | haircut | fifo | lifo | tiho
	FeesTainted     bool      `json:"fees_tainted"`
	MaxHops         int       `json:"max_hops"`
	MinValue        int64     `json:"min_value_sat"` // dust: smaller tainted amounts are not followed
	SinceHeight     int32     `json:"since_height"`  // 0: no bound
	UntilHeight     int32     `json:"until_height"`  // 0: no bound
	MaxTxs          int       `json:"max_txs"`
	WideOutputs     int       `json:"wide_outputs"`    // transactions with more outputs are not followed through
	StopCategories  []string  `json:"stop_categories"` // tag categories that end a branch and count as hits
	Started         time.Time `json:"started"`         // UTC
	ElapsedSeconds  float64   `json:"elapsed_seconds"`
	TxsVisited      int       `json:"txs_visited"`
	StoreReadsPerTx float64   `json:"store_reads_per_tx"`
	// PeakStates is the most transactions a forward walk held in memory
	// at once: its frontier and the paths back to the seeds.
	PeakStates int `json:"peak_states,omitempty"`
}

// DataInfo names the data versions a result was computed on.
type DataInfo struct {
	Network       string   `json:"network"`
	TipHeight     int32    `json:"tip_height"`
	TipHash       string   `json:"tip_hash"`
	SanctionsList string   `json:"sanctions_list,omitempty"` // e.g. "OFAC SDN 2025-11-19 (version 3)"
	TagPacks      []string `json:"tag_packs,omitempty"`
}

// SeedInfo is one starting address (or output) and what it received.
type SeedInfo struct {
	Address  string `json:"address"`
	Label    string `json:"label,omitempty"`  // e.g. the SDN entity
	Source   string `json:"source,omitempty"` // e.g. "OFAC SDN 2025-11-19, profile 55505"
	Outputs  int    `json:"outputs"`          // outputs it received that the trace starts from
	Received int64  `json:"received_sat"`
}

// Step is one transaction on a path.
type Step struct {
	Txid   string `json:"txid"`
	Height int32  `json:"height"`
}

// Hit is a hop into a labelled entity: the end of a branch.
type Hit struct {
	Entity      string  `json:"entity"`   // e.g. "Binance"
	Category    string  `json:"category"` // e.g. "exchange"
	TagSource   string  `json:"tag_source"`
	Via         string  `json:"via"`                 // "tag" (the address is tagged) or "cluster" (its entity is)
	LinkTxid    string  `json:"link_txid,omitempty"` // with Via cluster: the tx that linked the address to the tag
	Address     string  `json:"address"`             // deposit address
	Txid        string  `json:"txid"`                // the transaction paying it
	Vout        uint32  `json:"vout"`
	Height      int32   `json:"height"`
	Time        string  `json:"time"` // UTC, "2006-01-02 15:04:05 UTC"
	Hops        int     `json:"hops"` // transactions from the seed's output to this one, inclusive
	Value       int64   `json:"value_sat"`
	Tainted     int64   `json:"tainted_sat"`
	Share       float64 `json:"share"` // tainted / value
	SeedAddress string  `json:"seed_address"`
	Path        []Step  `json:"path"` // seed's funding tx excluded; first spends the seed's output, last is Txid
}

// Holding is a tainted output still unspent at the tip.
type Holding struct {
	Address string `json:"address"`
	Txid    string `json:"txid"`
	Vout    uint32 `json:"vout"`
	Height  int32  `json:"height"`
	Hops    int    `json:"hops"`
	Value   int64  `json:"value_sat"`
	Tainted int64  `json:"tainted_sat"`
}

// Node is a transaction of the flow graph.
type Node struct {
	Txid    string `json:"txid"`
	Height  int32  `json:"height"`
	Hops    int    `json:"hops"`
	Tainted int64  `json:"tainted_in_sat"` // tainted value entering it
	Fee     int64  `json:"fee_share_sat"`  // the part of it the model gives to the fee
	Seed    bool   `json:"seed,omitempty"` // funding tx of a seed output
}

// Edge is tainted value moving from one transaction's output to the
// transaction spending it (To is "" for an output that ends a branch:
// a hit, a holding, dust or a limit; Address says where).
type Edge struct {
	From    string `json:"from_txid"`
	Vout    uint32 `json:"vout"`
	To      string `json:"to_txid,omitempty"`
	Address string `json:"address"`
	Value   int64  `json:"value_sat"`
	Tainted int64  `json:"tainted_sat"`
	End     string `json:"end,omitempty"` // hit | holding | dust | limit | window | wide | before_range
}

// EndBeforeRange ends a backward edge at an input from before the store's
// range: the source exists but its value and history are unknown.
const EndBeforeRange = "before_range"

// Totals sum the trace. Traced = ToEntities + Unspent + Fees + Dust + Cut (+ BeforeRange backward)
// (exactly, in satoshi, for every model but poison, which copies taint).
type Totals struct {
	Traced     int64            `json:"traced_sat"` // tainted value leaving the seeds
	ToEntities int64            `json:"to_entities_sat"`
	PerEntity  map[string]int64 `json:"per_entity_sat"`
	Unspent    int64            `json:"unspent_sat"`
	Fees       int64            `json:"fees_sat"`
	Dust       int64            `json:"dust_sat"` // below the minimum, not followed
	Cut        int64            `json:"cut_by_limits_sat"`
	// BeforeRange (backward) came from inputs spending outputs from before
	// the store's first block: a source whose value is unknown.
	BeforeRange int64 `json:"before_range_sat,omitempty"`
	Hits        int   `json:"hits"`
	Holdings    int   `json:"holdings"` // unspent tainted outputs (Result.Holdings lists at most Options.MaxListed)
}

// sortNodes orders the graph's nodes by height, then txid (unique).
func (r *Result) sortNodes() {
	slices.SortFunc(r.Nodes, func(a, b Node) int { return cmp.Or(cmp.Compare(a.Height, b.Height), cmp.Compare(a.Txid, b.Txid)) })
}

// chainOrder compares two outputs by height, txid, then index.
func chainOrder(ah int32, at string, av uint32, bh int32, bt string, bv uint32) int {
	return cmp.Or(cmp.Compare(ah, bh), cmp.Compare(at, bt), cmp.Compare(av, bv))
}
