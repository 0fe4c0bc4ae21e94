package store_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracer-oss/tracer/sanctions/address"
	"github.com/tracer-oss/tracer/store"
)

// TestOpenMustExist is issue 17 #13 in the store: an open that must find a
// store does not create one, writable or not.
func TestOpenMustExist(t *testing.T) {
	for _, opt := range []store.Options{{ReadOnly: true}, {MustExist: true}} {
		dir := filepath.Join(t.TempDir(), "typo")
		_, err := store.Open(dir, opt)
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%+v: %v, want ErrNotFound", opt, err)
		}
		if _, err := os.Stat(dir); err == nil {
			t.Errorf("%+v created %s", opt, dir)
		}
	}
	dir := filepath.Join(t.TempDir(), "db")
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	st, err = store.Open(dir, store.Options{MustExist: true})
	if err != nil {
		t.Fatalf("MustExist on an existing store: %v", err)
	}
	defer st.Close()
	// A store without blocks has no network: any network's address parses.
	for _, s := range []string{"1BoatSLRHtKNngkdXEeobR76b53LETtpyT", "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080"} {
		if _, p, err := st.ParseAddress(s); err != nil || p == nil {
			t.Errorf("ParseAddress(%q) on a store without blocks: %v", s, err)
		}
	}
	if _, _, err := st.ParseAddress("notvalid"); !errors.Is(err, address.ErrInvalid) {
		t.Errorf("ParseAddress(notvalid): %v", err)
	}
}

// TestOpenOlderSchema: a store written by an older schema (3: absolute
// spender numbers in the spent-by values) is refused with ErrSchema and a
// message that says what to do, read-only or not, and is left as it was.
func TestOpenOlderSchema(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db")
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.DamageSchema(store.SchemaVersion - 1); err != nil {
		t.Fatal(err)
	}
	st.Close()
	for _, opt := range []store.Options{{}, {ReadOnly: true}} {
		st, err := store.Open(dir, opt)
		if err == nil {
			st.Close()
			t.Fatalf("%+v: a schema %d store opened", opt, store.SchemaVersion-1)
		}
		if !errors.Is(err, store.ErrSchema) || !strings.Contains(err.Error(), "another version of tracer wrote it") || !strings.Contains(err.Error(), "new --db directory") ||
			!strings.Contains(err.Error(), fmt.Sprintf("schema version %d in", store.SchemaVersion-1)) {
			t.Errorf("%+v: %v, want ErrSchema saying to ingest again", opt, err)
		}
	}
}
