package outtable_test

import (
	"math/rand/v2"
	"testing"

	"github.com/tracer-oss/tracer/store/outtable"
)

// TestTable: random puts and takes give what a map gives, through the
// table's growth and its deletions (backward shift must keep every probe
// run reachable: a take of each held key finds it, of a key never put or
// already taken does not), and Values reaches every entry once.
func TestTable(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 5))
	var tab outtable.Table[int]
	want := map[uint64]int{}
	var live []uint64
	grew := 0
	for step := range 200_000 {
		if len(live) == 0 || r.IntN(5) < 3 {
			k, ok := outtable.Key(uint64(step/2), uint32(r.IntN(4)))
			if _, held := want[k]; !ok || held {
				continue
			}
			before := tab.Bytes()
			if g := tab.Put(k, step); g != tab.Bytes()-before {
				t.Fatalf("step %d: Put says it grew %d bytes, Bytes %d", step, g, tab.Bytes()-before)
			} else if g > 0 {
				grew++
			}
			want[k] = step
			live = append(live, k)
			continue
		}
		i := r.IntN(len(live))
		k := live[i]
		live[i], live = live[len(live)-1], live[:len(live)-1]
		if v, ok := tab.Take(k); !ok || v != want[k] {
			t.Fatalf("step %d: take %x = %d %v, want %d", step, k, v, ok, want[k])
		}
		delete(want, k)
		if _, ok := tab.Take(k); ok {
			t.Fatalf("step %d: %x taken twice", step, k)
		}
		if miss, _ := outtable.Key(uint64(step+1_000_000), 0); func() bool { _, ok := tab.Take(miss); return ok }() {
			t.Fatalf("step %d: took %x, never put", step, miss)
		}
	}
	if tab.Len() != len(want) || grew < 2 {
		t.Fatalf("%d entries, want %d; grew %d times, want at least 2", tab.Len(), len(want), grew)
	}
	seen := 0
	tab.Values(func(v *int) { seen++; *v = -*v })
	if seen != len(want) {
		t.Fatalf("Values reached %d entries, want %d", seen, len(want))
	}
	for k, v := range want {
		if got, ok := tab.Take(k); !ok || got != -v {
			t.Fatalf("take %x = %d %v, want %d (changed by Values)", k, got, ok, -v)
		}
	}
}

// TestKey: Key packs distinct outputs into distinct keys below MaxVout,
// and refuses an index from it on.
func TestKey(t *testing.T) {
	a, _ := outtable.Key(1, 0)
	b, _ := outtable.Key(0, 1<<23)
	c, _ := outtable.Key(1, 1)
	if a == b || a == c || b == c {
		t.Fatalf("keys collide: %x %x %x", a, b, c)
	}
	if _, ok := outtable.Key(5, outtable.MaxVout); ok {
		t.Fatal("an index of MaxVout packed")
	}
}
