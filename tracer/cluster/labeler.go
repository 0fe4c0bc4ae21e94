package cluster

import (
	"slices"
	"strings"
	"sync"

	"github.com/btcsuite/btcd/chaincfg"

	"github.com/tracer-oss/tracer/sanctions"
	"github.com/tracer-oss/tracer/sanctions/address"
	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/tracer"
)

// LabelOptions tune NewLabeler.
type LabelOptions struct {
	// AllTags lets every exchange tag define its cluster, not only tags
	// marked is_cluster_definer.
	AllTags bool
}

// Definer is a tag that labels its cluster.
type Definer struct {
	Address string
	ID      store.AddrID
	Label   tracer.Label
}

// Entity is a labeled cluster.
type Entity struct {
	Root     store.AddrID
	Size     int64
	Labels   []tracer.Label // one per distinct entity name; more than one is a conflict
	Definers []Definer
}

// Conflict reports whether the cluster holds tags of different entities.
func (e *Entity) Conflict() bool { return len(e.Labels) > 1 }

// Names are the entity names of the cluster's labels.
func (e *Entity) Names() []string {
	var out []string
	for _, l := range e.Labels {
		out = append(out, l.Entity)
	}
	return out
}

// Labeler labels an address with its cluster's label (tracer.Labeler).
// Clusters with conflicting labels label nothing: see Conflicts. Safe for
// concurrent use (parallel jobs and API requests share one).
type Labeler struct {
	mu       sync.Mutex // guards cache, err and c's caches
	st       *store.Store
	c        *store.Clusters
	entities map[store.AddrID]*Entity
	cache    map[address.Addr]cached
	err      error
}

type cached struct {
	l  tracer.Label
	ok bool
}

// NewLabeler reads the stored tags and the cluster of each defining tag.
// Tags of addresses in no cluster (never spent together with another) label
// only themselves, which direct tag lookups already do.
func NewLabeler(st *store.Store, params *chaincfg.Params, opt LabelOptions) (*Labeler, error) {
	l := &Labeler{st: st, c: st.Clusters(), entities: map[store.AddrID]*Entity{}, cache: map[address.Addr]cached{}}
	err := st.Tags().Each(func(t sanctions.Tag) error {
		if !t.IsClusterDefiner && (!opt.AllTags || !t.HasCategory(sanctions.CategoryExchange)) {
			return nil
		}
		a, err := address.Parse(t.Address, params)
		if err != nil {
			return nil // another network's address
		}
		id, ok, err := l.c.Lookup(a)
		if err != nil || !ok {
			return err
		}
		root, size, err := l.c.Root(id)
		if err != nil {
			return err
		}
		e := l.entities[root]
		if e == nil {
			e = &Entity{Root: root, Size: size}
			l.entities[root] = e
		}
		name := t.Actor
		if name == "" {
			name = t.Label
		}
		lab := tracer.Label{Entity: name, Category: t.LabelCategory(), Source: t.Pack, Via: "cluster"}
		if !slices.ContainsFunc(e.Labels, func(x tracer.Label) bool { return strings.EqualFold(x.Entity, name) }) {
			e.Labels = append(e.Labels, lab)
		}
		e.Definers = append(e.Definers, Definer{Address: t.Address, ID: id, Label: lab})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return l, nil
}

// Entities returns the labeled clusters, largest first.
func (l *Labeler) Entities() []*Entity {
	var out []*Entity
	for _, e := range l.entities {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b *Entity) int {
		if a.Size != b.Size {
			return int(b.Size - a.Size)
		}
		return int(a.Root) - int(b.Root)
	})
	return out
}

// Conflicts returns the clusters holding tags of different entities.
func (l *Labeler) Conflicts() []*Entity {
	var out []*Entity
	for _, e := range l.Entities() {
		if e.Conflict() {
			out = append(out, e)
		}
	}
	return out
}

// EntityOf returns the labeled cluster with this root, or nil.
func (l *Labeler) EntityOf(root store.AddrID) *Entity { return l.entities[root] }

// Err is the first store error met by Label (which cannot return one).
func (l *Labeler) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// Label implements tracer.Labeler: the label of a's cluster, with LinkTxid
// the transaction that joined a to the nearest defining tag (the latest
// union on the way between them).
func (l *Labeler) Label(a address.Addr) (tracer.Label, bool) {
	if a.Kind == address.P2PK {
		a.Kind = address.P2PKH
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if c, ok := l.cache[a]; ok {
		return c.l, c.ok
	}
	lab, ok, err := l.label(a)
	if err != nil {
		if l.err == nil {
			l.err = err
		}
		return tracer.Label{}, false
	}
	l.cache[a] = cached{lab, ok}
	return lab, ok
}

func (l *Labeler) label(a address.Addr) (tracer.Label, bool, error) {
	if len(l.entities) == 0 {
		return tracer.Label{}, false, nil
	}
	id, ok, err := l.c.Lookup(a)
	if err != nil || !ok {
		return tracer.Label{}, false, err
	}
	root, _, err := l.c.Root(id)
	if err != nil {
		return tracer.Label{}, false, err
	}
	e := l.entities[root]
	if e == nil || e.Conflict() {
		return tracer.Label{}, false, nil
	}
	var best store.TxNum
	var from *Definer
	for i := range e.Definers {
		d := &e.Definers[i]
		if d.ID == id {
			lab := d.Label
			lab.Via = "tag"
			return lab, true, nil
		}
		n, ok, err := l.c.Link(id, d.ID)
		if err != nil {
			return tracer.Label{}, false, err
		}
		if ok && (from == nil || n < best) {
			best, from = n, d
		}
	}
	if from == nil {
		return tracer.Label{}, false, nil
	}
	tx, err := l.st.TxByNum(best)
	if err != nil {
		return tracer.Label{}, false, err
	}
	lab := from.Label
	lab.LinkTxid = tx.ID.String()
	return lab, true, nil
}

// LabelKeys implements tracer.KeyedLabeler: the address keys of every
// member of a labeled cluster without conflicts, which are the addresses
// Label may label.
func (l *Labeler) LabelKeys() (map[uint64]struct{}, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	keys := map[uint64]struct{}{}
	for _, e := range l.entities {
		if e.Conflict() {
			continue
		}
		err := l.c.Members(e.Root, 0, func(_ store.AddrID, a address.Addr) bool {
			keys[a.Key()] = struct{}{}
			return true
		})
		if err != nil {
			return nil, err
		}
	}
	return keys, nil
}
