package screen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tracer-oss/tracer/sanctions"
	"github.com/tracer-oss/tracer/sanctions/address"
	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/tracer"
	"github.com/tracer-oss/tracer/tracer/screen/policy"
)

// Risk levels of a Result.
const (
	RiskSanctioned = "sanctioned" // the address is on the sanctions list
	RiskExposed    = "exposed"    // it received funds tracing back to sanctioned addresses
	RiskRisky      = "risky"      // tagged with, or exposed to, a risk category
	RiskNone       = "none"
)

// Methods of a Result.
const (
	MethodIndex  = "index"  // read from the exposure index
	MethodFresh  = "fresh"  // a backward walk just now
	MethodDirect = "direct" // a source itself: its designation, no walk
	MethodList   = "list"   // the sanctions list only: the store holds no blocks to trace
)

// noBlocks is why a store without blocks gives no exposure.
const noBlocks = "the store holds no blocks, only the sanctions list: addresses are checked against the list, funds are not traced (ingest or follow the chain for exposure)"

// Tag is a tag of the screened address.
type Tag struct {
	Pack     string `json:"pack"`
	Label    string `json:"label,omitempty"`
	Actor    string `json:"actor,omitempty"`
	Category string `json:"category,omitempty"`
	Abuse    string `json:"abuse,omitempty"`
	Risk     string `json:"risk_category,omitempty"` // the risk category it is screened under, if any
	// ActorCategories are the categories of the tag's actor (ActorPack).
	ActorCategories []string `json:"actor_categories,omitempty"`
}

// Result is the screen of one address.
type Result struct {
	Address string `json:"address"`
	Risk    string `json:"risk"`
	// Level is the risk policy's verdict (severe, high, medium, low, none),
	// Rule the policy rule that set it ("" when none matched) and Reason
	// what that rule matched.
	Level  string        `json:"level"`
	Rule   string        `json:"rule"`
	Reason string        `json:"reason,omitempty"`
	Policy string        `json:"policy"`
	Direct []Designation `json:"direct,omitempty"`
	Tags   []Tag         `json:"tags,omitempty"`
	Record
	Method  string `json:"method"`
	Partial bool   `json:"partial,omitempty"` // a fresh walk hit its transaction limit
	Note    string `json:"note,omitempty"`
	// ExposureUnavailable says why no exposure was traced ("" when it
	// was): risk is then sanctioned or none from the list alone (risky
	// when a tag pack tags the address itself).
	ExposureUnavailable string `json:"exposure_unavailable,omitempty"`
}

// Sanctioned is the exposure to sanctioned sources (zero when none).
func (r *Result) Sanctioned() Exposure { return r.Get(CategorySanctioned) }

// Status describes the data a Screener answers from.
type Status struct {
	Network       string   `json:"network"`
	TipHeight     int32    `json:"tip_height"`
	TipHash       string   `json:"tip_hash"`
	SanctionsList string   `json:"sanctions_list,omitempty"`
	ListVersion   uint32   `json:"list_version"`
	TagPacks      []string `json:"tag_packs"`
	Sources       int      `json:"source_groups"`
	Index         *Index   `json:"index,omitempty"`
	Policy        string   `json:"policy"` // name of the risk policy results are rated by
	// ExposureUnavailable says why screens give no exposure ("" when
	// they do): a store with a sanctions list and no blocks.
	ExposureUnavailable string `json:"exposure_unavailable,omitempty"`
}

// Index describes the exposure index in force.
type Index struct {
	Gen         uint32      `json:"gen"`
	BuiltAt     time.Time   `json:"built_at"`
	TipHeight   int32       `json:"tip_height"`
	ListVersion uint32      `json:"list_version"`
	Addresses   int         `json:"addresses"`
	Params      IndexParams `json:"params"`
	Stale       []string    `json:"stale,omitempty"` // why it does not match the data or options; empty: fresh
}

// Screener screens addresses against one store. It holds the list's
// designations and the tags in memory, so a screen from the index is one
// point read. Safe for concurrent use.
type Screener struct {
	st      Store
	src     *Sources
	opt     Options
	status  Status
	idx     store.ExposureIndex
	indexed bool
	reader  *Reader // of idx; nil when its format is not this version's (stale)
	direct  map[string][]Designation
	tags    map[string][]Tag
	policy  *policy.Policy
	// listOnly: the store holds no blocks; screens check the list (and
	// tags) alone, for an address of any network.
	listOnly bool
}

// New loads the sources and the index header of st.
func New(st Store, opt Options) (*Screener, error) {
	if err := opt.normalize(true); err != nil {
		return nil, err
	}
	src, err := LoadSources(st, opt.Params)
	if err != nil {
		return nil, err
	}
	state := st.State()
	s := &Screener{st: st, src: src, opt: opt, direct: map[string][]Designation{}, tags: map[string][]Tag{}, policy: policy.Default(),
		status: Status{Policy: "default", Network: state.Network, TipHeight: state.Height, TipHash: state.Hash.String(), SanctionsList: src.ListName,
			ListVersion: src.ListVersion, Sources: len(src.Groups), TagPacks: []string{}}}
	if state.Empty() {
		s.listOnly, s.status.ExposureUnavailable = true, noBlocks
	}
	packs, err := st.Tags().Packs()
	if err != nil {
		return nil, err
	}
	for _, p := range packs {
		s.status.TagPacks = append(s.status.TagPacks, fmt.Sprintf("%s (%d tags, loaded %s)", p.Name, p.Tags, p.LoadedAt.UTC().Format("2006-01-02")))
	}
	if src.ListVersion != 0 {
		list, err := st.Lists().List(src.ListVersion)
		if err != nil {
			return nil, err
		}
		for _, e := range list.Entries {
			k := s.key(e.Address)
			s.direct[k] = append(s.direct[k], designation(src.ListName, e))
		}
	}
	err = st.Tags().Each(func(t sanctions.Tag) error {
		k := s.key(t.Address)
		s.tags[k] = append(s.tags[k], Tag{Pack: t.Pack, Label: t.Label, Actor: t.Actor, Category: t.Category, Abuse: t.Abuse, Risk: RiskCategory(t), ActorCategories: t.ActorCategories})
		return nil
	})
	if err != nil {
		return nil, err
	}
	hdr, err := st.Exposure().Info()
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return nil, err
	default:
		if err := s.setIndex(hdr); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// setIndex makes hdr the index generation s answers from.
func (s *Screener) setIndex(hdr store.ExposureIndex) error {
	ix := &Index{Gen: hdr.Gen, BuiltAt: hdr.BuiltAt, TipHeight: hdr.TipHeight, ListVersion: hdr.ListVersion, Addresses: hdr.Addresses}
	if len(hdr.Params) > 0 {
		if err := json.Unmarshal(hdr.Params, &ix.Params); err != nil {
			return fmt.Errorf("%w: exposure index params: %v", store.ErrCorrupt, err)
		}
	}
	ix.Stale = staleness(hdr, ix.Params, s.st.State(), s.src, s.opt)
	s.reader = nil
	if ix.Params.Format == indexFormat {
		r, err := NewReader(s.st, hdr, s.opt.Params, s.opt.TopSources)
		if err != nil {
			return err
		}
		s.reader = r
	}
	s.idx, s.indexed, s.status.Index = hdr, true, ix
	return nil
}

// At returns a copy of s that answers from st, a snapshot of the same
// store (usually at a later tip), with the exposure index generation hdr
// (nil: none), keeping the list, tags, options and policy s loaded. A
// live server rebinds its screener to each new snapshot so, without
// reloading the list and tags; both screeners stay usable.
func (s *Screener) At(st Store, hdr *store.ExposureIndex) (*Screener, error) {
	c := *s
	c.st = st
	state := st.State()
	c.status.TipHeight, c.status.TipHash = state.Height, state.Hash.String()
	if state.Network != "" {
		c.status.Network = state.Network
	}
	c.idx, c.indexed, c.status.Index, c.reader = store.ExposureIndex{}, false, nil, nil
	// A store that had no blocks when s was made may have them now: the
	// list's keys are the same either way (key), the answers are not.
	c.listOnly, c.status.ExposureUnavailable = state.Empty(), ""
	if c.listOnly {
		c.status.ExposureUnavailable = noBlocks
	}
	if hdr != nil {
		if err := c.setIndex(*hdr); err != nil {
			return nil, err
		}
	}
	return &c, nil
}

// canonical is the key of an address string: its canonical encoding when
// it parses for the network, else the string as given (bech32 lower-cased).
func canonical(s string, opt Options) string {
	s = strings.TrimSpace(s)
	if a, err := address.Parse(s, opt.Params); err == nil {
		if c := a.String(opt.Params); c != "" {
			return c
		}
	}
	if l := strings.ToLower(s); strings.HasPrefix(l, "bc1") || strings.HasPrefix(l, "tb1") || strings.HasPrefix(l, "bcrt1") {
		return l
	}
	return s
}

// key is the key of an address string in the list and tag maps: canonical
// for the store's network, or, on a store without blocks (no network yet),
// for whichever network the address is of.
func (s *Screener) key(str string) string {
	if !s.listOnly {
		return canonical(str, s.opt)
	}
	str = strings.TrimSpace(str)
	if a, params, err := address.ParseAny(str); err == nil {
		if c := a.String(params); c != "" {
			return c
		}
	}
	return canonical(str, s.opt)
}

// canonicalOf is a.String without re-encoding in the common cases: a
// base58 address that parses is canonical as given, a bech32 one once
// lower-cased (the encoding is case-insensitive).
func canonicalOf(in string, a address.Addr, opt Options) string {
	switch a.Kind {
	case address.P2PKH, address.P2SH:
		if in[0] != 's' && in[0] != 'm' { // not the script:/multisig: forms
			return in
		}
	case address.P2WPKH, address.P2WSH, address.P2TR:
		return strings.ToLower(in)
	}
	return a.String(opt.Params)
}

func designation(list string, e sanctions.Entry) Designation {
	return Designation{List: list, Entity: e.PrimaryName, ProfileID: e.ProfileID, EntityType: e.EntityType,
		Programs: e.Programs, Designated: e.Designated, Asset: e.Asset}
}

// staleness lists why an index does not answer for the current data and options.
func staleness(hdr store.ExposureIndex, p IndexParams, state store.State, src *Sources, opt Options) []string {
	var why []string
	if hdr.ListVersion != src.ListVersion {
		why = append(why, fmt.Sprintf("built for sanctions list version %d, version %d is in force", hdr.ListVersion, src.ListVersion))
	}
	if hdr.TipHash != state.Hash.String() {
		why = append(why, fmt.Sprintf("built at tip %d, the store's tip is %d", hdr.TipHeight, state.Height))
	}
	same := len(hdr.TagGens) == len(src.TagGens)
	for k, v := range src.TagGens {
		same = same && hdr.TagGens[k] == v
	}
	if !same {
		why = append(why, "tag packs changed since it was built")
	}
	if p.Clusters != opt.clusterInfo() {
		why = append(why, fmt.Sprintf("built with cluster labels %q; now %q", orNone(p.Clusters), orNone(opt.clusterInfo())))
	}
	if p.Model != opt.model().String() || p.MaxHops != opt.MaxHops || p.MinValue != opt.MinValue {
		why = append(why, fmt.Sprintf("built with model %s, max hops %d, min value %d; asked for %s, %d, %d",
			p.Model, p.MaxHops, p.MinValue, opt.model(), opt.MaxHops, opt.MinValue))
	}
	if p.Partial {
		why = append(why, "a walk stopped at the transaction limit")
	}
	if p.Format != indexFormat {
		why = append(why, fmt.Sprintf("built in index format %d, this version reads format %d", p.Format, indexFormat))
	}
	return why
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// SetPolicy makes p the risk policy every later screen is rated by (nil:
// the built-in default). Call it before screening concurrently.
func (s *Screener) SetPolicy(p *policy.Policy) {
	if p == nil {
		p = policy.Default()
	}
	s.policy = p
	s.status.Policy = p.Name
}

// Policy returns the risk policy in force.
func (s *Screener) Policy() *policy.Policy { return s.policy }

// Facts are what a risk policy looks at in r: the address's own categories
// (sanctioned when listed; each tag's category, abuse, risk category and
// actor categories) and its received exposures.
func (r *Result) Facts() policy.Facts {
	var f policy.Facts
	if len(r.Direct) > 0 {
		f.Direct = append(f.Direct, CategorySanctioned)
	}
	for _, t := range r.Tags {
		for _, c := range append([]string{t.Category, t.Abuse, t.Risk}, t.ActorCategories...) {
			if c != "" {
				f.Direct = append(f.Direct, c)
			}
		}
	}
	for _, e := range r.Exposures {
		f.Exposures = append(f.Exposures, policy.Exposure{Category: e.Category, Direction: policy.Received, Amount: e.Amount, Share: e.Share, Hops: e.Hops})
	}
	return f
}

// decide rates r by the policy in force.
func (s *Screener) decide(r *Result, err error) (*Result, error) {
	if r == nil || err != nil {
		return r, err
	}
	d := s.policy.Evaluate(r.Facts())
	r.Level, r.Rule, r.Reason, r.Policy = d.Level.String(), d.Rule, d.Reason, s.policy.Name
	return r, nil
}

// Status returns what the screener answers from.
func (s *Screener) Status() Status { return s.status }

// Sources returns the loaded sources.
func (s *Screener) Sources() *Sources { return s.src }

// IndexUsable reports whether the index exists and is not stale.
func (s *Screener) IndexUsable() bool { return s.indexed && len(s.status.Index.Stale) == 0 }

// Screen screens addr from the index when it is usable, else with a fresh walk.
func (s *Screener) Screen(ctx context.Context, addr string) (*Result, error) {
	if s.IndexUsable() {
		return s.Lookup(ctx, addr)
	}
	return s.Fresh(ctx, addr)
}

// prepare parses addr and fills the direct part of its result; done is true
// when the address is a source (or unparsable but listed) and needs no walk.
func (s *Screener) prepare(addr string) (r *Result, a address.Addr, done bool, err error) {
	in := strings.TrimSpace(addr)
	if s.listOnly {
		r, err := s.listed(in)
		return r, a, true, err
	}
	a, err = address.Parse(in, s.opt.Params)
	if err != nil {
		// A listed string that is not an address of this network (another
		// network, or a typo in the list) still screens as listed.
		if d := s.direct[canonical(in, s.opt)]; len(d) > 0 {
			return &Result{Address: in, Risk: RiskSanctioned, Direct: d, Method: MethodDirect, Record: Record{Exposures: []Exposure{}},
				Note: fmt.Sprintf("not a valid %s address: %v", s.opt.Params.Name, err)}, a, true, nil
		}
		return nil, a, false, fmt.Errorf("screen %q: %w", in, err)
	}
	c := canonicalOf(in, a, s.opt)
	r = &Result{Address: c, Direct: s.direct[c], Tags: s.tags[c], Risk: RiskNone, Record: Record{Exposures: []Exposure{}}}
	for _, t := range r.Tags {
		if t.Risk != "" {
			r.Risk = RiskRisky
		}
	}
	if len(r.Direct) > 0 {
		r.Risk = RiskSanctioned
	}
	if len(r.Direct) > 0 || s.src.IsSource(a) {
		r.Method = MethodDirect
		if r.Received, err = s.received(a); err != nil {
			return nil, a, false, err
		}
		return r, a, true, nil
	}
	return r, a, false, nil
}

// listed screens addr against the list and tags alone: a store without
// blocks has no exposure to give, and no network, so an address of any
// network is accepted.
func (s *Screener) listed(in string) (*Result, error) {
	r := &Result{Address: in, Risk: RiskNone, Method: MethodList, Record: Record{Exposures: []Exposure{}}, ExposureUnavailable: noBlocks}
	if _, _, err := address.ParseAny(in); err != nil {
		if d := s.direct[s.key(in)]; len(d) > 0 {
			r.Risk, r.Direct, r.Method, r.Note = RiskSanctioned, d, MethodDirect, fmt.Sprintf("not a valid address: %v", err)
			return r, nil
		}
		return nil, fmt.Errorf("screen %q: %w", in, err)
	}
	r.Address = s.key(in)
	r.Direct, r.Tags = s.direct[r.Address], s.tags[r.Address]
	for _, t := range r.Tags {
		if t.Risk != "" {
			r.Risk = RiskRisky
		}
	}
	if len(r.Direct) > 0 {
		r.Risk, r.Method = RiskSanctioned, MethodDirect
	}
	return r, nil
}

// received is everything a received in the store's range: the same total a
// fresh walk and `tracer address` report, for the addresses the index holds
// no record of and for sources (screened directly, without a walk).
func (s *Screener) received(a address.Addr) (int64, error) {
	var sum int64
	err := s.st.AddressOutputs(a, store.OutPoint{}, func(o store.AddrOutput) bool {
		sum += o.Value
		return true
	})
	return sum, err
}

func (r *Result) rate() {
	if r.Risk == RiskSanctioned {
		return
	}
	for _, e := range r.Exposures {
		if e.Category == CategorySanctioned && e.Amount > 0 {
			r.Risk = RiskExposed
			return
		}
		if e.Amount > 0 {
			r.Risk = RiskRisky
		}
	}
}

// Lookup screens addr from the exposure index: a point read. It returns
// ErrNoIndex when no index was built (a stale index still answers).
func (s *Screener) Lookup(ctx context.Context, addr string) (*Result, error) {
	return s.decide(s.lookup(ctx, addr))
}

func (s *Screener) lookup(_ context.Context, addr string) (*Result, error) {
	r, a, done, err := s.prepare(addr)
	if err != nil || done {
		return r, err
	}
	if !s.indexed {
		return nil, ErrNoIndex
	}
	if s.reader == nil {
		return nil, fmt.Errorf("%w: %s", ErrIndexStale, strings.Join(s.status.Index.Stale, "; "))
	}
	r.Method = MethodIndex
	rec, found, err := s.reader.RecordOf(a, r.Address)
	if err != nil {
		return nil, err
	}
	if found {
		r.Record = rec
	} else if r.Received, err = s.received(a); err != nil {
		// The index records exposed addresses only: a clear one's total
		// is read from its outputs.
		return nil, err
	}
	r.rate()
	return r, nil
}

// Fresh screens addr with a backward walk from everything it received.
func (s *Screener) Fresh(ctx context.Context, addr string) (*Result, error) {
	return s.decide(s.fresh(ctx, addr))
}

func (s *Screener) fresh(ctx context.Context, addr string) (*Result, error) {
	r, a, done, err := s.prepare(addr)
	if err != nil || done {
		return r, err
	}
	r.Method = MethodFresh
	topt := tracer.Options{Model: s.opt.model(), MaxHops: s.opt.MaxHops, MinValue: s.opt.MinValue, MaxTxs: s.opt.MaxTxs,
		WideOutputs: 1 << 30, Params: s.opt.Params}
	cats := map[string]*categoryAcc{}
	collect := func(res *tracer.Result, out string, value int64) {
		r.Partial = r.Partial || res.Partial
		for _, h := range res.Hits {
			if h.Category != CategorySanctioned && !riskyCategory(h.Category) || h.Tainted <= 0 || h.Via == "cluster" {
				continue // a barrier (exchange, coinbase, any cluster label), not a source
			}
			c := cats[h.Category]
			if c == nil {
				c = &categoryAcc{}
				cats[h.Category] = c
			}
			path := h.Path
			c.total(h.Tainted, value, out, s.opt.Poison)
			c.add(h.Entity, h.Tainted, value, out, h.Hops, s.opt.Poison, func() []tracer.Step { return path })
		}
	}
	if !s.opt.Poison {
		res, err := tracer.Backward(ctx, s.st, s.opt.labels(s.src), []tracer.Seed{{Addr: a}}, nil, topt)
		if errors.Is(err, tracer.ErrNoSeeds) {
			return r, nil // never paid
		}
		if err != nil {
			return nil, err
		}
		r.Received = res.Totals.Traced
		collect(res, "", 0)
	} else {
		// Poison: an output is tainted in full when any source reaches it,
		// so each output is walked on its own.
		var outs []store.AddrOutput
		if err := s.st.AddressOutputs(a, store.OutPoint{}, func(o store.AddrOutput) bool {
			outs = append(outs, o)
			return true
		}); err != nil {
			return nil, err
		}
		for _, o := range outs {
			r.Received += o.Value
			res, err := tracer.Backward(ctx, s.st, s.opt.labels(s.src), []tracer.Seed{{Addr: a}}, []store.OutPoint{o.OutPoint}, topt)
			if errors.Is(err, tracer.ErrNoSeeds) {
				continue // a zero-value output
			}
			if err != nil {
				return nil, err
			}
			collect(res, fmt.Sprintf("%s:%d", o.TxID, o.Vout), o.Value)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r.Record = record(r.Received, cats, s.opt.TopSources)
	if r.Exposures == nil {
		r.Exposures = []Exposure{}
	}
	r.rate()
	return r, nil
}
