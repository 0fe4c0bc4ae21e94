package store

import (
	"testing"

	"github.com/dgraph-io/badger/v4"
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
