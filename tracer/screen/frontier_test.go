package screen

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/tracer-oss/tracer/store"
)

// TestFrontier: outputs put on the frontier and taken off it in the
// walk's pattern (at each transaction a tidy, some takes, then puts) come
// back with their value and shares, through arena compactions (the
// table under it is tested in store/outtable); shares taken stay intact through the same transaction's puts
// (which may move the arena) until the next tidy.
func TestFrontier(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	f := newFrontier()
	want := map[store.OutPoint]outShares{}
	var held []store.OutPoint // what want holds, in no order
	compactions := 0
	next := store.TxNum(0)
	var taken []outShares
	var wantTaken []outShares
	for tx := 0; tx < 1_000_000; tx++ {
		arena := len(f.arena)
		f.tidy()
		if len(f.arena) < arena {
			compactions++
		}
		taken, wantTaken = taken[:0], wantTaken[:0]
		// Take a few (more when many are held, so the frontier stays
		// small while millions pass through it), and ask for one never put.
		for k := rng.IntN(3) + len(held)/500; k > 0 && len(held) > 0; k-- {
			i := rng.IntN(len(held))
			op := held[i]
			held[i], held = held[len(held)-1], held[:len(held)-1]
			var o outShares
			if !f.take(op, &o) {
				t.Fatalf("tx %d: %v not held", tx, op)
			}
			taken, wantTaken = append(taken, o), append(wantTaken, want[op])
			delete(want, op)
		}
		var o outShares
		if f.take(store.OutPoint{Tx: next + 1}, &o) {
			t.Fatalf("tx %d: an output never put was held", tx)
		}
		// Put a few, with 0 to 8 shares each.
		for v := range rng.IntN(4) {
			op := store.OutPoint{Tx: next, Vout: uint32(v)}
			o := outShares{vout: uint32(v), value: rng.Int64N(1e8)}
			for range rng.IntN(9) {
				o.shares = append(o.shares, taintShare{slot: rng.Uint32N(100), hops: rng.Int32N(10), tainted: rng.Int64N(1e8)})
			}
			if err := f.put(op, &o); err != nil {
				t.Fatal(err)
			}
			o.shares = slices.Clone(o.shares) // the frontier copies; put's are the caller's
			want[op], held = o, append(held, op)
		}
		next++
		for i := range taken {
			if g, w := taken[i], wantTaken[i]; g.value != w.value || !slices.Equal(g.shares, w.shares) {
				t.Fatalf("tx %d: taken %+v, want %+v", tx, g, w)
			}
		}
		if f.len() != len(want) {
			t.Fatalf("tx %d: %d held, want %d", tx, f.len(), len(want))
		}
	}
	if compactions == 0 {
		t.Fatal("no compaction: the test did not exercise it")
	}
	t.Logf("%d compactions, %d outputs held at the end", compactions, len(want))
}
