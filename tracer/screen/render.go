package screen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/tracer-oss/tracer/sanctions/address"
	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/tracer"
)

// Reader reads the Records of one generation of the exposure index.
//
// The index stores, per exposed address, only its accumulators: per source
// group the amount, the nearest source's hops and the largest contribution
// with the output that paid it. A Record is drawn from them when it is
// read: its received total from the address's outputs up to the index's
// tip, its example paths back through the generation's tx shares records
// (a few point reads per source shown). Drawing on read keeps a build to
// one pass over the chain, with no record phase that visits every exposed
// address again, and a block's update to the addresses that block pays.
// Two readers of the same generation draw the same Record. A Reader is
// safe for concurrent use.
type Reader struct {
	st      Store
	gen     uint32
	slots   []slot
	params  *chaincfg.Params
	top     int
	maxHops int
	end     store.TxNum // received counts the outputs of transactions before it
}

// NewReader returns a Reader of generation hdr of st's exposure index
// (hdr from st.Exposure().Info or Header), showing up to top sources per
// category (0: 5). An index of an older format is ErrIndexStale: it holds
// no accumulators this version can draw from.
func NewReader(st Store, hdr store.ExposureIndex, params *chaincfg.Params, top int) (*Reader, error) {
	var p IndexParams
	if len(hdr.Params) > 0 {
		if err := json.Unmarshal(hdr.Params, &p); err != nil {
			return nil, fmt.Errorf("%w: exposure index params: %v", store.ErrCorrupt, err)
		}
	}
	if p.Format != indexFormat {
		return nil, fmt.Errorf("%w: built in index format %d, this version reads format %d", ErrIndexStale, p.Format, indexFormat)
	}
	if len(p.Groups) != p.Slots {
		return nil, fmt.Errorf("%w: exposure index params: %d share columns, %d described", store.ErrCorrupt, p.Slots, len(p.Groups))
	}
	if top <= 0 {
		top = 5
	}
	r := &Reader{st: st, gen: hdr.Gen, params: params, top: top, maxHops: p.MaxHops}
	for _, g := range p.Groups {
		r.slots = append(r.slots, slot{category: g.Category, entity: g.Entity, combined: g.Combined, single: g.Single})
	}
	state := st.State()
	if hdr.TipHeight >= state.StartHeight && !state.Empty() {
		b, err := st.BlockByHeight(hdr.TipHeight)
		switch {
		case errors.Is(err, store.ErrNotFound):
			// The index is ahead of the store (a store rolled back, or a
			// restart between the store's undo and the index's): stale,
			// and everything the store holds is before its tip.
			r.end = state.NextTx
		case err != nil:
			return nil, fmt.Errorf("exposure index tip %d: %w", hdr.TipHeight, err)
		default:
			r.end = b.FirstTx + store.TxNum(b.NumTx)
		}
	}
	return r, nil
}

// pathReader returns a path reader of the generation, with an empty cache.
func (r *Reader) pathReader() *pathReader {
	return &pathReader{slots: len(r.slots), maxHops: r.maxHops, st: r.st,
		get: func(n store.TxNum) ([]byte, bool, error) { return r.st.Exposure().TxShares(r.gen, n) }}
}

// Record returns the Record of addr (an address string of the network);
// found is false when the index holds none (the address received nothing
// from a source).
func (r *Reader) Record(addr string) (rec Record, found bool, err error) {
	if addr == "" || strings.IndexByte(addr, 0) >= 0 {
		return Record{}, false, nil
	}
	a, err := address.Parse(addr, r.params)
	if err != nil {
		return Record{}, false, nil
	}
	return r.RecordOf(a, addr)
}

// RecordOf is Record for an address already parsed (a), named addr in
// errors: a screen parses it once.
func (r *Reader) RecordOf(a address.Addr, addr string) (rec Record, found bool, err error) {
	key := recordKey(a)
	if key == "" {
		return Record{}, false, nil
	}
	v, found, err := r.st.Exposure().Acc(r.gen, key)
	if err != nil || !found {
		return Record{}, false, err
	}
	rec, err = r.draw(a, addr, v, r.pathReader())
	return rec, err == nil, err
}

// ForEach calls fn with the Record of every address of the generation, in
// the order of their record keys (address class, then payload).
func (r *Reader) ForEach(ctx context.Context, fn func(addr string, rec Record) error) error {
	n := 0
	paths := r.pathReader() // shared: paths of neighbours share their older steps
	return r.st.Exposure().ForEachAcc(r.gen, func(key string, v []byte) error {
		if n++; n&255 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		a, str, err := addressOfKey(key, r.params)
		if err != nil {
			return err
		}
		rec, err := r.draw(a, str, v, paths)
		if err != nil {
			return err
		}
		return fn(str, rec)
	})
}

// draw turns the stored accumulators v of address a (named addr) into its
// Record.
func (r *Reader) draw(a address.Addr, addr string, v []byte, paths *pathReader) (Record, error) {
	acc, err := decodeAcc(v, len(r.slots))
	if err != nil {
		return Record{}, fmt.Errorf("exposure record of %s: %w", addr, err)
	}
	received, err := r.received(a)
	if err != nil {
		return Record{}, err
	}
	cats := map[string]*categoryAcc{}
	for _, en := range acc {
		sl := r.slots[en.slot]
		c := cats[sl.category]
		if c == nil {
			c = &categoryAcc{}
			cats[sl.category] = c
		}
		if sl.combined || sl.single {
			c.amount += en.amount
		}
		if !sl.combined {
			if c.sources == nil {
				c.sources = map[string]*sourceAcc{}
			}
			slot, out := en.slot, en.bestOut
			c.sources[sl.entity] = &sourceAcc{entity: sl.entity, amount: en.amount, hops: int(en.hops), best: en.best,
				path: func() []tracer.Step { return paths.path(slot, out) }}
		}
	}
	paths.err = nil
	rec := record(received, cats, r.top)
	if paths.err != nil {
		return Record{}, fmt.Errorf("exposure record of %s: %w", addr, paths.err)
	}
	return rec, nil
}

// received is the total paid to a by transactions up to the index's
// tip.
func (r *Reader) received(a address.Addr) (int64, error) {
	var received int64
	err := r.st.AddressOutputs(a, store.OutPoint{}, func(o store.AddrOutput) bool {
		if o.Tx >= r.end {
			return false
		}
		received += o.Value
		return true
	})
	return received, err
}

// pathReader draws example paths back through the tx shares records. Paths
// of different addresses share their older steps (they converge on the
// sources), so it keeps the steps it read, up to pathCacheTxs of them.
// Not safe for concurrent use.
type pathReader struct {
	slots   int
	maxHops int
	get     func(store.TxNum) ([]byte, bool, error)
	st      tracer.Graph
	err     error
	nodes   map[store.TxNum]*pathNode
}

// pathCacheTxs bounds the transactions a pathReader keeps (some 500 bytes
// each with 100 source groups: its id and its predecessors, encoded).
const pathCacheTxs = 1 << 16

// pathNode is what a path needs of one transaction.
type pathNode struct {
	id     chainhash.Hash
	height int32
	preds  []byte // the record's predecessors, as encoded (checked when read)
}

// node returns tx n's step and predecessors, read on first use.
func (p *pathReader) node(n store.TxNum) (*pathNode, error) {
	if nd := p.nodes[n]; nd != nil {
		return nd, nil
	}
	tx, err := p.st.TxByNum(n)
	if err != nil {
		return nil, err
	}
	b, found, err := p.get(n)
	if err == nil && !found {
		err = fmt.Errorf("%w: exposure path: no shares record of transaction %d", store.ErrCorrupt, n)
	}
	if err != nil {
		return nil, err
	}
	rec, err := decodeTxShares(b, p.slots)
	if err != nil {
		return nil, fmt.Errorf("transaction %d: %w", n, err)
	}
	if p.nodes == nil {
		p.nodes = make(map[store.TxNum]*pathNode)
	}
	if len(p.nodes) >= pathCacheTxs {
		clear(p.nodes)
	}
	nd := &pathNode{id: tx.ID, height: tx.Height, preds: encodePreds(rec.preds)}
	p.nodes[n] = nd
	return nd, nil
}

// path is the path of slot's funds to output out: the transaction paying
// a source of the slot first, out's transaction last, through each
// transaction's largest tainted input of the slot.
func (p *pathReader) path(slot uint32, out store.OutPoint) []tracer.Step {
	var steps []tracer.Step
	cur := out.Tx
	for i := 0; i <= p.maxHops+1; i++ {
		nd, err := p.node(cur)
		if err != nil {
			p.err = err
			return nil
		}
		steps = append(steps, tracer.Step{Txid: nd.id.String(), Height: nd.height})
		pred, ok := encodedPredOf(nd.preds, slot)
		if !ok {
			p.err = fmt.Errorf("%w: exposure path: transaction %d has no share of source group %d", store.ErrCorrupt, cur, slot)
			return nil
		}
		if pred == 0 {
			break
		}
		if store.TxNum(pred-1) >= cur {
			p.err = fmt.Errorf("%w: exposure path: transaction %d follows from a later one", store.ErrCorrupt, cur)
			return nil
		}
		cur = store.TxNum(pred - 1)
	}
	slices.Reverse(steps)
	return steps
}
