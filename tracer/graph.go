package tracer

import (
	"github.com/tracer-oss/tracer/sanctions/address"
	"github.com/tracer-oss/tracer/store"
)

// Graph is what the walker reads. *store.Store implements it; tests may
// hand in a fake.
type Graph interface {
	TxByNum(n store.TxNum) (*store.Tx, error)
	// Spenders returns the spending input of each spent output of tx n.
	Spenders(n store.TxNum) (map[uint32]store.InPoint, error)
	AddressOutputs(a address.Addr, from store.OutPoint, fn func(store.AddrOutput) bool) error
	BlockByHeight(h int32) (*store.Block, error)
}

// Label is what a Labeler knows of an address.
type Label struct {
	Entity   string // e.g. "Binance"
	Category string // e.g. "exchange"
	Source   string // tag pack or source
	Via      string // "tag" or "cluster"
	LinkTxid string // with Via cluster: the transaction that linked the address
}

// Labeler labels addresses (from tag packs, or clusters of tagged addresses).
type Labeler interface {
	Label(a address.Addr) (Label, bool)
}

// MapLabeler is a Labeler over a map.
type MapLabeler map[address.Addr]Label

// Label implements Labeler. P2PK outputs are found under their P2PKH key.
func (m MapLabeler) Label(a address.Addr) (Label, bool) {
	if a.Kind == address.P2PK {
		a.Kind = address.P2PKH
	}
	l, ok := m[a]
	return l, ok
}

// Labelers asks each labeler in turn; the first that knows an address wins
// (direct tags before cluster labels).
type Labelers []Labeler

// Label implements Labeler.
func (ls Labelers) Label(a address.Addr) (Label, bool) {
	for _, l := range ls {
		if l == nil {
			continue
		}
		if lab, ok := l.Label(a); ok {
			return lab, true
		}
	}
	return Label{}, false
}

// blockTimes caches block times by height, formatted for reports.
type blockTimes map[int32]string

// of returns the UTC time of the block at height h ("" if unknown).
func (c blockTimes) of(g Graph, h int32) string {
	if t, ok := c[h]; ok {
		return t
	}
	t := ""
	if b, err := g.BlockByHeight(h); err == nil {
		t = b.Time().Format("2006-01-02 15:04:05 UTC")
	}
	c[h] = t
	return t
}
