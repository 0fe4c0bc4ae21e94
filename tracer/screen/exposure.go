package screen

import (
	"fmt"
	"sort"

	"github.com/btcsuite/btcd/chaincfg"

	"github.com/tracer-oss/tracer/sanctions/address"
	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/flow"
	"github.com/tracer-oss/tracer/tracer"
	"github.com/tracer-oss/tracer/tracer/cluster"
	"github.com/tracer-oss/tracer/tracer/taint"
)

// Exposure is what an address received from one category of sources:
// sanctioned, or a risk category such as mixing_service.
type Exposure struct {
	Category string   `json:"category"`
	Amount   int64    `json:"amount_sat"`
	Share    float64  `json:"share"`          // of everything the address received
	Hops     int      `json:"hops"`           // of the nearest source: transactions from it to the address
	Nearest  string   `json:"nearest_source"` // entity of the nearest source
	Sources  []Source `json:"sources"`        // top contributors, largest first
}

// Source is one contributing entity.
type Source struct {
	Entity string  `json:"entity"`
	Amount int64   `json:"amount_sat"`
	Share  float64 `json:"share"`
	Hops   int     `json:"hops"`
	// Path is one example route: the transaction paying the source first,
	// the transaction paying the screened address last.
	Path []tracer.Step `json:"path"`
}

// Record is the stored (and freshly computed) indirect exposure of one
// address.
type Record struct {
	Received  int64      `json:"received_sat"`
	Exposures []Exposure `json:"exposures"` // sanctioned first, then risk categories by name
}

// Options are the parameters of exposure: the same for the index and for a
// fresh walk.
type Options struct {
	Poison     bool  // the poison model instead of haircut (the default)
	MaxHops    int   // 0: tracer.DefaultMaxHops, as for a trace
	MinValue   int64 // tainted amounts below it are not followed; 0: 1 sat
	MaxTxs     int   // per fresh walk; 0: 1,000,000 (the index is one pass over every transaction)
	TopSources int   // 0: 5
	Params     *chaincfg.Params
	Progress   func(string) // index build progress, about once a second; called from one goroutine at a time
	// Flow, if set, is the store's flow index: the index build's forward
	// walks read it (same results, faster walks).
	Flow *flow.Index
	// Clusters, if set, are the cluster labels a trace uses
	// (spec.Runner.ClusterLabels): an address they label ends a branch as a
	// barrier, exactly as a tag does, so funds that reached an exchange's
	// untagged deposit address are counted there and not again at its hot
	// wallet. A cluster label is never a source. ClusterInfo names the
	// clustering (spec.ClusterInfo) for the index's staleness check.
	Clusters    *cluster.Labeler
	ClusterInfo string
	// Pending builds the index generation without making it current:
	// screens keep answering from the one in force until
	// store.Exposure.Use switches to it (a new list's index built in
	// the background).
	Pending bool
	// Alone says nothing else writes the store during the build (a CLI
	// rebuild): older generations are then dropped by whole tables
	// (store.Exposure.UseAlone), seconds where deleting them key by key
	// takes minutes at 10 M transactions. A live service leaves it false.
	Alone bool
	// UndoDepth is how many blocks below the tip BuildIndex applies as
	// per-block updates, whose undo records let UpdateIndex undo a
	// reorganisation that deep exactly (a deeper one makes the index
	// stale, and is rebuilt). Each costs one block update at build time.
	// 0: 10; negative: none.
	UndoDepth int
	// accBudget is how many accumulator entries (address × source group)
	// the build holds in memory before it merges them into the store;
	// 0: 8 << 20 (tests set it small).
	accBudget int
	// accFanIn is how many sorted runs the build merges into one before
	// the last merge; 0: defaultFanIn (tests set it small).
	accFanIn int
	// accSink, when set, takes the merged accumulators instead of the
	// index (a benchmark's measure of what writing them costs; tests only;
	// v is valid only during the call).
	accSink func(key string, v []byte) error
}

// labels is what the walks label addresses with: the sources' and tags'
// labels first, then the cluster labels.
func (o *Options) labels(src *Sources) tracer.Labeler {
	if o.Clusters == nil {
		return src.Labels
	}
	return tracer.Labelers{src.Labels, o.Clusters}
}

func (o *Options) normalize(fresh bool) error {
	if o.MaxHops == 0 {
		o.MaxHops = tracer.DefaultMaxHops
	}
	if o.MinValue == 0 {
		o.MinValue = 1
	}
	if o.MaxTxs == 0 {
		o.MaxTxs = 10_000_000
		if fresh {
			o.MaxTxs = 1_000_000
		}
	}
	if o.TopSources == 0 {
		o.TopSources = 5
	}
	switch {
	case o.UndoDepth == 0:
		o.UndoDepth = 10
	case o.UndoDepth < 0:
		o.UndoDepth = 0
	}
	if o.MaxHops < 0 || o.MinValue < 0 || o.MaxTxs < 0 || o.TopSources < 0 {
		return fmt.Errorf("%w: limits must not be negative", ErrBadOptions)
	}
	if o.Params == nil {
		return fmt.Errorf("%w: no network parameters", ErrBadOptions)
	}
	return nil
}

func (o *Options) model() taint.Model {
	if o.Poison {
		return taint.Poison
	}
	return taint.Haircut
}

// IndexParams are the options an index was built with, stored in its header.
type IndexParams struct {
	Model    string `json:"model"`
	MaxHops  int    `json:"max_hops"`
	MinValue int64  `json:"min_value_sat"`
	Partial  bool   `json:"partial,omitempty"`  // a walk hit MaxTxs (indexes before the one-pass build)
	Slots    int    `json:"slots,omitempty"`    // share columns: source groups, and per category with several, all together
	Clusters string `json:"clusters,omitempty"` // the clustering whose labels were barriers; "": none
	Format   int    `json:"format,omitempty"`   // of the stored records (indexFormat)
	// Groups describe the share columns in order, so a Reader draws
	// records from the index alone, whatever list is in force now.
	Groups []IndexGroup `json:"groups,omitempty"`
}

// IndexGroup describes one share column of an index: a source group, or
// all groups of a category together.
type IndexGroup struct {
	Category string `json:"category"`
	Entity   string `json:"entity,omitempty"`   // "" for a combined column
	Combined bool   `json:"combined,omitempty"` // every group of the category at once
	Single   bool   `json:"single,omitempty"`   // the category's only group: its total too
}

// indexFormat is the format of the records the index stores (shares.go):
// 1 added the received total to the accumulators; 2 stores accumulators
// only (no drawn records, no received total: a Reader draws both on read)
// and describes the share columns in the header; 3 keys an address's
// accumulators by its binary identity (recordKey) instead of its string;
// 4 packs an accumulator entry's hops and flags in one number, leaving out
// what is mostly 0 or the previous entry's (a third fewer bytes).
const indexFormat = 4

// recordKey is the key of address a's accumulators in the index: its
// class (P2PK as P2PKH, as the store's address index matches them) and its
// payload, "" for an output without an address. A build writes its
// records in this order with no string encoding (base58 or bech32 takes
// microseconds an address), and an update keys the addresses a block pays
// without one.
func recordKey(a address.Addr) string {
	if !a.Kind.Valid() || !a.Kind.HasAddress() || a.Kind.PayloadLen() == 0 {
		return ""
	}
	c := a.Kind.Class()
	var b [33]byte
	b[0] = byte(c)
	n := copy(b[1:], a.Payload[:c.PayloadLen()])
	return string(b[:1+n])
}

// addressOfKey is the address of a record key, and its string.
func addressOfKey(k string, params *chaincfg.Params) (address.Addr, string, error) {
	var a address.Addr
	if len(k) == 0 {
		return a, "", fmt.Errorf("%w: exposure record with an empty key", store.ErrCorrupt)
	}
	kind := address.Kind(k[0])
	if !kind.Valid() || !kind.HasAddress() || len(k) != 1+kind.PayloadLen() || kind.Class() != kind {
		return a, "", fmt.Errorf("%w: exposure record key %x", store.ErrCorrupt, k)
	}
	a.Kind = kind
	copy(a.Payload[:], k[1:])
	return a, a.String(params), nil
}

// sourceAcc accumulates one source's contribution to one address.
type sourceAcc struct {
	entity string
	amount int64
	hops   int
	best   int64 // largest single contribution, for the example path
	path   func() []tracer.Step
	outs   map[string]bool // poison: outputs already counted
}

// categoryAcc accumulates one category's exposure of one address.
type categoryAcc struct {
	amount  int64
	sources map[string]*sourceAcc
	outs    map[string]int64 // poison: tainted outputs and their values
}

// total counts one tainted output towards the category's amount.
func (c *categoryAcc) total(amount, outValue int64, out string, poison bool) {
	if !poison {
		c.amount += amount
		return
	}
	if c.outs == nil {
		c.outs = map[string]int64{}
	}
	if _, dup := c.outs[out]; !dup {
		c.outs[out] = outValue
		c.amount += outValue
	}
}

// add counts one tainted output towards a source's contribution.
func (c *categoryAcc) add(entity string, amount, outValue int64, out string, hops int, poison bool, path func() []tracer.Step) {
	if c.sources == nil {
		c.sources = map[string]*sourceAcc{}
	}
	s := c.sources[entity]
	if s == nil {
		s = &sourceAcc{entity: entity, hops: hops}
		c.sources[entity] = s
	}
	if poison {
		if s.outs == nil {
			s.outs = map[string]bool{}
		}
		amount = 0
		if !s.outs[out] {
			s.outs[out] = true
			amount = outValue
		}
	}
	s.amount += amount
	if hops < s.hops {
		s.hops = hops
	}
	if amount > s.best || s.path == nil {
		s.best, s.path = amount, path
	}
}

// record turns accumulated categories into a Record.
func record(received int64, cats map[string]*categoryAcc, top int) Record {
	r := Record{Received: received}
	names := sortedKeys(cats)
	sort.SliceStable(names, func(i, j int) bool { return names[i] == CategorySanctioned && names[j] != CategorySanctioned })
	for _, name := range names {
		c := cats[name]
		if c.amount <= 0 {
			continue
		}
		e := Exposure{Category: name, Amount: c.amount, Share: share(c.amount, received), Hops: 1 << 30}
		srcs := make([]*sourceAcc, 0, len(c.sources))
		for _, s := range c.sources {
			srcs = append(srcs, s)
			if s.hops < e.Hops || s.hops == e.Hops && s.entity < e.Nearest {
				e.Hops, e.Nearest = s.hops, s.entity
			}
		}
		sort.Slice(srcs, func(i, j int) bool {
			if srcs[i].amount != srcs[j].amount {
				return srcs[i].amount > srcs[j].amount
			}
			return srcs[i].entity < srcs[j].entity
		})
		for i, s := range srcs {
			if i == top {
				break
			}
			src := Source{Entity: s.entity, Amount: s.amount, Share: share(s.amount, received), Hops: s.hops}
			if s.path != nil {
				src.Path = s.path()
			}
			e.Sources = append(e.Sources, src)
		}
		r.Exposures = append(r.Exposures, e)
	}
	return r
}

func share(a, total int64) float64 {
	if total <= 0 {
		return 0
	}
	return float64(a) / float64(total)
}

// Get returns the exposure to category, or the zero Exposure.
func (r *Record) Get(category string) Exposure {
	for _, e := range r.Exposures {
		if e.Category == category {
			return e
		}
	}
	return Exposure{Category: category}
}

// clusterInfo names the clustering whose labels the walks use, "" for none.
func (o *Options) clusterInfo() string {
	if o.Clusters == nil {
		return ""
	}
	return o.ClusterInfo
}
