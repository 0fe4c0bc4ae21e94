package store_test

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracer-oss/tracer/store"
)

// TestHolder: a store whose holder said who it is (SetHolder) refuses
// another open with a HeldError naming it, writable or read-only; the file
// goes when the holder closes the store, and a file a killed holder left
// is ignored (its pid is gone) and removed by the next writer.
func TestHolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db")
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetHolder(store.Holder{Command: "tracer serve", URL: "http://127.0.0.1:8080"}); err != nil {
		t.Fatal(err)
	}
	for _, opt := range []store.Options{{}, {ReadOnly: true}, {MustExist: true}} {
		_, err := store.Open(dir, opt)
		var he *store.HeldError
		if !errors.As(err, &he) || !errors.Is(err, store.ErrLocked) {
			t.Fatalf("%+v: %v, want a HeldError matching ErrLocked", opt, err)
		}
		if he.Holder.PID != os.Getpid() || he.Holder.URL != "http://127.0.0.1:8080" || he.Dir != dir || he.Holder.Since.IsZero() {
			t.Errorf("holder %+v in %s", he.Holder, he.Dir)
		}
		want := "store: " + dir + " is held by tracer serve (pid " + itoa(os.Getpid()) + ", http://127.0.0.1:8080)"
		if err.Error() != want {
			t.Errorf("%q\nwant %q", err, want)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	holder := filepath.Join(dir, store.HolderFile)
	if _, err := os.Stat(holder); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("holder file after Close: %v", err)
	}

	// A killed holder's file: a pid that is gone.
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Skipf("no process to take a dead pid from: %v", err)
	}
	b, _ := json.Marshal(store.Holder{PID: dead.Process.Pid, Command: "tracer serve", URL: "http://x"})
	if err := os.WriteFile(holder, b, 0o644); err != nil {
		t.Fatal(err)
	}
	ro, err := store.Open(dir, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = store.Open(dir, store.Options{})
	var he *store.HeldError
	if !errors.Is(err, store.ErrLocked) || errors.As(err, &he) || !strings.Contains(err.Error(), "open in another process") {
		t.Errorf("a stale holder file named: %v", err)
	}
	if err := ro.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(holder); err != nil {
		t.Errorf("a read-only Close removed another process's holder file: %v", err)
	}
	w, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(holder); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a writable open left the stale holder file: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
