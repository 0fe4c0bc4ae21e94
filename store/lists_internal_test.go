package store

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"github.com/tracer-oss/tracer/sanctions"
	"github.com/tracer-oss/tracer/sanctions/tags"
)

func countPrefix(t *testing.T, s *Store, prefix []byte) int {
	t.Helper()
	n := 0
	err := s.view(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		defer it.Close()
		for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestTagPackInterrupted writes the keys of a save that died before its
// pack header: readers must not see them, and the next save removes them.
func TestTagPackInterrupted(t *testing.T) {
	ctx := context.Background()
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const addr = "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"
	p := &tags.Pack{Source: "p.yaml", Tags: []sanctions.Tag{{Address: addr, Label: "old"}}}
	if _, err := s.Tags().SavePack(ctx, p); err != nil {
		t.Fatal(err)
	}
	// The dead save: generation 2 handed out, keys written, no header.
	orphan := sanctions.Tag{Address: addr, Label: "orphan", Pack: "p.yaml"}
	v, _ := json.Marshal(&orphan)
	err = s.db.Update(func(txn *badger.Txn) error {
		if err := txn.Set(keyTagGen, []byte{0, 0, 0, 2}); err != nil {
			return err
		}
		if err := txn.Set(tagKey(addr, "p.yaml", 2, 0), v); err != nil {
			return err
		}
		return txn.Set(packTagKey("p.yaml", 2, 0), tagKey(addr, "p.yaml", 2, 0))
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Tags().For(addr)
	if err != nil || len(got) != 1 || got[0].Label != "old" {
		t.Fatalf("after a dead save: %+v %v", got, err)
	}
	p.Tags[0].Label = "new"
	if n, err := s.Tags().SavePack(ctx, p); err != nil || n != 1 {
		t.Fatalf("reload: %d %v", n, err)
	}
	if got, _ := s.Tags().For(addr); len(got) != 1 || got[0].Label != "new" {
		t.Fatalf("after reload: %+v", got)
	}
	if n := countPrefix(t, s, tagPrefix(addr)); n != 1 {
		t.Errorf("%d tag keys left for %s, want 1 (old and orphan generations removed)", n, addr)
	}
	if n := countPrefix(t, s, packTagPrefix("p.yaml")); n != 1 {
		t.Errorf("%d pack index keys left, want 1", n)
	}
}

// TestTagPackLarge saves a pack far larger than one Badger transaction
// holds, twice. Generated: no published pack is this large.
func TestTagPackLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	ctx := context.Background()
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p := &tags.Pack{Source: "big.yaml"}
	for i := range 80_000 {
		p.Tags = append(p.Tags, sanctions.Tag{Address: fmt.Sprintf("addr%07d", i), Label: "exchange wallet with a long label", Category: "exchange",
			Source: "https://example.org/a/fairly/long/source/url/to/make/the/values/realistic"})
	}
	for round := range 2 {
		if n, err := s.Tags().SavePack(ctx, p); err != nil || n != round*len(p.Tags) {
			t.Fatalf("round %d: replaced %d, %v", round, n, err)
		}
	}
	if got, err := s.Tags().For("addr0079999"); err != nil || len(got) != 1 {
		t.Fatalf("TagsFor: %+v %v", got, err)
	}
	if n := countPrefix(t, s, packTagPrefix("big.yaml")); n != len(p.Tags) {
		t.Errorf("%d pack index keys, want %d", n, len(p.Tags))
	}
}
