//go:build unix

package store

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/dgraph-io/badger/v4"
)

// TestOpenHeldBeforeCheck: a store another process holds is refused as
// locked before its files are checked. A holder's compaction deletes
// tables the MANIFEST still named a moment ago; checking first reported
// such a store as damaged (TestHeldByServe's "case new" failed so in CI:
// "000007.sst: no such file or directory").
func TestOpenHeldBeforeCheck(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db")
	st, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Any key: closing writes the memtable to a table.
	if err := st.db.Update(func(txn *badger.Txn) error { return txn.Set([]byte("~test"), []byte("v")) }); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	tables, _ := filepath.Glob(filepath.Join(dir, "*.sst"))
	if len(tables) == 0 {
		t.Fatal("no table written")
	}
	// Another process holds the store (the flock Badger takes) and has
	// just replaced a table.
	d, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := syscall.Flock(int(d.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(tables[0]); err != nil {
		t.Fatal(err)
	}
	for _, ro := range []bool{false, true} {
		_, err := Open(dir, Options{ReadOnly: ro})
		if !errors.Is(err, ErrLocked) {
			t.Errorf("read-only %v: %v, want ErrLocked", ro, err)
		}
	}
}
