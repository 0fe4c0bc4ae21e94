package cluster

import (
	"context"
	"slices"
	"strings"

	"github.com/btcsuite/btcd/chaincfg"

	"github.com/tracer-oss/tracer/sanctions/address"
	"github.com/tracer-oss/tracer/store"
)

// DescribeOptions are what Describe reads and how much.
type DescribeOptions struct {
	Limit     int          // addresses per page (positive)
	After     store.AddrID // the page starts after this member (0: the first)
	ScanLimit int          // totals and counterparties only for clusters of at most this many addresses
	Top       int          // top counterparties each way (0: none)
	Label     LabelOptions // how tags label clusters
}

// EntityLabel is a label of a described entity, with the number of its
// cluster-defining tags.
type EntityLabel struct {
	Entity   string `json:"entity"`
	Category string `json:"category"`
	Source   string `json:"source"`
	Definers int    `json:"defining_tags"`
}

// MemberAddr is an address of a described entity with its member id.
type MemberAddr struct {
	ID      uint64 `json:"id"`
	Address string `json:"address"`
}

// NamedCounterparty is a top payer or payee of a described entity, named by
// its cluster's labels or its address's tags.
type NamedCounterparty struct {
	Entity  uint64   `json:"entity"` // cluster id; 0 for an address in no cluster
	Address string   `json:"address"`
	Labels  []string `json:"labels,omitempty"` // its cluster's labels, or the address's tags
	Txs     int      `json:"txs"`
	Value   int64    `json:"value_sat"`
}

// Description is what the store knows of an entity: its size and labels,
// its activity (first/last seen, received, balance), its top counterparties
// and a page of its addresses. The JSON is tracer entity --json's.
type Description struct {
	ID        uint64        `json:"id"` // the cluster's root; 0 for an address in no cluster
	Size      int64         `json:"size"`
	Labels    []EntityLabel `json:"labels"`
	Conflict  bool          `json:"conflict"`
	Totals    bool          `json:"totals"` // false when the cluster exceeds ScanLimit
	Outputs   int64         `json:"outputs"`
	FirstSeen int32         `json:"first_seen_height"`
	LastSeen  int32         `json:"last_seen_height"`
	Received  int64         `json:"received_sat"`
	Balance   int64         `json:"balance_sat"`
	// Payers and Payees are the top counterparties (with totals only).
	Payers []NamedCounterparty `json:"top_payers,omitempty"`
	Payees []NamedCounterparty `json:"top_payees,omitempty"`
	Page   []MemberAddr        `json:"addresses"`
	Next   uint64              `json:"next,omitempty"` // After value of the next page
}

// Describe describes the entity of the member id, or, when id is 0, of the
// address addr (a lone address when it is in no cluster). It fails with
// ErrNoClusters when the store holds no clusters, and with store.ErrNotFound
// for an id or page start that is no member.
func Describe(ctx context.Context, st *store.Store, params *chaincfg.Params, id store.AddrID, addr address.Addr, opt DescribeOptions) (*Description, error) {
	if _, ok, err := st.ClusterState(); err != nil {
		return nil, err
	} else if !ok {
		return nil, ErrNoClusters
	}
	cl := st.Clusters()
	if id != 0 {
		if _, err := cl.Addr(id); err != nil {
			return nil, err
		}
	} else if found, ok, err := cl.Lookup(addr); err != nil {
		return nil, err
	} else if ok {
		id = found
	}
	d := &Description{Size: 1, FirstSeen: -1, LastSeen: -1}
	var lab *Labeler
	var members []address.Addr
	if id == 0 {
		members = []address.Addr{addr}
		d.Page = []MemberAddr{{0, addr.String(params)}}
	} else {
		var err error
		if lab, members, err = d.cluster(st, params, id, opt); err != nil {
			return nil, err
		}
	}
	if members == nil {
		return d, nil
	}
	d.Totals = true
	act, err := st.Activity(ctx, members)
	if err != nil {
		return nil, err
	}
	d.Outputs, d.Received, d.Balance, d.FirstSeen, d.LastSeen = act.Outputs, act.Received, act.Balance, act.FirstSeen, act.LastSeen
	if opt.Top > 0 {
		cp, err := TopCounterparties(st, members, opt.Top)
		if err != nil {
			return nil, err
		}
		if d.Payers, err = nameCounterparties(st, lab, params, cp.From); err != nil {
			return nil, err
		}
		if d.Payees, err = nameCounterparties(st, lab, params, cp.To); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// cluster fills in the cluster of member id: root, size, labels and the
// page of addresses. It returns the labeler and, when the cluster is within
// the scan limit, every member's address (nil otherwise: no totals).
func (d *Description) cluster(st *store.Store, params *chaincfg.Params, id store.AddrID, opt DescribeOptions) (*Labeler, []address.Addr, error) {
	cl := st.Clusters()
	root, size, err := cl.Root(id)
	if err != nil {
		return nil, nil, err
	}
	d.ID, d.Size = uint64(root), size
	lab, err := NewLabeler(st, params, opt.Label)
	if err != nil {
		return nil, nil, err
	}
	if e := lab.EntityOf(root); e != nil {
		d.Conflict = e.Conflict()
		for _, l := range e.Labels {
			n := 0
			for _, def := range e.Definers {
				if strings.EqualFold(def.Label.Entity, l.Entity) {
					n++
				}
			}
			d.Labels = append(d.Labels, EntityLabel{l.Entity, l.Category, l.Source, n})
		}
	}
	err = cl.Members(root, opt.After, func(m store.AddrID, a address.Addr) bool {
		if len(d.Page) == opt.Limit {
			d.Next = d.Page[len(d.Page)-1].ID
			return false
		}
		d.Page = append(d.Page, MemberAddr{uint64(m), a.String(params)})
		return true
	})
	if err != nil {
		return nil, nil, err
	}
	if size > int64(opt.ScanLimit) {
		return lab, nil, nil
	}
	var members []address.Addr
	if err := cl.Members(root, 0, func(_ store.AddrID, a address.Addr) bool { members = append(members, a); return true }); err != nil {
		return nil, nil, err
	}
	return lab, members, nil
}

// nameCounterparties names counterparties with their cluster's labels, or
// their address's tags.
func nameCounterparties(st *store.Store, lab *Labeler, params *chaincfg.Params, cps []Counterparty) ([]NamedCounterparty, error) {
	var out []NamedCounterparty
	for _, cp := range cps {
		v := NamedCounterparty{Entity: uint64(cp.Root), Address: cp.Address.String(params), Txs: cp.Txs, Value: cp.Value}
		if lab != nil && cp.Root != 0 {
			if e := lab.EntityOf(cp.Root); e != nil {
				v.Labels = e.Names()
			}
		}
		if len(v.Labels) == 0 {
			tags, err := st.Tags().For(v.Address)
			if err != nil {
				return nil, err
			}
			for _, t := range tags {
				name := t.Actor
				if name == "" {
					name = t.Label
				}
				if !slices.Contains(v.Labels, name) {
					v.Labels = append(v.Labels, name)
				}
			}
		}
		out = append(out, v)
	}
	return out, nil
}
