package store

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/pb"
	"github.com/dgraph-io/ristretto/v2/z"
)

// TestLastWriteWins: a key written twice in one buffered run keeps the
// later value, in ordinary and in bulk batches (writes are sorted by key
// before they reach Badger).
func TestLastWriteWins(t *testing.T) {
	for _, bulk := range []bool{false, true} {
		st, err := Open(t.TempDir(), Options{})
		if err != nil {
			t.Fatal(err)
		}
		var b *Batch
		if bulk {
			b, err = st.NewBulkBatch()
		} else {
			b, err = st.NewBatch()
		}
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range []string{"first", "zz", "second", "last"} {
			k := []byte("kkey")
			if i == 1 {
				k = []byte("kother")
			}
			if err := b.set(k, []byte(v)); err != nil {
				t.Fatal(err)
			}
		}
		state := State{Height: 0, Network: "regtest"}
		if bulk {
			err = b.EndBulk(state)
		} else {
			err = b.Commit(state)
		}
		if err != nil {
			t.Fatal(err)
		}
		err = st.db.View(func(txn *badger.Txn) error {
			return st.get(txn, []byte("kkey"), func(v []byte) error {
				if string(v) != "last" {
					t.Errorf("bulk=%v: value %q, want the last write", bulk, v)
				}
				return nil
			})
		})
		if err != nil {
			t.Fatal(err)
		}
		st.Close()
	}
}

// TestAppendStreamKV: the hand-written StreamWriter entries are byte for
// byte what badger.KVToBuffer writes.
func TestAppendStreamKV(t *testing.T) {
	long := bytes.Repeat([]byte{7}, 300)
	tests := []struct {
		name string
		k, v []byte
	}{
		{"empty value", []byte("t12345abcde"), nil},
		{"short", []byte{'x', 0, 0, 0, 0, 0, 0, 0, 1}, []byte{1, 2, 3}},
		{"long value", []byte("s123456789"), long},
		{"long key", long, []byte{0}},
		{"stream id above 127", []byte{0xf0, 1}, []byte{1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want := z.NewBuffer(1<<10, "test")
			defer want.Release()
			got := z.NewBuffer(1<<10, "test")
			defer got.Release()
			badger.KVToBuffer(&pb.KV{Key: tc.k, Value: tc.v, Version: 1, StreamId: uint32(tc.k[0])}, want)
			appendStreamKV(got, tc.k, tc.v, uint32(tc.k[0]))
			if !bytes.Equal(got.Bytes(), want.Bytes()) {
				t.Fatalf("got %x\nwant %x", got.Bytes(), want.Bytes())
			}
		})
	}
}

// TestBulkRuns: a bulk load spread over many spilled runs (which reuse each
// other's buffers) stores every key once, with its last value.
func TestBulkRuns(t *testing.T) {
	st, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	b, err := st.NewBulkBatch()
	if err != nil {
		t.Fatal(err)
	}
	b.bulk.runBytes = 64 << 10
	const keys = 20000
	want := map[string]string{}
	for i := 0; i < 3*keys; i++ {
		// Every key three times, scattered, in two families merged from
		// runs; and in order, in a family streamed as it comes (tx
		// records), each "block" ending in a record before the others.
		fam := "ka"[i%2 : i%2+1]
		k := fmt.Sprintf("%s%08d", fam, (i*7919)%keys)
		v := strings.Repeat(fmt.Sprint(i), 1+i%5)
		want[k] = v
		if err := b.set([]byte(k), []byte(v)); err != nil {
			t.Fatal(err)
		}
		if i%100 == 99 {
			for j := i - 98; j <= i; j++ {
				want[fmt.Sprintf("x%08d", j)] = fmt.Sprint(j)
				if err := b.set([]byte(fmt.Sprintf("x%08d", j)), []byte(fmt.Sprint(j))); err != nil {
					t.Fatal(err)
				}
			}
			want[fmt.Sprintf("x%08d", i-99)] = "first of its block"
			if err := b.set([]byte(fmt.Sprintf("x%08d", i-99)), []byte("first of its block")); err != nil {
				t.Fatal(err)
			}
			if b.bulk.directBytes > 8<<10 {
				if err := b.bulk.sendDirect(); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if len(b.bulk.runs) < 10 {
		t.Fatalf("%d runs spilled, want many", len(b.bulk.runs))
	}
	if err := b.EndBulk(State{Height: 0, Network: "regtest"}); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	err = st.Dump(func(k, v []byte) error {
		if k[0] == 'k' || k[0] == 'a' || k[0] == 'x' {
			if _, dup := got[string(k)]; dup {
				t.Errorf("key %s twice", k)
			}
			got[string(k)] = string(v)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("stored %d keys, want %d (or values differ)", len(got), len(want))
	}
}

// TestEntrySort: the radix sort orders by key, then write order, for keys
// shorter and longer than its 8-byte prefix, with repeats.
func TestEntrySort(t *testing.T) {
	for _, n := range []int{10, 5000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, uint64(n)))
			var e entryBuf
			type kv struct {
				k   string
				seq int
			}
			var want []kv
			for i := 0; i < n; i++ {
				k := make([]byte, rng.IntN(12))
				for j := range k {
					k[j] = byte(rng.IntN(3)) // few distinct bytes: many shared prefixes and repeats
				}
				e.add(k, []byte{byte(i)})
				want = append(want, kv{string(k), i})
			}
			var scratch []bufEntry
			e.sort(&scratch)
			slices.SortStableFunc(want, func(x, y kv) int { return strings.Compare(x.k, y.k) })
			for i := range e.ents {
				x := &e.ents[i]
				if string(e.key(x)) != want[i].k || int(x.seq) != want[i].seq {
					t.Fatalf("entry %d: key %x seq %d, want %x seq %d", i, e.key(x), x.seq, want[i].k, want[i].seq)
				}
			}
		})
	}
}

// TestBulkOrderedFamilyOutOfOrder: a key of a streamed family that comes
// before one already streamed fails the load with an error (the
// StreamWriter would panic), and leaves the store empty and usable.
func TestBulkOrderedFamilyOutOfOrder(t *testing.T) {
	st, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	b, err := st.NewBulkBatch()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"x0002", "x0003"} {
		if err := b.set([]byte(k), []byte("v")); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.bulk.sendDirect(); err != nil {
		t.Fatal(err)
	}
	if err := b.set([]byte("x0001"), []byte("v")); err != nil {
		t.Fatal(err)
	}
	err = b.EndBulk(State{Height: 0, Network: "regtest"})
	if err == nil || !strings.Contains(err.Error(), "out of order") {
		t.Fatalf("err = %v, want keys out of order", err)
	}
	n := 0
	if err := st.Dump(func(k, _ []byte) error {
		if k[0] == 'x' {
			n++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("%d tx keys left by the failed load", n)
	}
	// Still writable.
	nb, err := st.NewBatch()
	if err != nil {
		t.Fatal(err)
	}
	if err := nb.set([]byte("kafter"), []byte("v")); err != nil {
		t.Fatal(err)
	}
	if err := nb.Commit(State{Height: -1}); err != nil {
		t.Fatalf("commit after a failed bulk load: %v", err)
	}
}

// TestStreamDoneEncoding: the hand-written end-of-stream entry is byte for
// byte what badger.KVToBuffer writes (a wrong one would leave the stream's
// last table unbuilt until Flush, or fail to decode).
func TestStreamDoneEncoding(t *testing.T) {
	for _, id := range []uint32{'a', 'x', 0xf0} {
		want := z.NewBuffer(64, "test")
		badger.KVToBuffer(&pb.KV{StreamId: id, StreamDone: true}, want)
		b := want.Bytes()
		got := z.NewBuffer(64, "test")
		appendStreamDone(got, id)
		if !bytes.Equal(got.Bytes(), b) {
			t.Errorf("id %d: got %x, want %x", id, got.Bytes(), b)
		}
		want.Release()
		got.Release()
	}
}
