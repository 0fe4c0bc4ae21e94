package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// ExposureIndex is the header of one generation of the exposure index: what
// it was built from, so readers can tell when it is stale. Its records are
// opaque to the store (the screen package encodes them).
type ExposureIndex struct {
	Gen         uint32            `json:"gen"`
	ListVersion uint32            `json:"list_version"` // sanctions list version it was built for; 0: none
	TipHeight   int32             `json:"tip_height"`
	TipHash     string            `json:"tip_hash"`
	TagGens     map[string]uint32 `json:"tag_gens,omitempty"` // tag pack name → generation in force
	BuiltAt     time.Time         `json:"built_at"`
	Addresses   int               `json:"addresses"` // exposed addresses (accumulators) in the generation
	Params      json.RawMessage   `json:"params,omitempty"`
	// Files: the generation's bulk records are in its sorted files
	// (exposurefile.go), Badger holding the updates since; AccFiles of
	// them hold accumulators (0: one, as before it was written).
	Files    bool `json:"files,omitempty"`
	AccFiles int  `json:"acc_files,omitempty"`
}

var (
	keyExposureCurrent = append([]byte{prefixMeta}, "exposure-current"...)
	keyExposureGen     = append([]byte{prefixMeta}, "exposure-gen"...)
)

func exposureHeaderKey(gen uint32) []byte {
	return binary.BigEndian.AppendUint32([]byte{prefixExposureIndex}, gen)
}

// Exposure is the store's room for the exposure index, as Cases is for
// cases: its generations (written by ExposureWriter, updated per block by
// Update, switched by Use), their per-transaction shares, per-address
// accumulators and undo records, read through the store's view (and so its
// snapshot, when it is one). The records are opaque to the store (the
// screen package encodes them and draws an address's exposure from them).
type Exposure struct{ s *Store }

// Exposure returns the store's exposure index.
func (s *Store) Exposure() Exposure { return Exposure{s} }

// ExposureWriter writes one new generation of the exposure index, in key
// order, into its sorted files (exposurefile.go). Readers keep seeing the
// previous generation until Commit.
type ExposureWriter struct {
	s    *Store
	gen  uint32
	txs  *sortedWriter
	accs []*ExposureAccPart // AccPart's; the first is PutAcc's
	key  []byte
}

// ExposureAccPart writes one part of a generation's accumulators, each
// into its own file: every key of a part sorts after every key of the
// parts before it, so parts of the key space are written at once, each by
// its own goroutine, and read back as one.
type ExposureAccPart struct {
	w   *sortedWriter
	key []byte
}

// AccPart returns part i of the accumulators (the same one each call;
// part 0 is what PutAcc writes). Parts left empty are dropped at Stage.
func (w *ExposureWriter) AccPart(i int) (*ExposureAccPart, error) {
	for len(w.accs) <= i {
		sw, err := newSortedWriter(filepath.Join(w.s.dir, exposureDir, exposureFileName(w.gen, 'a', len(w.accs))))
		if err != nil {
			return nil, fmt.Errorf("store: new exposure index: %w", err)
		}
		w.accs = append(w.accs, &ExposureAccPart{w: sw})
	}
	return w.accs[i], nil
}

// PutAcc is ExposureWriter.PutAcc for the part.
func (p *ExposureAccPart) PutAcc(addr string, v []byte) error {
	if err := checkAccKey(addr); err != nil {
		return err
	}
	p.key = append(p.key[:0], addr...)
	return p.w.add(p.key, v)
}

// NewIndex starts a new generation of the exposure index.
func (x Exposure) NewIndex() (*ExposureWriter, error) {
	s := x.s
	if s.ro {
		return nil, ErrReadOnly
	}
	var gen uint32
	err := s.db.Update(func(txn *badger.Txn) error {
		err := s.get(txn, keyExposureGen, func(v []byte) error {
			if len(v) != 4 {
				return fmt.Errorf("%w: exposure-gen %x", ErrCorrupt, v)
			}
			gen = binary.BigEndian.Uint32(v)
			return nil
		})
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		gen++ // never reused, so keys of an interrupted build never become visible
		return txn.Set(keyExposureGen, binary.BigEndian.AppendUint32(nil, gen))
	})
	if err != nil {
		return nil, fmt.Errorf("store: new exposure index: %w", err)
	}
	w := &ExposureWriter{s: s, gen: gen}
	if w.txs, err = newSortedWriter(filepath.Join(s.dir, exposureDir, exposureFileName(gen, 't', 0))); err != nil {
		return nil, fmt.Errorf("store: new exposure index: %w", err)
	}
	if _, err := w.AccPart(0); err != nil {
		w.txs.abort()
		return nil, err
	}
	return w, nil
}

// Cancel drops the generation's unfinished files.
func (w *ExposureWriter) Cancel() {
	w.txs.abort()
	for _, p := range w.accs {
		p.w.abort()
	}
}

// Gen is the generation this writer writes.
func (w *ExposureWriter) Gen() uint32 { return w.gen }

// PutTxShares stores the per-source shares of transaction n (encoded by
// the screen package; not empty), in increasing order of n.
func (w *ExposureWriter) PutTxShares(n TxNum, v []byte) error {
	w.key = binary.BigEndian.AppendUint64(w.key[:0], uint64(n))
	return w.txs.add(w.key, v)
}

// PutAcc stores the per-source accumulators of the address whose record
// key is addr (opaque to the store; encoded by the screen package; not
// empty), in increasing order of addr.
func (w *ExposureWriter) PutAcc(addr string, v []byte) error { return w.accs[0].PutAcc(addr, v) }

// Commit flushes what was written, then switches readers to this generation in
// one transaction (header and pointer), then deletes older generations.
func (w *ExposureWriter) Commit(ctx context.Context, hdr ExposureIndex) (ExposureIndex, error) {
	hdr, err := w.Stage(ctx, hdr)
	if err != nil {
		return hdr, err
	}
	return hdr, w.s.Exposure().Use(w.gen)
}

// Stage flushes what was written and writes the generation's header without
// making it current: readers keep the generation in force until
// Use switches them (a new list's index built while the old
// one answers).
func (w *ExposureWriter) Stage(ctx context.Context, hdr ExposureIndex) (ExposureIndex, error) {
	if err := ctx.Err(); err != nil {
		w.Cancel()
		return hdr, err
	}
	accFiles, err := w.finish()
	if err != nil {
		w.Cancel() // and the files finished before the error, which no header names:
		_ = removeExposureFiles(w.s.dir, func(gen uint32, _ bool) bool { return gen == w.gen })
		return hdr, err
	}
	if err := syncDir(filepath.Join(w.s.dir, exposureDir)); err != nil {
		return hdr, fmt.Errorf("store: commit exposure index: %w", err)
	}
	g, err := openExposureGen(w.s.dir, w.gen, accFiles)
	if err != nil {
		return hdr, fmt.Errorf("store: commit exposure index: %w", err)
	}
	w.s.expo.staging.RLock()
	defer w.s.expo.staging.RUnlock()
	w.s.expo.add(w.gen, g) // before the header: a reader that sees it finds them
	hdr.Files, hdr.AccFiles = true, accFiles
	hdr.Gen = w.gen
	if hdr.BuiltAt.IsZero() {
		hdr.BuiltAt = time.Now().UTC().Truncate(time.Second)
	}
	err = w.s.db.Update(func(txn *badger.Txn) error {
		return txn.Set(exposureHeaderKey(w.gen), mustJSON(&hdr))
	})
	if err != nil {
		return hdr, fmt.Errorf("store: commit exposure index: %w", err)
	}
	return hdr, nil
}

// finish finishes the generation's files: the parts of its accumulators
// that hold records (and the first, always) numbered in order. It returns
// how many accumulators' files there are.
func (w *ExposureWriter) finish() (int, error) {
	if err := w.txs.finish(); err != nil {
		return 0, err
	}
	var last *sortedWriter // the last part with records
	files := 0
	for i, p := range w.accs {
		if i > 0 && p.w.records == 0 {
			p.w.abort()
			continue
		}
		if last != nil && last.records > 0 && bytes.Compare(p.w.lowest, last.last) <= 0 {
			return 0, fmt.Errorf("store: exposure records out of order: part %d begins with %x after %x", i, p.w.lowest, last.last)
		}
		if err := p.w.finishAs(filepath.Join(w.s.dir, exposureDir, exposureFileName(w.gen, 'a', files))); err != nil {
			return 0, err
		}
		last, files = p.w, files+1
	}
	return files, nil
}

// Use makes generation gen (staged by ExposureWriter.Stage)
// the one readers see, in one transaction, then deletes every other
// generation.
func (x Exposure) Use(gen uint32) error {
	if err := x.use(gen); err != nil {
		return err
	}
	return x.DropOlder(context.Background(), gen)
}

// Switch makes generation gen the one readers see, as Use does, but leaves
// the older generations for DropOlder: a live service switches on its
// writing loop and drops in the background.
func (x Exposure) Switch(gen uint32) error { return x.use(gen) }

// DropOlder deletes, key by key, every generation older than gen (hidden
// since gen or a later one was switched to; newer ones may be a build
// still being written, and are kept). Other writers may run meanwhile. A
// cancelled drop leaves the rest for the next one.
func (x Exposure) DropOlder(ctx context.Context, gen uint32) error {
	if err := x.s.dropExposureGenerations(ctx, gen); err != nil {
		return fmt.Errorf("store: exposure index %d in force, but removing old generations failed (they stay hidden): %w", gen, err)
	}
	return nil
}

// use makes generation gen the one in force.
func (x Exposure) use(gen uint32) error {
	if x.s.ro {
		return ErrReadOnly
	}
	err := x.s.db.Update(func(txn *badger.Txn) error {
		if _, err := txn.Get(exposureHeaderKey(gen)); err != nil {
			if errors.Is(err, badger.ErrKeyNotFound) {
				return fmt.Errorf("%w: exposure index generation %d", ErrNotFound, gen)
			}
			return err
		}
		return txn.Set(keyExposureCurrent, binary.BigEndian.AppendUint32(nil, gen))
	})
	if err != nil {
		return fmt.Errorf("store: use exposure index %d: %w", gen, err)
	}
	return nil
}

// UseAlone is Use for a store that nothing else writes meanwhile (no
// other goroutine; a CLI rebuild): it drops the older generations by
// whole tables, as Badger's DropPrefix does, instead of deleting their
// keys one by one. At 10 M transactions a generation holds tens of
// millions of keys, whose deletes took minutes; DropPrefix takes seconds,
// but it refuses every concurrent write while it runs (ErrBlockedWrites),
// so a live service uses Use.
func (x Exposure) UseAlone(gen uint32) error {
	s := x.s
	if err := x.use(gen); err != nil {
		return err
	}
	prefixes, err := s.exposurePrefixesBefore(gen)
	if err == nil && len(prefixes) > 0 {
		err = s.db.DropPrefix(prefixes...)
	}
	if err == nil {
		err = s.dropExposureFiles(gen)
	}
	if err != nil {
		return fmt.Errorf("store: exposure index %d in force, but dropping old generations failed (they stay hidden): %w", gen, err)
	}
	return nil
}

// exposurePrefixesBefore lists the key prefix (family and generation) of
// every generation in the store older than keep, one seek per generation.
func (s *Store) exposurePrefixesBefore(keep uint32) ([][]byte, error) {
	var out [][]byte
	err := s.view(func(txn *badger.Txn) error {
		for _, p := range exposureFamilies {
			it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{p}})
			for it.Seek([]byte{p}); it.ValidForPrefix([]byte{p}); {
				k := it.Item().Key()
				if len(k) < 5 {
					it.Close()
					return fmt.Errorf("%w: exposure key %x", ErrCorrupt, k)
				}
				g := binary.BigEndian.Uint32(k[1:5])
				if g >= keep {
					break
				}
				out = append(out, binary.BigEndian.AppendUint32([]byte{p}, g))
				it.Seek(binary.BigEndian.AppendUint32([]byte{p}, g+1))
			}
			it.Close()
		}
		return nil
	})
	return out, err
}

// Header returns the header of generation gen, in force or
// staged; gen 0 is the one in force.
func (x Exposure) Header(gen uint32) (ExposureIndex, error) {
	s := x.s
	if gen == 0 {
		return x.Info()
	}
	var hdr ExposureIndex
	err := s.view(func(txn *badger.Txn) error {
		return s.get(txn, exposureHeaderKey(gen), func(v []byte) error {
			if err := json.Unmarshal(v, &hdr); err != nil {
				return fmt.Errorf("%w: exposure index header: %v", ErrCorrupt, err)
			}
			return nil
		})
	})
	if err != nil {
		return hdr, fmt.Errorf("store: exposure index generation %d: %w", gen, err)
	}
	return hdr, nil
}

// TxShares returns the shares record of transaction n in
// generation gen; found is false when n carries no tracked exposure.
func (x Exposure) TxShares(gen uint32, n TxNum) (v []byte, found bool, err error) {
	s := x.s
	err = s.view(func(txn *badger.Txn) error {
		v, found, err = s.exposureGet(txn, prefixExposureTx, gen, binary.BigEndian.AppendUint64(nil, uint64(n)))
		return err
	})
	return v, found, err
}

// Prefetch reads the file blocks of generation gen that hold the tx
// shares records of txs and the accumulators of accs, several at once, so
// the reads of them that follow (a block's update) find them in memory
// rather than each waiting on the device in turn: the files are written
// past the page cache, and at full-chain scale they outgrow it anyway. A
// hint: it returns nothing, and what it cannot read is left to the read
// that follows to report.
func (x Exposure) Prefetch(gen uint32, txs []TxNum, accs []string) {
	for _, fam := range []byte{prefixExposureTx, prefixExposureAcc} {
		sf, done, err := x.s.exposureFile(fam, gen)
		if err != nil {
			continue
		}
		if sf != nil {
			var keys [][]byte
			if fam == prefixExposureTx {
				for _, n := range txs {
					keys = append(keys, binary.BigEndian.AppendUint64(nil, uint64(n)))
				}
			} else {
				for _, a := range accs {
					keys = append(keys, []byte(a))
				}
			}
			sf.prefetch(keys)
		}
		done()
	}
}

// Acc returns the accumulators of addr in generation gen.
func (x Exposure) Acc(gen uint32, addr string) (v []byte, found bool, err error) {
	s := x.s
	err = s.view(func(txn *badger.Txn) error {
		v, found, err = s.exposureGet(txn, prefixExposureAcc, gen, []byte(addr))
		return err
	})
	return v, found, err
}

// ForEachAcc calls fn for every address with accumulators in
// generation gen, in address order.
func (x Exposure) ForEachAcc(gen uint32, fn func(addr string, v []byte) error) error {
	s := x.s
	return s.view(func(txn *badger.Txn) error {
		return s.exposureEach(txn, prefixExposureAcc, gen, nil, func(k, v []byte) error {
			return fn(string(k), bytes.Clone(v))
		})
	})
}

// exposureFile pins generation gen's file of family fam for one read (nil:
// the generation keeps that family in Badger alone); a snapshot reads the
// files it pinned.
func (s *Store) exposureFile(fam byte, gen uint32) (sortedSet, func(), error) {
	if s.snap != nil {
		if g := s.snap.expo[gen]; g != nil {
			return g.file(fam), func() {}, nil
		}
	}
	g, done, err := s.expo.pin(gen)
	if err != nil {
		return nil, nil, err
	}
	return g.file(fam), done, nil
}

// exposureGet reads the record of key (the part after family and
// generation) in generation gen: Badger's when it has one (an empty value
// deletes), else the generation's file's.
func (s *Store) exposureGet(txn *badger.Txn, fam byte, gen uint32, key []byte) ([]byte, bool, error) {
	v, found, err := getCopy(txn, exposureKey(fam, gen, key))
	if err != nil || found {
		return v, found && len(v) > 0, err
	}
	sf, done, err := s.exposureFile(fam, gen)
	if err != nil || sf == nil {
		return nil, false, err
	}
	defer done()
	return sf.get(key)
}

// inExposureFile reports whether generation gen's file of family fam
// holds key (whatever Badger says of it).
func (s *Store) inExposureFile(fam byte, gen uint32, key []byte) (bool, error) {
	sf, done, err := s.exposureFile(fam, gen)
	if err != nil || sf == nil {
		return false, err
	}
	defer done()
	_, found, err := sf.get(key)
	return found, err
}

// exposureEach calls fn for every record of family fam in generation gen
// whose key is not before from, in key order: the file's and Badger's
// merged, Badger's winning and its empty values deleting. k and v are
// valid only during the call; fn returning errStop ends it.
func (s *Store) exposureEach(txn *badger.Txn, fam byte, gen uint32, from []byte, fn func(k, v []byte) error) error {
	prefix := exposureKey(fam, gen, nil)
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true})
	defer it.Close()
	it.Seek(exposureKey(fam, gen, from))
	var v []byte
	// overlay hands fn Badger's records before key (all of them: nil)
	// and reports whether Badger holds key itself, its value in v.
	overlay := func(key []byte) (bool, error) {
		for ; it.ValidForPrefix(prefix); it.Next() {
			k := it.Item().Key()[len(prefix):]
			c := -1
			if key != nil {
				c = bytes.Compare(k, key)
			}
			if c > 0 {
				return false, nil
			}
			var err error
			if v, err = it.Item().ValueCopy(v[:0]); err != nil {
				return false, s.damaged(err)
			}
			if c == 0 {
				it.Next()
				return true, nil
			}
			if len(v) > 0 {
				if err := fn(k, v); err != nil {
					return false, err
				}
			}
		}
		return false, nil
	}
	sf, done, err := s.exposureFile(fam, gen)
	if err != nil {
		return err
	}
	defer done()
	if sf != nil {
		err = sf.each(from, func(k, fv []byte) error {
			had, err := overlay(k)
			switch {
			case err != nil:
				return err
			case !had:
				return fn(k, fv)
			case len(v) > 0:
				return fn(k, v)
			}
			return nil // deleted since the build
		})
	}
	if err == nil {
		_, err = overlay(nil)
	}
	if errors.Is(err, errStop) {
		return nil
	}
	return err
}

func getCopy(txn *badger.Txn, key []byte) ([]byte, bool, error) {
	item, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	v, err := item.ValueCopy(nil)
	return v, err == nil, err
}

// ExposureUpdate is one transaction on a generation of the exposure index:
// one block applied or undone, with the header's tip, all or nothing.
type ExposureUpdate struct {
	s   *Store
	txn *badger.Txn
	gen uint32
	hdr ExposureIndex
	n   int // addresses added (+) or removed (-)
	// present: whether an address's accumulators exist, as this update
	// last read or wrote them, so PutAcc counts without reading again.
	present map[string]bool
}

// Update runs fn in one transaction on generation gen (0: the one
// in force); what fn writes, with the header it sets, commits together.
func (x Exposure) Update(gen uint32, fn func(u *ExposureUpdate) error) error {
	s := x.s
	if s.ro {
		return ErrReadOnly
	}
	hdr, err := x.Header(gen)
	if err != nil {
		return err
	}
	return s.db.Update(func(txn *badger.Txn) error {
		u := &ExposureUpdate{s: s, txn: txn, gen: hdr.Gen, hdr: hdr}
		if err := fn(u); err != nil {
			return err
		}
		u.hdr.Addresses += u.n
		return txn.Set(exposureHeaderKey(u.gen), mustJSON(&u.hdr))
	})
}

// Header is the generation's header as the update will store it.
func (u *ExposureUpdate) Header() *ExposureIndex { return &u.hdr }

// TxShares returns the shares record of tx n, including this update's
// writes.
func (u *ExposureUpdate) TxShares(n TxNum) ([]byte, bool, error) {
	return u.s.exposureGet(u.txn, prefixExposureTx, u.gen, binary.BigEndian.AppendUint64(nil, uint64(n)))
}

// PutTxShares stores the shares record of tx n (not empty).
func (u *ExposureUpdate) PutTxShares(n TxNum, v []byte) error {
	if len(v) == 0 {
		return fmt.Errorf("store: exposure tx shares of %d: empty record", n)
	}
	return u.txn.Set(exposureTxKey(u.gen, n), v)
}

// DeleteTxShares deletes the shares records of txs first..end-1.
func (u *ExposureUpdate) DeleteTxShares(first, end TxNum) error {
	var del [][]byte
	stop := binary.BigEndian.AppendUint64(nil, uint64(end))
	err := u.s.exposureEach(u.txn, prefixExposureTx, u.gen, binary.BigEndian.AppendUint64(nil, uint64(first)), func(k, _ []byte) error {
		if bytes.Compare(k, stop) >= 0 {
			return errStop
		}
		del = append(del, bytes.Clone(k))
		return nil
	})
	if err != nil {
		return err
	}
	for _, k := range del {
		if err := u.remove(prefixExposureTx, k); err != nil {
			return err
		}
	}
	return nil
}

// remove deletes the record of key: from Badger, and, when the
// generation's file holds it, by an empty value over it.
func (u *ExposureUpdate) remove(fam byte, key []byte) error {
	inFile, err := u.s.inExposureFile(fam, u.gen, key)
	if err != nil {
		return err
	}
	if inFile {
		return u.txn.Set(exposureKey(fam, u.gen, key), []byte{})
	}
	return u.txn.Delete(exposureKey(fam, u.gen, key))
}

// Acc returns the accumulators of addr.
func (u *ExposureUpdate) Acc(addr string) ([]byte, bool, error) {
	v, found, err := u.s.exposureGet(u.txn, prefixExposureAcc, u.gen, []byte(addr))
	if err == nil {
		u.note(addr, found)
	}
	return v, found, err
}

func (u *ExposureUpdate) note(addr string, present bool) {
	if u.present == nil {
		u.present = map[string]bool{}
	}
	u.present[addr] = present
}

// PutAcc stores the accumulators of addr; nil deletes them. The header's
// Addresses counts the change.
func (u *ExposureUpdate) PutAcc(addr string, v []byte) error {
	if err := checkAccKey(addr); err != nil {
		return err
	}
	if v != nil && len(v) == 0 {
		return fmt.Errorf("store: exposure accumulators of %q: empty record", addr)
	}
	had, known := u.present[addr]
	if !known {
		_, found, err := u.s.exposureGet(u.txn, prefixExposureAcc, u.gen, []byte(addr))
		if err != nil {
			return err
		}
		had = found
	}
	u.note(addr, v != nil)
	switch {
	case v == nil && had:
		u.n--
	case v != nil && !had:
		u.n++
	}
	if v == nil {
		return u.remove(prefixExposureAcc, []byte(addr))
	}
	return u.txn.Set(exposureAccKey(u.gen, addr), v)
}

// Undo returns the undo record of the block at height.
func (u *ExposureUpdate) Undo(height int32) ([]byte, bool, error) {
	return getCopy(u.txn, exposureUndoKey(u.gen, height))
}

// PutUndo stores the undo record of the block at height; nil deletes it.
func (u *ExposureUpdate) PutUndo(height int32, v []byte) error {
	if v == nil {
		return u.txn.Delete(exposureUndoKey(u.gen, height))
	}
	return u.txn.Set(exposureUndoKey(u.gen, height), v)
}

// checkAccKey refuses an accumulator key no record can have: empty, or
// longer than any address form.
func checkAccKey(addr string) error {
	if addr == "" || len(addr) > 256 {
		return fmt.Errorf("store: exposure accumulator: bad record key %q", addr)
	}
	return nil
}

func exposureTxKey(gen uint32, n TxNum) []byte {
	return binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint32([]byte{prefixExposureTx}, gen), uint64(n))
}

func exposureAccKey(gen uint32, addr string) []byte {
	return append(binary.BigEndian.AppendUint32([]byte{prefixExposureAcc}, gen), addr...)
}

// exposureKey is the Badger key of a record of family fam (tx shares or
// accumulators) in generation gen: key is what follows the generation.
func exposureKey(fam byte, gen uint32, key []byte) []byte {
	return append(binary.BigEndian.AppendUint32([]byte{fam}, gen), key...)
}

func exposureUndoKey(gen uint32, height int32) []byte {
	return binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32([]byte{prefixExposureUndo}, gen), uint32(height))
}

// exposureFamilies are the key families of the exposure index; every key
// starts with its family and a generation.
var exposureFamilies = []byte{prefixExposure, prefixExposureIndex, prefixExposureTx, prefixExposureAcc, prefixExposureUndo, prefixExposureDirty}

func (s *Store) dropExposureGenerations(ctx context.Context, keep uint32) error {
	// Keys only, streamed into a write batch: an index of a
	// 10M-transaction chain has tens of millions of keys, which neither
	// fit in a list nor need visiting twice.
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	err := s.view(func(txn *badger.Txn) error {
		for _, p := range exposureFamilies {
			if err := dropFamilyBefore(ctx, txn, wb, p, keep); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := wb.Flush(); err != nil {
		return err
	}
	return s.dropExposureFiles(keep)
}

// dropExposureFiles removes the files of generations older than keep,
// once Badger's writes are durable: the pointer to the newer generation
// and the deleted headers must not be lost to a power cut that kept the
// removal (the store would name files that are gone).
func (s *Store) dropExposureFiles(keep uint32) error {
	if err := s.db.Sync(); err != nil {
		return err
	}
	return s.expo.drop(s.dir, keep)
}

// dropFamilyBefore deletes, through wb, every key of the family whose keys
// start with prefix and a generation older than keep.
func dropFamilyBefore(ctx context.Context, txn *badger.Txn, wb *badger.WriteBatch, prefix byte, keep uint32) error {
	end := binary.BigEndian.AppendUint32([]byte{prefix}, keep)
	it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefix}})
	defer it.Close()
	for n := 0; ; n++ {
		if n == 0 {
			it.Seek([]byte{prefix})
		} else {
			it.Next()
		}
		if !it.ValidForPrefix([]byte{prefix}) || bytes.Compare(it.Item().Key(), end) >= 0 {
			return nil
		}
		if n%65536 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if err := wb.Delete(it.Item().KeyCopy(nil)); err != nil {
			return err
		}
	}
}

// deleteKeys deletes keys in write batches.
func (s *Store) deleteKeys(keys [][]byte) error {
	if len(keys) == 0 {
		return nil
	}
	wb := s.db.NewWriteBatch()
	for _, k := range keys {
		if err := wb.Delete(k); err != nil {
			wb.Cancel()
			return err
		}
	}
	return wb.Flush()
}

// Info returns the header of the exposure index in force, and
// ErrNotFound when none was built.
func (x Exposure) Info() (ExposureIndex, error) {
	s := x.s
	var hdr ExposureIndex
	err := s.view(func(txn *badger.Txn) error {
		var gen uint32
		err := s.get(txn, keyExposureCurrent, func(v []byte) error {
			if len(v) != 4 {
				return fmt.Errorf("%w: exposure-current %x", ErrCorrupt, v)
			}
			gen = binary.BigEndian.Uint32(v)
			return nil
		})
		if err != nil {
			return err
		}
		return s.get(txn, exposureHeaderKey(gen), func(v []byte) error {
			if err := json.Unmarshal(v, &hdr); err != nil {
				return fmt.Errorf("%w: exposure index header: %v", ErrCorrupt, err)
			}
			return nil
		})
	})
	if errors.Is(err, ErrNotFound) {
		return hdr, fmt.Errorf("%w: no exposure index (run tracer screen --rebuild-index)", ErrNotFound)
	}
	return hdr, err
}

// loadExposureFiles opens the files of every generation whose header says
// it has them (see openExposureFiles).
func (s *Store) loadExposureFiles() error {
	var headers map[uint32]int
	err := s.view(func(txn *badger.Txn) error {
		var err error
		headers, err = exposureHeaders(txn)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return s.openExposureFiles(headers)
}

// exposureHeaders maps every generation with a header in txn to how many
// accumulators' files its header names (0: it has no files).
func exposureHeaders(txn *badger.Txn) (map[uint32]int, error) {
	headers := map[uint32]int{}
	prefix := []byte{prefixExposureIndex}
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true})
	defer it.Close()
	for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
		k := it.Item().Key()
		if len(k) != 5 {
			return nil, fmt.Errorf("%w: exposure header key %x", ErrCorrupt, k)
		}
		var hdr ExposureIndex
		err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &hdr) })
		if err != nil {
			return nil, fmt.Errorf("%w: exposure index header %x: %v", ErrCorrupt, k, err)
		}
		n := 0
		if hdr.Files {
			n = max(hdr.AccFiles, 1)
		}
		headers[binary.BigEndian.Uint32(k[1:])] = n
	}
	return headers, nil
}

// exposureFileGens are the generations whose header in txn says they
// have files.
func exposureFileGens(txn *badger.Txn) (map[uint32]bool, error) {
	headers, err := exposureHeaders(txn)
	if err != nil {
		return nil, err
	}
	gens := map[uint32]bool{}
	for gen, n := range headers {
		if n > 0 {
			gens[gen] = true
		}
	}
	return gens, nil
}
