package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/tracer-oss/tracer/store"
)

// TestExposureIndexGenerations: a new generation is invisible until
// Commit, replaces the previous one, and old records are deleted; a
// read-only store refuses to write one.
func TestExposureIndexGenerations(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Exposure().Info(); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("empty store: %v", err)
	}
	w, err := st.Exposure().NewIndex()
	if err != nil {
		t.Fatal(err)
	}
	if err := w.PutAcc("addrA", []byte("a1")); err != nil {
		t.Fatal(err)
	}
	if err := w.PutAcc("bad\x00addr", nil); err == nil {
		t.Fatal("NUL in an address accepted")
	}
	h1, err := w.Commit(ctx, store.ExposureIndex{ListVersion: 3, TipHeight: 7, Addresses: 1})
	if err != nil || h1.Gen != 1 || h1.Addresses != 1 {
		t.Fatalf("commit: %v %+v", err, h1)
	}
	// An abandoned build never becomes visible.
	w2, _ := st.Exposure().NewIndex()
	if err := w2.PutAcc("addrB", []byte("lost")); err != nil {
		t.Fatal(err)
	}
	w2.Cancel()
	w3, _ := st.Exposure().NewIndex()
	if err := w3.PutAcc("addrB", []byte("b3")); err != nil {
		t.Fatal(err)
	}
	if info, _ := st.Exposure().Info(); info.Gen != 1 {
		t.Fatalf("uncommitted generation visible: %+v", info)
	}
	h3, err := w3.Commit(ctx, store.ExposureIndex{ListVersion: 4})
	if err != nil || h3.Gen != 3 {
		t.Fatalf("commit 3: %v %+v", err, h3)
	}
	info, err := st.Exposure().Info()
	if err != nil || info.Gen != 3 || info.ListVersion != 4 || info.BuiltAt.IsZero() {
		t.Fatalf("info: %v %+v", err, info)
	}
	if rec, ok, err := st.Exposure().Acc(3, "addrB"); err != nil || !ok || string(rec) != "b3" {
		t.Fatalf("record: %q %v %v", rec, ok, err)
	}
	if _, ok, _ := st.Exposure().Acc(1, "addrA"); ok {
		t.Fatal("old generation's record not deleted")
	}
	if _, ok, _ := st.Exposure().Acc(3, "addrA"); ok {
		t.Fatal("record of the old generation visible in the new one")
	}
	// Generations on both sides of the one kept are deleted, its own
	// keys kept.
	w4, _ := st.Exposure().NewIndex()
	for _, a := range []string{"addrC", "addrD"} {
		if err := w4.PutAcc(a, []byte("c4")); err != nil {
			t.Fatal(err)
		}
		if err := w4.PutTxShares(7, []byte("t4")); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w4.Stage(ctx, store.ExposureIndex{ListVersion: 5}); err != nil {
		t.Fatal(err)
	}
	if err := st.Exposure().Use(3); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := st.Exposure().Acc(4, "addrC"); ok {
		t.Fatal("a newer generation's accumulators survived Use of an older one")
	}
	if _, ok, _ := st.Exposure().TxShares(4, 7); ok {
		t.Fatal("a newer generation's tx shares survived Use of an older one")
	}
	if _, err := st.Exposure().Header(4); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a dropped generation's header: %v", err)
	}
	if rec, ok, err := st.Exposure().Acc(3, "addrB"); err != nil || !ok || string(rec) != "b3" {
		t.Fatalf("the kept generation lost its record: %q %v %v", rec, ok, err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	ro, err := store.Open(dir, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if _, err := ro.Exposure().NewIndex(); !errors.Is(err, store.ErrReadOnly) {
		t.Fatalf("read-only: %v", err)
	}
	if info, err := ro.Exposure().Info(); err != nil || info.Gen != 3 {
		t.Fatalf("reopened: %v %+v", err, info)
	}
}
