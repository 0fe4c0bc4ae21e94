package store

import (
	"bytes"
	"context"
	"encoding/binary"
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

// ListVersion describes one stored edition of the sanctions list.
type ListVersion struct {
	Version     uint32         `json:"version"`
	Source      string         `json:"source"`
	Format      string         `json:"format"`
	DateOfIssue time.Time      `json:"date_of_issue"`
	LoadedAt    time.Time      `json:"loaded_at"`
	Entries     int            `json:"entries"`
	Assets      map[string]int `json:"assets"` // entries per asset code
	Warnings    []string       `json:"warnings,omitempty"`
	Current     bool           `json:"current"` // set on read from the "sanctions-current" pointer
}

// TagPack describes one stored tag pack.
type TagPack struct {
	Name     string         `json:"name"` // file name; a reload of the same name replaces the pack
	Title    string         `json:"title,omitempty"`
	Source   string         `json:"source"`
	LoadedAt time.Time      `json:"loaded_at"`
	Tags     int            `json:"tags"`
	Skipped  map[string]int `json:"skipped,omitempty"`
	Gen      uint32         `json:"gen"` // generation of the pack's tag keys in force
}

func listVersionKey(v uint32) []byte {
	return binary.BigEndian.AppendUint32([]byte{prefixListVersion}, v)
}

func listEntryPrefix(v uint32, addr string) []byte {
	k := binary.BigEndian.AppendUint32(make([]byte, 0, 6+len(addr)), v)
	k = append([]byte{prefixListEntry}, k...)
	if addr != "" {
		k = append(k, addr...)
		k = append(k, 0)
	}
	return k
}

func listEntryKey(v uint32, e *sanctions.Entry) []byte {
	k := listEntryPrefix(v, e.Address)
	k = append(k, e.Asset...)
	k = append(k, 0)
	k = binary.BigEndian.AppendUint64(k, uint64(e.ProfileID))
	return binary.BigEndian.AppendUint64(k, uint64(e.FeatureID))
}

func tagPrefix(addr string) []byte {
	return append(append([]byte{prefixTag}, addr...), 0)
}

func packTagPrefix(pack string) []byte {
	return append(append([]byte{prefixPackTag}, pack...), 0)
}

func tagKey(addr, pack string, gen, seq uint32) []byte {
	k := append(append(tagPrefix(addr), pack...), 0)
	k = binary.BigEndian.AppendUint32(k, gen)
	return binary.BigEndian.AppendUint32(k, seq)
}

func packTagKey(pack string, gen, seq uint32) []byte {
	k := binary.BigEndian.AppendUint32(packTagPrefix(pack), gen)
	return binary.BigEndian.AppendUint32(k, seq)
}

func tagPackKey(pack string) []byte { return append([]byte{prefixTagPack}, pack...) }

// Lists is the store's room for the sanctions lists, as Cases is for
// cases: every stored version of the list, the pointer to the one in force,
// and the lookup of an address in it, read through the store's view (and so
// its snapshot and its WithSanctionsVersion override, when it has them).
type Lists struct{ s *Store }

// Lists returns the store's sanctions lists.
func (s *Store) Lists() Lists { return Lists{s} }

// maxListAddress bounds a listed address (of any currency) in bytes: it
// is part of a key, and Badger refuses keys over 64 KB.
const maxListAddress = 1024

// Save stores l as a new version and makes it current, in one
// transaction: on any error the previous version stays in force.
func (ls Lists) Save(ctx context.Context, l *sanctions.List) (uint32, error) {
	s := ls.s
	return s.saveList(ctx, l, true)
}

// Stage stores l as a new version without making it current:
// a live server builds its exposure index first (on a snapshot seen
// through WithSanctionsVersion), then switches with Use.
func (ls Lists) Stage(ctx context.Context, l *sanctions.List) (uint32, error) {
	s := ls.s
	return s.saveList(ctx, l, false)
}

func (s *Store) saveList(ctx context.Context, l *sanctions.List, current bool) (uint32, error) {
	if s.ro {
		return 0, ErrReadOnly
	}
	if l == nil {
		return 0, errors.New("store: save sanctions list: nil list")
	}
	var version uint32
	err := s.db.Update(func(txn *badger.Txn) error {
		last, err := lastListVersion(txn)
		if err != nil {
			return err
		}
		version = last + 1
		hdr := ListVersion{Version: version, Source: l.Source, Format: l.Format, DateOfIssue: l.DateOfIssue,
			LoadedAt: time.Now().UTC().Truncate(time.Second), Entries: len(l.Entries), Assets: map[string]int{},
			Warnings: l.Warnings}
		for i := range l.Entries {
			if i%256 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			e := &l.Entries[i]
			if err := checkListEntry(e); err != nil {
				return err
			}
			hdr.Assets[e.Asset]++
			v, err := json.Marshal(e)
			if err != nil {
				return err
			}
			if err := txn.Set(listEntryKey(version, e), v); err != nil {
				return err
			}
		}
		if err := txn.Set(listVersionKey(version), mustJSON(&hdr)); err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if !current {
			return nil
		}
		// The pointer goes last; the transaction commits all keys or none.
		return txn.Set(keySanctionsCurrent, binary.BigEndian.AppendUint32(nil, version))
	})
	if err != nil {
		return 0, fmt.Errorf("store: save sanctions list %s: %w", l.Source, err)
	}
	return version, nil
}

// checkListEntry refuses an entry whose address cannot be a key: empty,
// longer than any currency's, or holding a NUL (as its asset may not).
func checkListEntry(e *sanctions.Entry) error {
	if len(e.Address) > maxListAddress {
		return fmt.Errorf("store: sanctions entry of profile %d: an address of %d bytes (%s); no currency address is longer than %d", e.ProfileID, len(e.Address), sanctions.Clip(e.Address), maxListAddress)
	}
	if strings.IndexByte(e.Address, 0) >= 0 || strings.IndexByte(e.Asset, 0) >= 0 || e.Address == "" {
		return fmt.Errorf("store: sanctions entry of profile %d: bad address %s", e.ProfileID, sanctions.Clip(e.Address))
	}
	return nil
}

// Use makes a stored version the one in force (for example
// an earlier one, after a bad update). Loads after it still get new,
// higher version numbers.
func (ls Lists) Use(version uint32) error {
	s := ls.s
	if s.ro {
		return ErrReadOnly
	}
	return s.db.Update(func(txn *badger.Txn) error {
		err := s.get(txn, listVersionKey(version), func([]byte) error { return nil })
		if errors.Is(err, ErrNotFound) {
			return fmt.Errorf("%w: sanctions list version %d", ErrNotFound, version)
		}
		if err != nil {
			return err
		}
		return txn.Set(keySanctionsCurrent, binary.BigEndian.AppendUint32(nil, version))
	})
}

func lastListVersion(txn *badger.Txn) (uint32, error) {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixListVersion}, Reverse: true})
	defer it.Close()
	it.Seek([]byte{prefixListVersion, 0xff, 0xff, 0xff, 0xff})
	if !it.ValidForPrefix([]byte{prefixListVersion}) {
		return 0, nil
	}
	k := it.Item().Key()
	if len(k) != 5 {
		return 0, fmt.Errorf("%w: list version key %x", ErrCorrupt, k)
	}
	return binary.BigEndian.Uint32(k[1:]), nil
}

// currentList returns the version in force, or ErrNotFound when no list
// was loaded.
func (s *Store) currentList(txn *badger.Txn) (uint32, error) {
	if s.snap != nil && s.listOverride != 0 {
		return s.listOverride, nil
	}
	var v uint32
	err := s.get(txn, keySanctionsCurrent, func(b []byte) error {
		if len(b) != 4 {
			return fmt.Errorf("%w: sanctions-current %x", ErrCorrupt, b)
		}
		v = binary.BigEndian.Uint32(b)
		return nil
	})
	if errors.Is(err, ErrNotFound) {
		return 0, fmt.Errorf("%w: no sanctions list loaded (run tracer sanctions load or update)", ErrNotFound)
	}
	return v, err
}

// Current returns the version in force; ErrNotFound when
// no list was loaded.
func (ls Lists) Current() (uint32, error) {
	s := ls.s
	var v uint32
	err := s.view(func(txn *badger.Txn) error {
		var err error
		v, err = s.currentList(txn)
		return err
	})
	return v, err
}

// Versions returns the stored versions, oldest first.
func (ls Lists) Versions() ([]ListVersion, error) {
	s := ls.s
	var out []ListVersion
	err := s.view(func(txn *badger.Txn) error {
		cur, err := s.currentList(txn)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		prefix := []byte{prefixListVersion}
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true})
		defer it.Close()
		for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
			var h ListVersion
			if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &h) }); err != nil {
				return fmt.Errorf("%w: list version %x: %v", ErrCorrupt, it.Item().Key(), err)
			}
			h.Current = h.Version == cur
			out = append(out, h)
		}
		return nil
	})
	return out, err
}

// Version returns the header of one version; 0 means current.
func (ls Lists) Version(version uint32) (ListVersion, error) {
	s := ls.s
	var h ListVersion
	err := s.view(func(txn *badger.Txn) error {
		cur, err := s.currentList(txn)
		if err != nil && (version == 0 || !errors.Is(err, ErrNotFound)) {
			return err
		}
		if version == 0 {
			version = cur
		}
		err = s.get(txn, listVersionKey(version), func(v []byte) error { return json.Unmarshal(v, &h) })
		if errors.Is(err, ErrNotFound) {
			return fmt.Errorf("%w: sanctions list version %d", ErrNotFound, version)
		}
		h.Current = version == cur
		return err
	})
	return h, err
}

// List returns one stored version as a list; 0 means current.
func (ls Lists) List(version uint32) (*sanctions.List, error) {
	s := ls.s
	h, err := ls.Version(version)
	if err != nil {
		return nil, err
	}
	l := &sanctions.List{Source: h.Source, Format: h.Format, DateOfIssue: h.DateOfIssue, Warnings: h.Warnings,
		Entries: make([]sanctions.Entry, 0, h.Entries)}
	err = s.view(func(txn *badger.Txn) error {
		prefix := listEntryPrefix(h.Version, "")
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true, PrefetchSize: 256})
		defer it.Close()
		for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
			var e sanctions.Entry
			if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &e) }); err != nil {
				return fmt.Errorf("%w: sanctions entry %q: %v", ErrCorrupt, it.Item().Key(), err)
			}
			l.Entries = append(l.Entries, e)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	l.Sort()
	return l, nil
}

// Hits returns the entries of the current version listing
// address, for one asset (any case of the code) or every asset ("").
// Bech32 addresses match in either case.
// It returns no entries and no error when the address is not listed, and
// ErrNotFound when no list was loaded.
func (ls Lists) Hits(asset, address string) ([]sanctions.Entry, error) {
	s := ls.s
	address = strings.TrimSpace(address)
	if l := strings.ToLower(address); strings.HasPrefix(l, "bc1") {
		// Bech32 is case-insensitive (QR codes use upper case); OFAC lists it lower case.
		address = l
	}
	if address == "" || strings.IndexByte(address, 0) >= 0 {
		return nil, nil
	}
	var out []sanctions.Entry
	err := s.view(func(txn *badger.Txn) error {
		cur, err := s.currentList(txn)
		if err != nil {
			return err
		}
		prefix := listEntryPrefix(cur, address)
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: false})
		defer it.Close()
		for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
			rest := it.Item().Key()[len(prefix):]
			i := bytes.IndexByte(rest, 0)
			if i < 0 {
				return fmt.Errorf("%w: sanctions entry key %q", ErrCorrupt, it.Item().Key())
			}
			if asset != "" && !strings.EqualFold(string(rest[:i]), asset) {
				continue
			}
			var e sanctions.Entry
			if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &e) }); err != nil {
				return fmt.Errorf("%w: sanctions entry %q: %v", ErrCorrupt, it.Item().Key(), err)
			}
			out = append(out, e)
		}
		return nil
	})
	return out, err
}

// Tags is the store's room for tag packs and actor packs: the packs'
// headers, their tags by address and by pack, and the actors' categories,
// read through the store's view (and so its snapshot, when it is one).
type Tags struct{ s *Store }

// Tags returns the store's tags.
func (s *Store) Tags() Tags { return Tags{s} }

// SavePack stores the tags of p under its file name, replacing the tags
// a pack of the same name stored before. Packs may be larger than one
// Badger transaction, so the tags are written under a new generation number
// and the pack header, written last in one transaction, switches readers
// to it; a failed or interrupted save leaves the previous generation in
// force and its own keys unreferenced (removed by the next save of the
// pack). It returns the number of tags it replaced.
func (tg Tags) SavePack(ctx context.Context, p *sanctions.TagPack) (replaced int, err error) {
	s := tg.s
	if s.ro {
		return 0, ErrReadOnly
	}
	if p == nil {
		return 0, errors.New("store: save tag pack: nil pack")
	}
	name := filepath.Base(p.Source)
	if name == "" || name == "." || strings.IndexByte(name, 0) >= 0 {
		return 0, fmt.Errorf("store: save tag pack: bad pack name %q", p.Source)
	}
	defer func() {
		if err != nil {
			err = fmt.Errorf("store: save tag pack %s: %w", name, err)
		}
	}()
	for i, t := range p.Tags {
		if t.Address == "" || strings.IndexByte(t.Address, 0) >= 0 {
			return 0, fmt.Errorf("tag %d: bad address %q", i, t.Address)
		}
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	// A generation number is never reused, so keys left by an interrupted
	// save can never become visible.
	var gen uint32
	err = s.db.Update(func(txn *badger.Txn) (err error) {
		gen, err = s.nextTagGen(txn)
		return err
	})
	if err != nil {
		return 0, err
	}
	if err := s.writeTags(ctx, p.Tags, name, gen); err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	hdr := TagPack{Name: name, Title: p.Title, Source: p.Source, LoadedAt: time.Now().UTC().Truncate(time.Second),
		Tags: len(p.Tags), Skipped: p.Skipped, Gen: gen}
	if replaced, err = s.switchTagPack(hdr); err != nil {
		return 0, err
	}
	if err := s.dropTagGenerations(name, gen); err != nil {
		return replaced, fmt.Errorf("stored, but removing the old tags failed (they stay hidden): %w", err)
	}
	return replaced, nil
}

// writeTags writes the tags of pack name under generation gen, by address
// and by pack, in batches (invisible until the pack header names gen).
func (s *Store) writeTags(ctx context.Context, tags []sanctions.Tag, name string, gen uint32) error {
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	for i := range tags {
		if i%256 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		t := tags[i]
		if t.Pack == "" {
			t.Pack = name
		}
		gk := tagKey(t.Address, name, gen, uint32(i))
		v, err := json.Marshal(&t)
		if err == nil {
			err = wb.Set(gk, v)
		}
		if err == nil {
			err = wb.Set(packTagKey(name, gen, uint32(i)), gk)
		}
		if err != nil {
			return err
		}
	}
	return wb.Flush()
}

// switchTagPack stores the pack header, which switches readers to its
// generation, and returns how many tags the header it replaced counted.
func (s *Store) switchTagPack(hdr TagPack) (replaced int, err error) {
	err = s.db.Update(func(txn *badger.Txn) error {
		err := s.get(txn, tagPackKey(hdr.Name), func(v []byte) error {
			var old TagPack
			if err := json.Unmarshal(v, &old); err != nil {
				return fmt.Errorf("%w: tag pack %s: %v", ErrCorrupt, hdr.Name, err)
			}
			replaced = old.Tags
			return nil
		})
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		return txn.Set(tagPackKey(hdr.Name), mustJSON(&hdr))
	})
	return replaced, err
}

// dropTagGenerations deletes the keys of every generation of pack but keep.
func (s *Store) dropTagGenerations(pack string, keep uint32) error {
	var del [][]byte
	err := s.view(func(txn *badger.Txn) error {
		qp := packTagPrefix(pack)
		it := txn.NewIterator(badger.IteratorOptions{Prefix: qp, PrefetchValues: true})
		defer it.Close()
		for it.Seek(qp); it.ValidForPrefix(qp); it.Next() {
			k := it.Item().Key()
			if len(k) != len(qp)+8 {
				return fmt.Errorf("%w: pack tag key %q", ErrCorrupt, k)
			}
			if binary.BigEndian.Uint32(k[len(qp):]) == keep {
				continue
			}
			gk, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			del = append(del, it.Item().KeyCopy(nil), gk)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return s.deleteKeys(del)
}

// For returns every stored tag of address, ordered by pack name.
func (tg Tags) For(address string) ([]sanctions.Tag, error) {
	s := tg.s
	address = strings.TrimSpace(address)
	if address == "" || strings.IndexByte(address, 0) >= 0 {
		return nil, nil
	}
	var out []sanctions.Tag
	err := s.view(func(txn *badger.Txn) error {
		gens := map[string]uint32{} // pack → generation in force; 0 when the pack has no header
		prefix := tagPrefix(address)
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: false})
		defer it.Close()
		for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
			rest := it.Item().Key()[len(prefix):]
			if len(rest) < 9 || rest[len(rest)-9] != 0 {
				return fmt.Errorf("%w: tag key %q", ErrCorrupt, it.Item().Key())
			}
			pack := string(rest[:len(rest)-9])
			cur, ok := gens[pack]
			if !ok {
				err := s.get(txn, tagPackKey(pack), func(v []byte) error {
					var h TagPack
					if err := json.Unmarshal(v, &h); err != nil {
						return fmt.Errorf("%w: tag pack %s: %v", ErrCorrupt, pack, err)
					}
					cur = h.Gen
					return nil
				})
				if err != nil && !errors.Is(err, ErrNotFound) {
					return err
				}
				gens[pack] = cur
			}
			if binary.BigEndian.Uint32(rest[len(rest)-8:]) != cur {
				continue // an old or unfinished generation
			}
			var t sanctions.Tag
			if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &t) }); err != nil {
				return fmt.Errorf("%w: tag %q: %v", ErrCorrupt, it.Item().Key(), err)
			}
			out = append(out, t)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, s.fillActors(out)
}

// fillActors sets the actor categories of tags that name an actor.
func (s *Store) fillActors(ts []sanctions.Tag) error {
	if !slices.ContainsFunc(ts, func(t sanctions.Tag) bool { return t.Actor != "" }) {
		return nil
	}
	return s.view(func(txn *badger.Txn) error {
		for i := range ts {
			if ts[i].Actor == "" || strings.IndexByte(ts[i].Actor, 0) >= 0 {
				continue
			}
			cats, err := s.actorCategoriesOf(txn, ts[i].Actor)
			if err != nil {
				return err
			}
			ts[i].ActorCategories = cats
		}
		return nil
	})
}

// Packs returns the stored tag pack headers, by name.
func (tg Tags) Packs() ([]TagPack, error) {
	s := tg.s
	out, err := jsonRecords[TagPack](s, prefixTagPack, "tag pack")
	slices.SortFunc(out, func(a, b TagPack) int { return strings.Compare(a.Name, b.Name) })
	return out, err
}

// Each calls fn with every stored tag in force (of each pack's current
// generation), in key order, with its actor's categories filled in.
func (tg Tags) Each(fn func(sanctions.Tag) error) error {
	s := tg.s
	packs, err := tg.Packs()
	if err != nil {
		return err
	}
	actors, err := s.actorCategories()
	if err != nil {
		return err
	}
	gens := map[string]uint32{}
	for _, p := range packs {
		gens[p.Name] = p.Gen
	}
	return s.view(func(txn *badger.Txn) error {
		prefix := []byte{prefixTag}
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true})
		defer it.Close()
		for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
			k := it.Item().Key()[1:]
			i := bytes.IndexByte(k, 0)
			if i < 0 || len(k) < i+1+9 || k[len(k)-9] != 0 {
				return fmt.Errorf("%w: tag key %q", ErrCorrupt, it.Item().Key())
			}
			gen, ok := gens[string(k[i+1:len(k)-9])]
			if !ok || binary.BigEndian.Uint32(k[len(k)-8:]) != gen {
				continue
			}
			var t sanctions.Tag
			if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &t) }); err != nil {
				return fmt.Errorf("%w: tag %q: %v", ErrCorrupt, it.Item().Key(), err)
			}
			t.ActorCategories = actors[t.Actor]
			if err := fn(t); err != nil {
				return err
			}
		}
		return nil
	})
}
