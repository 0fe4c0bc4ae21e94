package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/tracer-oss/tracer/sanctions"
)

// ActorPack describes one stored GraphSense ActorPack. Its actors (id,
// label, categories) are stored one key each; tags name an actor by id, and
// reading a tag fills in its actor's categories
// (sanctions.Tag.ActorCategories).
type ActorPack struct {
	Name     string    `json:"name"` // file name; a reload of the same name replaces the pack
	Title    string    `json:"title,omitempty"`
	Source   string    `json:"source"`
	LoadedAt time.Time `json:"loaded_at"`
	Gen      uint32    `json:"gen"`    // a tag generation number, so exposure indexes notice a reload
	Actors   int       `json:"actors"` // how many
}

func actorPackKey(name string) []byte { return append([]byte{prefixActorPack}, name...) }

func actorPrefix(id string) []byte { return append(append([]byte{prefixActor}, id...), 0) }

func actorKey(id, pack string) []byte { return append(actorPrefix(id), pack...) }

// actorKeysOf lists the actor keys of pack.
func actorKeysOf(txn *badger.Txn, pack string) [][]byte {
	var out [][]byte
	prefix := []byte{prefixActor}
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	defer it.Close()
	for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
		k := it.Item().Key()
		if i := bytes.IndexByte(k, 0); i >= 0 && string(k[i+1:]) == pack {
			out = append(out, it.Item().KeyCopy(nil))
		}
	}
	return out
}

// SaveActorPack stores ap under its file name, replacing a pack of the same
// name, in one transaction. It returns the number of actors it replaced.
func (tg Tags) SaveActorPack(ctx context.Context, ap *sanctions.ActorPack) (replaced int, err error) {
	s := tg.s
	if s.ro {
		return 0, ErrReadOnly
	}
	name := filepath.Base(ap.Source)
	if name == "" || name == "." || strings.IndexByte(name, 0) >= 0 {
		return 0, fmt.Errorf("store: save actor pack: bad pack name %q", ap.Source)
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	for _, a := range ap.Actors {
		if a.ID == "" || strings.IndexByte(a.ID, 0) >= 0 {
			return 0, fmt.Errorf("store: save actor pack %s: bad actor id %q", name, a.ID)
		}
	}
	// One transaction: the old actors of the pack go, the new ones come.
	err = s.db.Update(func(txn *badger.Txn) (err error) {
		replaced, err = s.replaceActorPack(txn, name, ap)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: save actor pack %s: %w", name, err)
	}
	return replaced, nil
}

// replaceActorPack, inside txn, replaces the actors of pack name with
// ap's and writes its header; it returns how many actors the old header
// counted.
func (s *Store) replaceActorPack(txn *badger.Txn, name string, ap *sanctions.ActorPack) (replaced int, err error) {
	gen, err := s.nextTagGen(txn)
	if err != nil {
		return 0, err
	}
	err = s.get(txn, actorPackKey(name), func(v []byte) error {
		var old ActorPack
		if err := json.Unmarshal(v, &old); err != nil {
			return fmt.Errorf("%w: actor pack %s: %v", ErrCorrupt, name, err)
		}
		replaced = old.Actors
		return nil
	})
	if err != nil && !errors.Is(err, ErrNotFound) {
		return 0, err
	}
	for _, k := range actorKeysOf(txn, name) {
		if err := txn.Delete(k); err != nil {
			return 0, err
		}
	}
	for i := range ap.Actors {
		if err := txn.Set(actorKey(ap.Actors[i].ID, name), mustJSON(&ap.Actors[i])); err != nil {
			return 0, err
		}
	}
	h := ActorPack{Name: name, Title: ap.Title, Source: ap.Source, LoadedAt: time.Now().UTC().Truncate(time.Second), Gen: gen, Actors: len(ap.Actors)}
	return replaced, txn.Set(actorPackKey(name), mustJSON(&h))
}

// nextTagGen hands out the next tag generation number inside txn.
func (s *Store) nextTagGen(txn *badger.Txn) (uint32, error) {
	var gen uint32
	err := s.get(txn, keyTagGen, func(v []byte) error {
		if len(v) != 4 {
			return fmt.Errorf("%w: tag-gen %x", ErrCorrupt, v)
		}
		gen = uint32(v[0])<<24 | uint32(v[1])<<16 | uint32(v[2])<<8 | uint32(v[3])
		return nil
	})
	if err != nil && !errors.Is(err, ErrNotFound) {
		return 0, err
	}
	gen++
	return gen, txn.Set(keyTagGen, []byte{byte(gen >> 24), byte(gen >> 16), byte(gen >> 8), byte(gen)})
}

// ActorPacks returns the stored actor packs, by name.
func (tg Tags) ActorPacks() ([]ActorPack, error) {
	s := tg.s
	out, err := jsonRecords[ActorPack](s, prefixActorPack, "actor pack")
	slices.SortFunc(out, func(a, b ActorPack) int { return strings.Compare(a.Name, b.Name) })
	return out, err
}

// jsonRecords decodes every JSON value under the one-byte prefix, in key
// order; a value that does not decode is ErrCorrupt naming what and its key.
func jsonRecords[T any](s *Store, prefix byte, what string) ([]T, error) {
	var out []T
	err := s.view(func(txn *badger.Txn) error {
		p := []byte{prefix}
		it := txn.NewIterator(badger.IteratorOptions{Prefix: p, PrefetchValues: true})
		defer it.Close()
		for it.Seek(p); it.ValidForPrefix(p); it.Next() {
			var v T
			if err := it.Item().Value(func(b []byte) error { return json.Unmarshal(b, &v) }); err != nil {
				return fmt.Errorf("%w: %s %q: %v", ErrCorrupt, what, it.Item().Key(), err)
			}
			out = append(out, v)
		}
		return nil
	})
	return out, err
}

// actorCategories maps actor id → categories over every stored actor pack
// (for an id in several packs, the first pack by name wins).
func (s *Store) actorCategories() (map[string][]string, error) {
	m := map[string][]string{}
	err := s.view(func(txn *badger.Txn) error {
		prefix := []byte{prefixActor}
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true})
		defer it.Close()
		for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
			var a sanctions.Actor
			if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &a) }); err != nil {
				return fmt.Errorf("%w: actor %q: %v", ErrCorrupt, it.Item().Key(), err)
			}
			if _, ok := m[a.ID]; !ok && len(a.Categories) > 0 {
				m[a.ID] = a.Categories
			}
		}
		return nil
	})
	return m, err
}

// actorCategoriesOf reads the categories of one actor: one prefix seek.
func (s *Store) actorCategoriesOf(txn *badger.Txn, id string) ([]string, error) {
	prefix := actorPrefix(id)
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: false})
	defer it.Close()
	for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
		var a sanctions.Actor
		if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &a) }); err != nil {
			return nil, fmt.Errorf("%w: actor %q: %v", ErrCorrupt, it.Item().Key(), err)
		}
		if len(a.Categories) > 0 {
			return a.Categories, nil
		}
	}
	return nil, nil
}

// RemovePack deletes a stored tag pack (its header and every tag) or
// actor pack by name. It returns the number of tags (or actors) removed,
// and ErrNotFound when no pack has that name.
func (tg Tags) RemovePack(name string) (int, error) {
	s := tg.s
	if s.ro {
		return 0, ErrReadOnly
	}
	n := 0
	found := false
	// The header goes first, in one transaction: readers stop seeing the
	// pack at once; the keys are then deleted in batches.
	err := s.db.Update(func(txn *badger.Txn) error {
		for _, k := range [][]byte{tagPackKey(name), actorPackKey(name)} {
			err := s.get(txn, k, func(v []byte) error {
				var h struct {
					Tags   int `json:"tags"`
					Actors int `json:"actors"`
				}
				if err := json.Unmarshal(v, &h); err != nil {
					return fmt.Errorf("%w: pack %s: %v", ErrCorrupt, name, err)
				}
				n += h.Tags + h.Actors
				return nil
			})
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			found = true
			if err := txn.Delete(k); err != nil {
				return err
			}
			if k[0] == prefixActorPack {
				for _, ak := range actorKeysOf(txn, name) {
					if err := txn.Delete(ak); err != nil {
						return err
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: remove pack %s: %w", name, err)
	}
	if !found {
		return 0, fmt.Errorf("%w: no tag or actor pack named %q", ErrNotFound, name)
	}
	// No generation is kept: every generation of the pack goes.
	if err := s.dropTagGenerations(name, 0); err != nil {
		return n, fmt.Errorf("store: remove pack %s: removed, but deleting its tags failed (they stay hidden): %w", name, err)
	}
	return n, nil
}
