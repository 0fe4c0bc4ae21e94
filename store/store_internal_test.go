package store

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestOpenAfterKilledLog: a process killed between creating a memtable or
// value log and sizing it leaves an empty file; the store still opens, with
// its data, writable or read-only (as verify and the read commands open it
// after a crash).
func TestOpenAfterKilledLog(t *testing.T) {
	for _, tc := range []struct {
		name     string
		readOnly bool
	}{{"00007.mem", false}, {"000001.vlog", false}, {"000009.vlog", false}, {"00007.mem", true}, {"000009.vlog", true}} {
		name := tc.name
		t.Run(fmt.Sprintf("%s read-only=%v", name, tc.readOnly), func(t *testing.T) {
			dir := t.TempDir()
			st, err := Open(dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := st.WatchList().Add(Watch{Kind: WatchAddress, Value: "bc1qexample"}); err != nil {
				t.Fatal(err)
			}
			if err := st.Close(); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			st, err = Open(dir, Options{ReadOnly: tc.readOnly})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			ws, err := st.WatchList().All()
			if err != nil || len(ws) != 1 {
				t.Fatalf("watches after reopening: %v, %v", ws, err)
			}
		})
	}
}
