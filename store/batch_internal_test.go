package store

import (
	"bytes"
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
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want := z.NewBuffer(1<<10, "test")
			defer want.Release()
			got := z.NewBuffer(1<<10, "test")
			defer got.Release()
			badger.KVToBuffer(&pb.KV{Key: tc.k, Value: tc.v, Version: 1}, want)
			appendStreamKV(got, tc.k, tc.v)
			if !bytes.Equal(got.Bytes(), want.Bytes()) {
				t.Fatalf("got %x\nwant %x", got.Bytes(), want.Bytes())
			}
		})
	}
}
