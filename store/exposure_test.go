package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
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
	for _, bad := range []string{"", strings.Repeat("k", 257)} {
		if err := w.PutAcc(bad, nil); err == nil {
			t.Fatalf("record key of %d bytes accepted", len(bad))
		}
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
	// A newer generation (a build still being written, or staged) survives
	// Use of an older one; the next newer Use deletes every older one.
	w4, _ := st.Exposure().NewIndex()
	for _, a := range []string{"addrC", "addrD"} {
		if err := w4.PutAcc(a, []byte("c4")); err != nil {
			t.Fatal(err)
		}
	}
	if err := w4.PutTxShares(7, []byte("t4")); err != nil {
		t.Fatal(err)
	}
	if _, err := w4.Stage(ctx, store.ExposureIndex{ListVersion: 5}); err != nil {
		t.Fatal(err)
	}
	if err := st.Exposure().Use(3); err != nil {
		t.Fatal(err)
	}
	if rec, ok, _ := st.Exposure().Acc(4, "addrC"); !ok || string(rec) != "c4" {
		t.Fatal("a newer generation's accumulators were deleted by Use of an older one")
	}
	if _, ok, _ := st.Exposure().TxShares(4, 7); !ok {
		t.Fatal("a newer generation's tx shares were deleted by Use of an older one")
	}
	if rec, ok, err := st.Exposure().Acc(3, "addrB"); err != nil || !ok || string(rec) != "b3" {
		t.Fatalf("the kept generation lost its record: %q %v %v", rec, ok, err)
	}
	w5, _ := st.Exposure().NewIndex()
	if err := w5.PutAcc("addrE", []byte("e5")); err != nil {
		t.Fatal(err)
	}
	if _, err := w5.Stage(ctx, store.ExposureIndex{ListVersion: 6}); err != nil {
		t.Fatal(err)
	}
	if err := st.Exposure().Use(5); err != nil {
		t.Fatal(err)
	}
	for gen, a := range map[uint32]string{3: "addrB", 4: "addrC"} {
		if _, ok, _ := st.Exposure().Acc(gen, a); ok {
			t.Fatalf("generation %d's accumulators survived Use of generation 5", gen)
		}
		if _, err := st.Exposure().Header(gen); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("a dropped generation %d's header: %v", gen, err)
		}
	}
	if _, ok, _ := st.Exposure().TxShares(4, 7); ok {
		t.Fatal("generation 4's tx shares survived Use of generation 5")
	}
	if rec, ok, err := st.Exposure().Acc(5, "addrE"); err != nil || !ok || string(rec) != "e5" {
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
	if info, err := ro.Exposure().Info(); err != nil || info.Gen != 5 {
		t.Fatalf("reopened: %v %+v", err, info)
	}
}

// TestExposureSwitchWays: each way of switching generations (Use, UseAlone
// by whole tables, Switch then DropOlder) makes the generation current,
// deletes every older generation's keys of every family and keeps its own
// and a newer one's, many keys each so that DropPrefix meets whole tables
// and table boundaries.
func TestExposureSwitchWays(t *testing.T) {
	ways := map[string]func(x store.Exposure, gen uint32) error{
		"Use":      store.Exposure.Use,
		"UseAlone": store.Exposure.UseAlone,
		"Switch+DropOlder": func(x store.Exposure, gen uint32) error {
			if err := x.Switch(gen); err != nil {
				return err
			}
			if _, ok, _ := x.Acc(gen-1, "addr-00000"); !ok {
				return errors.New("Switch deleted an older generation")
			}
			return x.DropOlder(context.Background(), gen)
		},
	}
	for name, use := range ways {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st, err := store.Open(t.TempDir(), store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			const n = 20000
			write := func(last bool) uint32 {
				w, err := st.Exposure().NewIndex()
				if err != nil {
					t.Fatal(err)
				}
				for i := 0; i < n; i++ {
					if err := w.PutAcc(fmt.Sprintf("addr-%05d", i), bytes.Repeat([]byte{byte(w.Gen())}, 100)); err != nil {
						t.Fatal(err)
					}
					if err := w.PutTxShares(store.TxNum(i), []byte{byte(w.Gen())}); err != nil {
						t.Fatal(err)
					}
				}
				if _, err := w.Stage(ctx, store.ExposureIndex{ListVersion: 1}); err != nil {
					t.Fatal(err)
				}
				return w.Gen()
			}
			g1, g2, g3 := write(false), write(false), write(true)
			if err := st.Exposure().Use(g1); err != nil {
				t.Fatal(err)
			}
			if err := use(st.Exposure(), g2); err != nil {
				t.Fatal(err)
			}
			if info, err := st.Exposure().Info(); err != nil || info.Gen != g2 {
				t.Fatalf("in force: %+v %v", info, err)
			}
			for i := 0; i < n; i += 997 {
				a := fmt.Sprintf("addr-%05d", i)
				if _, ok, _ := st.Exposure().Acc(g1, a); ok {
					t.Fatalf("older generation's %s survived", a)
				}
				if _, ok, _ := st.Exposure().TxShares(g1, store.TxNum(i)); ok {
					t.Fatalf("older generation's tx %d survived", i)
				}
				for _, g := range []uint32{g2, g3} {
					if v, ok, err := st.Exposure().Acc(g, a); err != nil || !ok || v[0] != byte(g) {
						t.Fatalf("generation %d lost %s: %v %v", g, a, ok, err)
					}
					if v, ok, err := st.Exposure().TxShares(g, store.TxNum(i)); err != nil || !ok || v[0] != byte(g) {
						t.Fatalf("generation %d lost tx %d: %v %v", g, i, ok, err)
					}
				}
			}
			if _, err := st.Exposure().Header(g1); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("older generation's header: %v", err)
			}
			if _, err := st.Exposure().Header(g3); err != nil {
				t.Fatalf("newer generation's header: %v", err)
			}
		})
	}
}
