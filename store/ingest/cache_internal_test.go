package ingest

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/tracer-oss/tracer/store"
)

// TestTxCacheModel: random adds, spends, trims and compactions of the
// cache agree with a plain model (a map of entries with their own value
// slices, evicted oldest first): what get finds, each value, which entries
// are evicted and in what order, with what values.
func TestTxCacheModel(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		rng := rand.New(rand.NewPCG(seed, 19))
		limit := 1 + rng.IntN(40)
		c := newTxCache(limit)
		type entry struct {
			num    store.TxNum
			values []int64
		}
		model := map[chainhash.Hash]*entry{}
		type queued struct {
			id  chainhash.Hash
			num store.TxNum
		}
		var order []queued // the model's insertion order
		var ids []chainhash.Hash
		var next store.TxNum
		type eviction struct {
			id     chainhash.Hash
			num    store.TxNum
			values []int64
		}
		for op := 0; op < 3000; op++ {
			switch r := rng.IntN(100); {
			case r < 45: // add, sometimes a duplicate txid
				var id chainhash.Hash
				if len(ids) > 0 && rng.IntN(20) == 0 {
					id = ids[rng.IntN(len(ids))]
				} else {
					id[0], id[1], id[2] = byte(next), byte(next>>8), byte(seed)
				}
				values := make([]int64, 1+rng.IntN(5))
				unspent := 0
				for j := range values {
					if rng.IntN(6) == 0 {
						values[j] = unspendMrk
					} else {
						values[j] = int64(rng.IntN(1e6))
						unspent++
					}
				}
				c.add(id, next, values, unspent)
				if unspent > 0 {
					model[id] = &entry{num: next, values: slices.Clone(values)}
					order = append(order, queued{id, next})
					ids = append(ids, id)
				}
				next++
			case r < 85: // spend an output of a cached transaction
				if len(ids) == 0 {
					continue
				}
				id := ids[rng.IntN(len(ids))]
				s, ok := c.get(&id)
				e, want := model[id]
				if ok != want {
					t.Fatalf("seed %d op %d: get %x found %v, model %v", seed, op, id[:3], ok, want)
				}
				if !ok {
					continue
				}
				got := c.values(s)
				if s.num != e.num || !slices.Equal(got, e.values) {
					t.Fatalf("seed %d op %d: entry %x is %d %v, model %d %v", seed, op, id[:3], s.num, got, e.num, e.values)
				}
				vout := uint32(rng.IntN(len(got)))
				if got[vout] < 0 {
					continue
				}
				c.spend(&id, s, vout)
				e.values[vout] = spentMark
				if !slices.ContainsFunc(e.values, func(v int64) bool { return v >= 0 }) {
					delete(model, id)
				}
			case r < 95: // trim
				var got, want []eviction
				err := c.trim(func(id *chainhash.Hash, num store.TxNum, values []int64) error {
					got = append(got, eviction{*id, num, slices.Clone(values)})
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				for len(model) > limit && len(order) > 0 {
					it := order[0]
					order = order[1:]
					if e, ok := model[it.id]; ok && e.num == it.num {
						want = append(want, eviction{it.id, e.num, e.values})
						delete(model, it.id)
					}
				}
				if len(got) != len(want) {
					t.Fatalf("seed %d op %d: trim evicted %d, model %d", seed, op, len(got), len(want))
				}
				for i := range got {
					if got[i].id != want[i].id || got[i].num != want[i].num || !slices.Equal(got[i].values, want[i].values) {
						t.Fatalf("seed %d op %d: eviction %d is %x/%d %v, model %x/%d %v", seed, op, i, got[i].id[:3], got[i].num, got[i].values, want[i].id[:3], want[i].num, want[i].values)
					}
				}
			default:
				move := rng.IntN(2) == 0
				c.compact(move)
				if move && c.holes != 0 || c.head != 0 || len(c.fifo) != len(c.m) {
					t.Fatalf("seed %d op %d: after compact %d holes, head %d, %d queued for %d entries", seed, op, c.holes, c.head, len(c.fifo), len(c.m))
				}
			}
			if len(c.m) != len(model) {
				t.Fatalf("seed %d op %d: %d entries, model %d", seed, op, len(c.m), len(model))
			}
			live := 0
			for _, s := range c.m {
				live += 1 + int(s.n)
			}
			if live+c.holes != len(c.vals) {
				t.Fatalf("seed %d op %d: %d live values + %d holes, slab of %d", seed, op, live, c.holes, len(c.vals))
			}
		}
	}
}
