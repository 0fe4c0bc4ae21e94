package cases

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/btcsuite/btcd/chaincfg"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/tracer"
	"github.com/tracer-oss/tracer/tracer/graphview"
	"github.com/tracer-oss/tracer/tracer/seedsel"
	"github.com/tracer-oss/tracer/tracer/spec"
)

// Params are a case's trace parameters: a trace specification (package
// tracer/spec), decoded by spec's decoder (DecodeParams) with its names,
// defaults and validation, as CLI flags, job files and /v1/trace are. A
// case keeps its seed addresses in Case.Seeds, not in Params.Seeds.
type Params = spec.Spec

// withDefaults fills p's zero fields from spec.Default() (spec's decoder
// never yields them, so only a Params built in code has them) and checks
// it.
func withDefaults(p Params) (Params, error) {
	d := spec.Default()
	if p.Direction == "" {
		p.Direction = d.Direction
	}
	if p.Model == "" {
		p.Model = d.Model
	}
	if p.MaxHops == 0 {
		p.MaxHops = d.MaxHops
	}
	if p.MinValue == 0 {
		p.MinValue = d.MinValue
	}
	if p.MaxTxs == 0 {
		p.MaxTxs = d.MaxTxs
	}
	if p.WideOutputs == 0 {
		p.WideOutputs = d.WideOutputs
	}
	if p.Stop == nil {
		p.Stop = d.Stop
	}
	p.Seeds = seedsel.Selection{}
	if err := p.Validate(); err != nil {
		return p, fmt.Errorf("%w: %v", ErrBadInput, err)
	}
	return p, nil
}

// Note is an investigator's note on a node.
type Note struct {
	Text string    `json:"text"`
	By   string    `json:"by"`
	At   time.Time `json:"at"`
}

// Expansion is a hop added by hand from a node.
type Expansion struct {
	Node      string `json:"node"`      // txid or address
	Direction string `json:"direction"` // forward | backward
}

// Case is a stored case.
type Case struct {
	ID         uint64          `json:"id"`
	Title      string          `json:"title,omitempty"`
	Created    time.Time       `json:"created"`
	CreatedBy  string          `json:"created_by"`
	Seeds      []string        `json:"seeds"`
	Params     Params          `json:"params"`
	Runs       int             `json:"runs"` // traces run: 1 + re-runs
	Notes      map[string]Note `json:"notes"`
	Expansions []Expansion     `json:"expansions"`
	Hidden     []string        `json:"hidden,omitempty"` // nodes whose branches are hidden`
	// Summary of the latest run, for lists.
	Hits  int             `json:"hits"`
	Nodes int             `json:"nodes"`
	Data  tracer.DataInfo `json:"data"`
	// Versions are the data versions of the latest run, for its bundle.
	Versions  DataVersions `json:"data_versions"`
	UpdatedAt time.Time    `json:"updated_at"`
}

// Tracer runs a case's trace: p with its seeds. It is the one seam
// between cases and the trace entry point: SpecTracer runs p with a
// spec.Runner, as tracer trace, jobs and /v1/trace do.
type Tracer interface {
	Trace(ctx context.Context, p spec.Spec) (*tracer.Result, error)
}

// run traces seeds under p.
func (s *Service) run(ctx context.Context, seeds []string, p Params) (*tracer.Result, error) {
	p.Seeds = seedsel.Selection{Addresses: seeds, AddressSource: "case"}
	r, err := s.tr.Trace(ctx, p)
	if err != nil {
		return nil, specErr(err)
	}
	return r, nil
}

// Store is what cases needs of the store: its room for cases
// (store.Cases, from st.Cases(), implements it).
type Store interface {
	Create(rec func(id uint64) ([]byte, error), result []byte, ev store.CaseEvent) (uint64, error)
	Update(id uint64, fn func(rec []byte) (newRec, newResult []byte, err error), ev store.CaseEvent) error
	Record(id uint64) ([]byte, error)
	Result(id uint64) ([]byte, error)
	Each(fn func(id uint64, rec []byte) error) error
	Log(id uint64) ([]store.CaseEvent, error)
}

// Service works on the cases of one store.
type Service struct {
	st     Store
	tr     Tracer
	chain  tracer.Graph
	txNum  func(txid string) (store.TxNum, error)
	params *chaincfg.Params
	now    func() time.Time
	// MaxExpand bounds the neighbours one expansion adds.
	MaxExpand int
	// Versions, if set, names the store's data versions for bundles.
	Versions func() (DataVersions, error)
	// MaxNodes caps the graph View gives a browser (graphview.Cap); 0:
	// graphview.MaxNodes.
	MaxNodes int
	// Exposure, if set, gives the exposure of addresses for the details
	// panel (StoreExposure); View calls it once per graph.
	Exposure func(addrs []string) (map[string]string, error)
}

// New returns a Service. chain and txNum serve expansions and block times;
// txNum finds a transaction's number by its txid (hex).
func New(st Store, tr Tracer, chain tracer.Graph, txNum func(txid string) (store.TxNum, error), params *chaincfg.Params) *Service {
	return &Service{st: st, tr: tr, chain: chain, txNum: txNum, params: params, now: time.Now, MaxExpand: 500}
}

// Create runs the trace of seeds under p and stores it as a new case.
func (s *Service) Create(ctx context.Context, who, title string, seeds []string, p Params) (*Case, error) {
	seeds = cleanSeeds(seeds)
	if len(seeds) == 0 {
		return nil, fmt.Errorf("%w: no seeds", ErrBadInput)
	}
	p, err := withDefaults(p)
	if err != nil {
		return nil, err
	}
	res, err := s.run(ctx, seeds, p)
	if err != nil {
		return nil, err
	}
	resJSON, err := json.Marshal(res)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	c := &Case{Title: title, Created: now, CreatedBy: who, Seeds: seeds, Params: p, Runs: 1, Notes: map[string]Note{}, UpdatedAt: now}
	c.summarize(res)
	if c.Versions, err = s.versions(res); err != nil {
		return nil, err
	}
	id, err := s.st.Create(func(id uint64) ([]byte, error) { c.ID = id; return json.Marshal(c) }, resJSON,
		store.CaseEvent{Time: now, Who: who, Action: "create", Detail: describe(seeds, p)})
	if err != nil {
		return nil, err
	}
	c.ID = id
	return c, nil
}

func (c *Case) summarize(r *tracer.Result) {
	c.Hits, c.Nodes, c.Data = r.Totals.Hits, len(r.Nodes), r.Data
}

// versions names the data a result was computed on: the store's list and
// packs now, the result's tip.
func (s *Service) versions(r *tracer.Result) (DataVersions, error) {
	var dv DataVersions
	if s.Versions != nil {
		var err error
		if dv, err = s.Versions(); err != nil {
			return dv, err
		}
	}
	dv.Network, dv.TipHeight, dv.TipHash = r.Data.Network, r.Data.TipHeight, r.Data.TipHash
	return dv, nil
}

func describe(seeds []string, p Params) string {
	b, _ := json.Marshal(struct {
		Seeds  []string `json:"seeds"`
		Params Params   `json:"params"`
	}{seeds, p})
	return string(b)
}

func cleanSeeds(in []string) []string {
	var out []string
	for _, s := range in {
		if s = strings.TrimSpace(s); s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// Get returns case id.
func (s *Service) Get(id uint64) (*Case, error) {
	b, err := s.st.Record(id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: case %d", ErrNotFound, id)
	}
	if err != nil {
		return nil, err
	}
	var c Case
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("cases: case %d: %w", id, err)
	}
	if c.Notes == nil {
		c.Notes = map[string]Note{}
	}
	return &c, nil
}

// List returns every case, oldest first.
func (s *Service) List() ([]*Case, error) {
	out := []*Case{}
	err := s.st.Each(func(id uint64, b []byte) error {
		var c Case
		if err := json.Unmarshal(b, &c); err != nil {
			return fmt.Errorf("cases: case %d: %w", id, err)
		}
		out = append(out, &c)
		return nil
	})
	return out, err
}

// Log returns case id's change log.
func (s *Service) Log(id uint64) ([]store.CaseEvent, error) {
	if _, err := s.Get(id); err != nil {
		return nil, err
	}
	return s.st.Log(id)
}

// Result returns the latest trace result of case id.
func (s *Service) Result(id uint64) (*tracer.Result, error) {
	b, err := s.st.Result(id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: case %d", ErrNotFound, id)
	}
	if err != nil {
		return nil, err
	}
	var r tracer.Result
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("cases: case %d result: %w", id, err)
	}
	return &r, nil
}

// update applies fn to case id and logs ev.
func (s *Service) update(id uint64, ev store.CaseEvent, result []byte, fn func(*Case) error) (*Case, error) {
	var out *Case
	ev.Time = s.now().UTC()
	err := s.st.Update(id, func(b []byte) ([]byte, []byte, error) {
		var c Case
		if err := json.Unmarshal(b, &c); err != nil {
			return nil, nil, fmt.Errorf("cases: case %d: %w", id, err)
		}
		if c.Notes == nil {
			c.Notes = map[string]Note{}
		}
		if err := fn(&c); err != nil {
			return nil, nil, err
		}
		c.UpdatedAt = ev.Time
		nb, err := json.Marshal(&c)
		out = &c
		return nb, result, err
	}, ev)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: case %d", ErrNotFound, id)
	}
	return out, err
}

// SetNote sets (or with empty text, removes) the note on a node, named by
// its txid, address or entity.
func (s *Service) SetNote(id uint64, who, node, text string) (*Case, error) {
	node = nodeKey(node)
	if node == "" {
		return nil, fmt.Errorf("%w: no node", ErrBadInput)
	}
	if len(text) > 100_000 {
		return nil, fmt.Errorf("%w: a note of %d bytes (at most 100,000)", ErrBadInput, len(text))
	}
	if !isTxid(node) {
		if _, err := s.addr(node); err != nil {
			// An entity node: it must be in the case's graph.
			g, gerr := s.Graph(context.Background(), id)
			if gerr != nil {
				return nil, gerr
			}
			if g.Node(graphview.EntityID(node)) == nil {
				return nil, fmt.Errorf("%w: %q is not a txid, an address of this network or an entity of the case", ErrBadInput, node)
			}
		}
	}
	return s.update(id, store.CaseEvent{Who: who, Action: "note", Node: node, Detail: text}, nil, func(c *Case) error {
		if text == "" {
			delete(c.Notes, node)
		} else {
			c.Notes[node] = Note{Text: text, By: who, At: s.now().UTC()}
		}
		return nil
	})
}

// SetHidden hides (or shows again) the branch from a node in the case's
// graph, for everyone who opens the case.
func (s *Service) SetHidden(ctx context.Context, id uint64, who, node string, hidden bool) (*Case, error) {
	node = nodeKey(node)
	g, err := s.Graph(ctx, id)
	if err != nil {
		return nil, err
	}
	if g.Node(graphview.TxID(node)) == nil && g.Node(graphview.AddrID(node)) == nil && g.Node(graphview.EntityID(node)) == nil {
		return nil, fmt.Errorf("%w: no node %q in case %d", ErrNotFound, node, id)
	}
	action := "show"
	if hidden {
		action = "hide"
	}
	return s.update(id, store.CaseEvent{Who: who, Action: action, Node: node}, nil, func(c *Case) error {
		c.Hidden = slices.DeleteFunc(c.Hidden, func(x string) bool { return x == node })
		if hidden {
			c.Hidden = append(c.Hidden, node)
		}
		return nil
	})
}

// nodeKey accepts a node id ("t:txid", "a:address", "e:entity") or a key.
func nodeKey(node string) string {
	node = strings.TrimSpace(node)
	if len(node) > 2 && node[1] == ':' && strings.ContainsRune("tae", rune(node[0])) {
		return node[2:]
	}
	return node
}

// Rerun runs the case's trace again with p, keeping its notes and
// expansions (notes are keyed by txid and address, so they stay on the
// nodes the new trace still draws).
func (s *Service) Rerun(ctx context.Context, id uint64, who string, p Params) (*Case, error) {
	c, err := s.Get(id)
	if err != nil {
		return nil, err
	}
	if p, err = withDefaults(p); err != nil {
		return nil, err
	}
	res, err := s.run(ctx, c.Seeds, p)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(res)
	if err != nil {
		return nil, err
	}
	dv, err := s.versions(res)
	if err != nil {
		return nil, err
	}
	return s.update(id, store.CaseEvent{Who: who, Action: "rerun", Detail: describe(c.Seeds, p)}, b, func(c *Case) error {
		c.Params, c.Runs, c.Versions = p, c.Runs+1, dv
		c.summarize(res)
		return nil
	})
}

// Graph builds case id's graph: the latest result, its notes, and the
// hops added by hand.
func (s *Service) Graph(ctx context.Context, id uint64) (*graphview.Graph, error) {
	c, err := s.Get(id)
	if err != nil {
		return nil, err
	}
	r, err := s.Result(id)
	if err != nil {
		return nil, err
	}
	notes := map[string]string{}
	for k, n := range c.Notes {
		notes[k] = n.Text
	}
	times := map[int32]string{}
	timeOf := func(h int32) string {
		if t, ok := times[h]; ok {
			return t
		}
		t := ""
		if s.chain != nil {
			if b, err := s.chain.BlockByHeight(h); err == nil {
				t = b.Time().UTC().Format("2006-01-02 15:04:05 UTC")
			}
		}
		times[h] = t
		return t
	}
	g := graphview.FromResult(r, graphview.Options{Time: timeOf, Notes: notes})
	for _, e := range c.Expansions {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := s.expand(g, e, timeOf); err != nil {
			return nil, err
		}
	}
	for i := range g.Nodes {
		if t, ok := notes[g.Nodes[i].Key]; ok {
			g.Nodes[i].Note = t
		}
		g.Nodes[i].Hidden = slices.Contains(c.Hidden, g.Nodes[i].Key)
	}
	g.Finish()
	return g, nil
}

// View is case id's graph as a browser is given it: Graph capped at
// MaxNodes (keeping every hit, seed, path, note, hidden node, expansion
// and the nodes expansions started from), its address nodes annotated
// with their exposure.
func (s *Service) View(ctx context.Context, id uint64) (*graphview.Graph, error) {
	c, err := s.Get(id)
	if err != nil {
		return nil, err
	}
	g, err := s.Graph(ctx, id)
	if err != nil {
		return nil, err
	}
	// An expansion's origin and its neighbours stay drawn.
	origins := map[string]bool{}
	for _, e := range c.Expansions {
		origins[graphview.TxID(e.Node)], origins[graphview.AddrID(e.Node)] = true, true
	}
	var pin []string
	for id := range origins {
		pin = append(pin, id)
	}
	for _, e := range g.Edges {
		if origins[e.From] {
			pin = append(pin, e.To)
		}
		if origins[e.To] {
			pin = append(pin, e.From)
		}
	}
	for _, h := range c.Hidden {
		pin = append(pin, graphview.TxID(h), graphview.AddrID(h), graphview.EntityID(h))
	}
	max := s.MaxNodes
	if max <= 0 {
		max = graphview.MaxNodes
	}
	g.Cap(max, pin...)
	if err := s.annotate(g); err != nil {
		return nil, err
	}
	return g, nil
}

// Expand adds one hop from node (a txid or an address) in direction and
// returns the new graph (View). The expansion is kept with the case.
func (s *Service) Expand(ctx context.Context, id uint64, who, node, direction string) (*graphview.Graph, error) {
	node = nodeKey(node)
	if direction == "" {
		direction = "forward"
	}
	if direction != "forward" && direction != "backward" {
		return nil, fmt.Errorf("%w: direction must be forward or backward, not %q", ErrBadInput, direction)
	}
	if !isTxid(node) {
		if _, err := s.addr(node); err != nil {
			return nil, fmt.Errorf("%w: %q is neither a txid nor an address of this network", ErrBadInput, node)
		}
	}
	e := Expansion{Node: node, Direction: direction}
	// Check it resolves before recording it.
	probe := &graphview.Graph{}
	probe.Finish()
	if err := s.expand(probe, e, func(int32) string { return "" }); err != nil {
		return nil, err
	}
	if _, err := s.update(id, store.CaseEvent{Who: who, Action: "expand", Node: node, Detail: direction}, nil, func(c *Case) error {
		if !slices.Contains(c.Expansions, e) {
			c.Expansions = append(c.Expansions, e)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	return s.View(ctx, id)
}

func isTxid(s string) bool {
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// DecodeParams decodes the trace parameters of a JSON request body (the
// body's fields but seeds and title) with spec's decoder: the keys of
// spec.Keys, named and checked as /v1/trace's query parameters are, on
// spec.Default(). A value is a string, a number, a boolean or, for keys
// that take several (stop), a list of them.
func DecodeParams(fields map[string]json.RawMessage) (Params, error) {
	p := spec.Default()
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		raw := fields[k]
		var vals []string
		var list []json.RawMessage
		if err := json.Unmarshal(raw, &list); err != nil {
			list = []json.RawMessage{raw}
		}
		for _, r := range list {
			var v any
			if err := json.Unmarshal(r, &v); err != nil {
				return p, fmt.Errorf("%w: %s: %v", ErrBadInput, k, err)
			}
			switch x := v.(type) {
			case string:
				vals = append(vals, x)
			case float64, bool:
				vals = append(vals, string(r))
			case nil:
			default:
				return p, fmt.Errorf("%w: %s: want a string, a number or a boolean, not %s", ErrBadInput, k, r)
			}
		}
		if len(vals) == 0 && string(raw) == "null" {
			continue
		}
		if err := p.Set(k, vals...); err != nil {
			return p, fmt.Errorf("%w: %v", ErrBadInput, err)
		}
	}
	if err := p.Validate(); err != nil {
		return p, fmt.Errorf("%w: %v", ErrBadInput, err)
	}
	return p, nil
}
