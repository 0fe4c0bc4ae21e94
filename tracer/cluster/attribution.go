package cluster

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/btcsuite/btcd/chaincfg"

	"github.com/tracer-oss/tracer/sanctions/address"
	"github.com/tracer-oss/tracer/store"
)

// Attribution is what the store knows of an address: the sanctions
// designations in force, its tags, and the entity its cluster belongs to.
type Attribution struct {
	Sanctioned []string `json:"sanctioned,omitempty"` // "NAME (profile N, PROGRAMS)"
	Tags       []string `json:"tags,omitempty"`       // "LABEL (CATEGORY, PACK)"
	Entity     string   `json:"entity,omitempty"`     // the entity name its tag or cluster gives
	Via        string   `json:"via,omitempty"`        // tag | cluster
	LinkTxid   string   `json:"link_txid,omitempty"`  // via cluster: the transaction that linked it
	Cluster    uint64   `json:"cluster,omitempty"`    // its cluster's id (tracer entity ID); 0: none
}

// Empty reports whether nothing is known of the address.
func (a *Attribution) Empty() bool {
	return a == nil || len(a.Sanctioned) == 0 && len(a.Tags) == 0 && a.Entity == "" && a.Cluster == 0
}

// String is the attribution on one line, "" when nothing is known.
func (a *Attribution) String() string {
	if a.Empty() {
		return ""
	}
	var parts []string
	if len(a.Sanctioned) > 0 {
		parts = append(parts, "SANCTIONED: "+strings.Join(a.Sanctioned, "; "))
	}
	if len(a.Tags) > 0 {
		parts = append(parts, "tags: "+strings.Join(a.Tags, "; "))
	}
	if a.Entity != "" {
		e := "entity: " + a.Entity + " via " + a.Via
		if a.LinkTxid != "" {
			e += " (linked by " + a.LinkTxid + ")"
		}
		parts = append(parts, e)
	}
	if a.Cluster != 0 {
		parts = append(parts, fmt.Sprintf("cluster %d", a.Cluster))
	}
	return strings.Join(parts, "; ")
}

// Attributor attributes addresses from one store; it caches per address.
type Attributor struct {
	st     *store.Store
	params *chaincfg.Params
	lab    *Labeler // nil: no clusters
	list   bool     // a sanctions list is loaded
	cache  map[address.Addr]*Attribution
}

// NewAttributor reads the cluster labels of st when it has been clustered.
func NewAttributor(st *store.Store, params *chaincfg.Params) (*Attributor, error) {
	a := &Attributor{st: st, params: params, cache: map[address.Addr]*Attribution{}}
	switch v, err := st.Lists().Current(); {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return nil, err
	default:
		a.list = v != 0
	}
	if _, ok, err := st.ClusterState(); err != nil {
		return nil, err
	} else if ok {
		if a.lab, err = NewLabeler(st, params, LabelOptions{}); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// Of returns what is known of addr; nil when nothing is (and for outputs
// without an address).
func (a *Attributor) Of(addr address.Addr) (*Attribution, error) {
	if !addr.Kind.HasAddress() || addr.Kind == address.NonStandard || addr.Kind == address.Multisig {
		return nil, nil
	}
	key := addr
	if key.Kind == address.P2PK {
		key.Kind = address.P2PKH
	}
	if at, ok := a.cache[key]; ok {
		return at, nil
	}
	s := key.String(a.params)
	at := &Attribution{}
	if err := a.sanctioned(at, s); err != nil {
		return nil, err
	}
	tags, err := a.st.Tags().For(s)
	if err != nil {
		return nil, err
	}
	for _, t := range tags {
		at.Tags = append(at.Tags, fmt.Sprintf("%s (%s, %s)", t.Label, orNone(t.Category), t.Pack))
		if at.Entity == "" {
			at.Entity, at.Via = t.Actor, "tag"
			if at.Entity == "" {
				at.Entity = t.Label
			}
		}
	}
	if a.lab != nil {
		if err := a.clustered(at, key); err != nil {
			return nil, err
		}
	}
	if at.Empty() {
		at = nil
	}
	a.cache[key] = at
	return at, nil
}

// sanctioned adds the sanctions list's entries for address s, each once.
func (a *Attributor) sanctioned(at *Attribution, s string) error {
	if !a.list {
		return nil
	}
	hits, err := a.st.Lists().Hits("XBT", s)
	if err != nil {
		return err
	}
	for _, e := range hits {
		d := fmt.Sprintf("%s (profile %d, %s)", e.PrimaryName, e.ProfileID, strings.Join(e.Programs, ", "))
		if !slices.Contains(at.Sanctioned, d) {
			at.Sanctioned = append(at.Sanctioned, d)
		}
	}
	return nil
}

// clustered adds key's cluster and, when no tag named the entity, the
// cluster's label.
func (a *Attributor) clustered(at *Attribution, key address.Addr) error {
	id, ok, err := a.lab.c.Lookup(key)
	if err != nil || !ok {
		return err
	}
	root, _, err := a.lab.c.Root(id)
	if err != nil {
		return err
	}
	at.Cluster = uint64(root)
	if at.Entity != "" {
		return nil
	}
	if l, ok := a.lab.Label(key); ok {
		at.Entity, at.Via, at.LinkTxid = l.Entity, l.Via, l.LinkTxid
		return nil
	}
	return a.lab.Err()
}

func orNone(s string) string {
	if s == "" {
		return "no category"
	}
	return s
}
