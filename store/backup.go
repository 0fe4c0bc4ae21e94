package store

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
)

// A backup file (tracer backup, Store.Backup) is a consistent snapshot of
// a whole store, for copying to a read replica:
//
//	"tracer-backup 2\n"       16 bytes: magic and format version
//	body                      the store's files beside Badger (the cluster
//	                          forest, clusterforest.go; the exposure index's
//	                          sorted files, exposurefile.go): a count (uint32), then
//	                          per file its name's length (uint16), name
//	                          (relative to the store), length (uint64) and
//	                          bytes; then Badger's backup stream (DB.Backup):
//	                          every key's latest version at one read timestamp
//	trailer                   48 bytes: "tracerbk", the body's length (uint64
//	                          big-endian) and its SHA-256
//
// Restore checks the trailer before it writes anything, so a truncated or
// damaged file is refused whole: never a partial store.
var backupMagic = []byte("tracer-backup 2\n")

const (
	backupTrailerTag = "tracerbk"
	backupTrailerLen = 8 + 8 + sha256.Size
)

// BackupStats describes a backup written or restored.
type BackupStats struct {
	Bytes  int64 // the backup file's size
	Height int32 // the store's tip height in the snapshot (-1: no blocks)
	Hash   string
	Schema uint32
}

// Backup writes a consistent snapshot of the store to w in the backup
// format. The store may be open read-only (beside a serve --read-only, or
// any reader); writes made while the backup runs are not in it.
func (s *Store) Backup(ctx context.Context, w io.Writer) (BackupStats, error) {
	st := s.State()
	h := sha256.New()
	cw := &countWriter{w: w}
	if _, err := cw.Write(backupMagic); err != nil {
		return BackupStats{}, fmt.Errorf("store: backup: %w", err)
	}
	body := &ctxWriter{ctx: ctx, w: io.MultiWriter(cw, h)}
	before := cw.n
	// No exposure generation is staged while the files and Badger's
	// stream are copied (a live service's pending build waits).
	s.expo.staging.Lock()
	defer s.expo.staging.Unlock()
	if err := s.backupFiles(body); err != nil {
		if ctx.Err() != nil {
			return BackupStats{}, ctx.Err()
		}
		return BackupStats{}, fmt.Errorf("store: backup: %w", err)
	}
	if _, err := s.db.Backup(body, 0); err != nil {
		if ctx.Err() != nil {
			return BackupStats{}, ctx.Err()
		}
		return BackupStats{}, fmt.Errorf("store: backup: %w", err)
	}
	trailer := make([]byte, 0, backupTrailerLen)
	trailer = append(trailer, backupTrailerTag...)
	trailer = binary.BigEndian.AppendUint64(trailer, uint64(cw.n-before))
	trailer = h.Sum(trailer)
	if _, err := cw.Write(trailer); err != nil {
		return BackupStats{}, fmt.Errorf("store: backup: %w", err)
	}
	return BackupStats{Bytes: cw.n, Height: st.Height, Hash: st.Hash.String(), Schema: SchemaVersion}, nil
}

// CheckBackup reads the backup file at path whole and checks its magic,
// length and checksum; it returns the body's length.
func CheckBackup(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("store: %w", err)
	}
	defer f.Close() //nolint:errcheck // opened read-only: Close cannot lose data
	fi, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("store: %w", err)
	}
	size := fi.Size()
	bad := func(what string) (int64, error) {
		return 0, fmt.Errorf("%w: %s: %s", ErrBadBackup, path, what)
	}
	if size < int64(len(backupMagic)+backupTrailerLen) {
		return bad(fmt.Sprintf("%d bytes, too short for a backup", size))
	}
	magic := make([]byte, len(backupMagic))
	if _, err := io.ReadFull(f, magic); err != nil {
		return 0, fmt.Errorf("store: read %s: %w", path, err)
	}
	if !bytes.Equal(magic, backupMagic) {
		return bad("not a tracer backup (no \"tracer-backup 2\" header)")
	}
	bodyLen := size - int64(len(backupMagic)) - backupTrailerLen
	h := sha256.New()
	if _, err := io.CopyN(h, f, bodyLen); err != nil {
		return 0, fmt.Errorf("store: read %s: %w", path, err)
	}
	trailer := make([]byte, backupTrailerLen)
	if _, err := io.ReadFull(f, trailer); err != nil {
		return 0, fmt.Errorf("store: read %s: %w", path, err)
	}
	switch {
	case string(trailer[:8]) != backupTrailerTag:
		return bad("no trailer: the file is truncated or was not finished")
	case binary.BigEndian.Uint64(trailer[8:16]) != uint64(bodyLen):
		return bad(fmt.Sprintf("trailer says %d bytes of data, the file holds %d: truncated or extended", binary.BigEndian.Uint64(trailer[8:16]), bodyLen))
	case !bytes.Equal(trailer[16:], h.Sum(nil)):
		return bad("checksum mismatch: the file is damaged")
	}
	return bodyLen, nil
}

// Restore makes a new store in dir (which must not exist, or be an empty
// directory) from the backup file at path, after checking the file whole.
// On any failure it removes what it wrote. Open the result like any store
// (read-only for a replica); Restore opens it read-only once, with
// opt.Logger, to check it.
func Restore(ctx context.Context, path, dir string, opt Options) (BackupStats, error) {
	bodyLen, err := CheckBackup(path)
	if err != nil {
		return BackupStats{}, err
	}
	if err := emptyDir(dir); err != nil {
		return BackupStats{}, err
	}
	fail := func(err error) (BackupStats, error) {
		return BackupStats{}, errors.Join(err, removeRestored(dir))
	}
	f, err := os.Open(path)
	if err != nil {
		return fail(fmt.Errorf("store: %w", err))
	}
	defer f.Close() //nolint:errcheck // opened read-only: Close cannot lose data
	if _, err := f.Seek(int64(len(backupMagic)), io.SeekStart); err != nil {
		return fail(fmt.Errorf("store: %w", err))
	}
	body := &ctxReader{ctx: ctx, r: bufio.NewReaderSize(io.LimitReader(f, bodyLen), 1<<20)}
	if err := loadBackup(ctx, body, dir); err != nil {
		return fail(fmt.Errorf("store: restore into %s: %w", dir, err))
	}
	s, err := Open(dir, Options{ReadOnly: true, Logger: opt.Logger})
	if err != nil {
		return fail(fmt.Errorf("store: the restored store does not open: %w", err))
	}
	st := s.State()
	if err := s.Close(); err != nil {
		return fail(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return fail(fmt.Errorf("store: %w", err))
	}
	return BackupStats{Bytes: fi.Size(), Height: st.Height, Hash: st.Hash.String(), Schema: SchemaVersion}, nil
}

// emptyDir makes dir, which must not exist or be empty.
func emptyDir(dir string) error {
	if ents, err := os.ReadDir(dir); err == nil && len(ents) > 0 {
		return fmt.Errorf("%w: %s is not empty: restore into a new directory", ErrExists, dir)
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("store: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

// loadBackup writes a backup's body into a new database in dir: its files,
// then its keys.
func loadBackup(ctx context.Context, body io.Reader, dir string) error {
	// The options of Open that decide how tables are written; a store
	// opened later with Open reads them whatever they were.
	bo := badger.DefaultOptions(dir).
		WithLogger(nil).
		WithCompression(options.ZSTD).
		WithZSTDCompressionLevel(1).
		WithMemTableSize(128 << 20).
		WithValueThreshold(1 << 10).
		WithNumVersionsToKeep(1).
		WithBlockSize(16 << 10).
		WithBloomFalsePositive(0.05).
		WithDetectConflicts(false)
	db, err := badger.Open(bo)
	if err != nil {
		return err
	}
	if err := restoreFiles(body, dir); err != nil {
		return errors.Join(err, db.Close())
	}
	if err := db.Load(body, 256); err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return errors.Join(err, db.Close())
	}
	return db.Close()
}

// removeRestored deletes what a failed restore wrote into dir (Badger's
// files), leaving dir itself.
func removeRestored(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range ents {
		errs = append(errs, os.RemoveAll(filepath.Join(dir, e.Name())))
	}
	return errors.Join(errs...)
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// ctxWriter and ctxReader stop Badger's backup and load, which take no
// context, when ctx is cancelled.
type ctxWriter struct {
	ctx context.Context //nolint:containedctx // Badger's Backup takes an io.Writer, not a context
	w   io.Writer
}

func (c *ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}

type ctxReader struct {
	ctx context.Context //nolint:containedctx // Badger's Load takes an io.Reader, not a context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// eachRecord calls fn with every key and value of the store in key order
// as readers see them, inside txn: an exposure generation with files
// (its header, in this view, says so) has its records as the file and
// Badger's updates merge, after every other key, so where a record lives
// changes nothing. The files are those the view reads (a snapshot's
// pinned ones), not the store's of now. k and v are valid only during
// the call.
func (s *Store) eachRecord(txn *badger.Txn, fn func(k, v []byte) error) error {
	files, err := exposureFileGens(txn)
	if err != nil {
		return err
	}
	inFile := func(k []byte) bool {
		return len(k) >= 5 && (k[0] == prefixExposureTx || k[0] == prefixExposureAcc) && files[binary.BigEndian.Uint32(k[1:5])]
	}
	it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: false})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		item := it.Item()
		if inFile(item.Key()) {
			continue
		}
		if err := item.Value(func(v []byte) error { return fn(item.Key(), v) }); err != nil {
			return err
		}
	}
	it.Close()
	order := slices.Sorted(maps.Keys(files))
	for _, fam := range []byte{prefixExposureTx, prefixExposureAcc} {
		for _, gen := range order {
			err := s.exposureEach(txn, fam, gen, nil, func(k, v []byte) error { return fn(exposureKey(fam, gen, k), v) })
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// Digest is a SHA-256 over every key and value of the store in key order
// (each as a big-endian uint32 length and its bytes), the records of the
// exposure index's files last, merged with their updates as readers see
// them, and the number of keys: two stores with the same digest hold the
// same data, whatever their files look like (a replica restored from a
// backup of a store opened read-only has the primary's digest).
func (s *Store) Digest(ctx context.Context) ([32]byte, int64, error) {
	h := sha256.New()
	var n int64
	var lb [4]byte
	add := func(k, v []byte) error {
		if n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		binary.BigEndian.PutUint32(lb[:], uint32(len(k)))
		h.Write(lb[:])
		h.Write(k)
		binary.BigEndian.PutUint32(lb[:], uint32(len(v)))
		h.Write(lb[:])
		h.Write(v)
		n++
		return nil
	}
	err := s.view(func(txn *badger.Txn) error { return s.eachRecord(txn, add) })
	if err != nil {
		return [32]byte{}, 0, fmt.Errorf("store: digest: %w", err)
	}
	return [32]byte(h.Sum(nil)), n, nil
}

// backupFiles writes the store's files beside Badger (the cluster
// directory, the exposure index's files) into a backup body. The caller
// keeps writers off the store meanwhile (tracer backup opens it
// read-only; a live server runs the backup on its writing loop, and a
// pending exposure build waits to stage: Backup holds expo.staging), so
// the files and Badger agree.
func (s *Store) backupFiles(w io.Writer) error {
	ents, err := os.ReadDir(filepath.Join(s.dir, clusterDir))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	var names []string
	for _, e := range ents {
		if e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	// The exposure index's files, through the open files of its
	// generations (a drop meanwhile removes names, not open files).
	gens, unpin := s.expo.pinAll()
	defer unpin()
	var expo []*sortedFile
	for _, g := range gens {
		expo = append(expo, g.files()...)
	}
	slices.SortFunc(expo, func(a, b *sortedFile) int { return strings.Compare(a.path, b.path) })
	if err := binary.Write(w, binary.BigEndian, uint32(len(names)+len(expo))); err != nil {
		return err
	}
	for _, name := range names {
		if err := copyFileInto(w, s.clusterPath(name), clusterDir+"/"+name); err != nil {
			return err
		}
	}
	for _, sf := range expo {
		if err := copyExposureFile(w, sf); err != nil {
			return err
		}
	}
	return nil
}

func copyFileInto(w io.Writer, path, rel string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close() //nolint:errcheck // opened read-only: Close cannot lose data
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	return copyReaderInto(w, f, fi.Size(), rel)
}

// copyReaderInto writes one file of a backup body: its name, size and the
// size bytes of r.
func copyReaderInto(w io.Writer, r io.Reader, size int64, rel string) error {
	hdr := binary.BigEndian.AppendUint16(nil, uint16(len(rel)))
	hdr = append(hdr, rel...)
	hdr = binary.BigEndian.AppendUint64(hdr, uint64(size))
	if _, err := w.Write(hdr); err != nil {
		return err
	}
	if n, err := io.CopyN(w, r, size); err != nil {
		return fmt.Errorf("%s: %d of %d bytes: %w", rel, n, size, err)
	}
	return nil
}

// restoreFiles writes the files of a backup body into dir. A name that
// would leave the cluster or exposure directory is refused (the checksum has passed,
// but a backup is still input).
func restoreFiles(r io.Reader, dir string) error {
	var n uint32
	if err := binary.Read(r, binary.BigEndian, &n); err != nil {
		return fmt.Errorf("%w: files section: %v", ErrBadBackup, err)
	}
	for i := range n {
		var nameLen uint16
		if err := binary.Read(r, binary.BigEndian, &nameLen); err != nil {
			return fmt.Errorf("%w: file %d: %v", ErrBadBackup, i, err)
		}
		name := make([]byte, nameLen)
		if _, err := io.ReadFull(r, name); err != nil {
			return fmt.Errorf("%w: file %d: %v", ErrBadBackup, i, err)
		}
		rel := string(name)
		sub, base, ok := strings.Cut(rel, "/")
		if _, _, expo := parseExposureFileName(base); !ok || (sub != clusterDir && (sub != exposureDir || !expo)) ||
			base == "" || base != filepath.Base(base) || base == "." || base == ".." {
			return fmt.Errorf("%w: file %d has a bad name %q", ErrBadBackup, i, rel)
		}
		var size uint64
		if err := binary.Read(r, binary.BigEndian, &size); err != nil {
			return fmt.Errorf("%w: file %q: %v", ErrBadBackup, rel, err)
		}
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return err
		}
		if err := writeFileFrom(filepath.Join(dir, sub, base), r, int64(size)); err != nil {
			return fmt.Errorf("file %q: %w", rel, err)
		}
	}
	return nil
}

func writeFileFrom(path string, r io.Reader, size int64) (err error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	if _, err := io.CopyN(f, r, size); err != nil {
		return fmt.Errorf("%w: %v", ErrBadBackup, err)
	}
	return f.Sync()
}
