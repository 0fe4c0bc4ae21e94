package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"

	"github.com/tracer-oss/tracer/sanctions/address"
	"github.com/tracer-oss/tracer/store/network"
)

// Options tune Open.
type Options struct {
	ReadOnly bool
	// MustExist refuses (ErrNotFound) to create a store: for commands that
	// read or add to existing data, so a mistyped directory is an error
	// instead of a new empty store. Read-only opens always must exist.
	MustExist bool
	Logger    *slog.Logger // nil: discard
	// CacheMB is Badger's block cache size; 0 means the default (256 MB).
	CacheMB int
	// UndoHook, if set, is called after each durable step of an undo
	// (UndoStepState, UndoStepDerived, UndoStepDone); crash tests stop the
	// process there.
	UndoHook func(step string)
	// ClusterHook, if set, is called after each durable step of a cluster
	// commit (ClusterStepWritten, ClusterStepJournal, ClusterStepCopied,
	// ClusterStepDone); crash tests kill the process there.
	ClusterHook func(step string)
	// MinFree is the free space (bytes) every write keeps on the store's
	// disk, which stops with ErrNoSpace rather than fill it; 0: 256 MB,
	// negative: no check (see space.go).
	MinFree int64
	// FreeSpace, if set, replaces the filesystem's free-space probe (tests
	// inject a full disk with it).
	FreeSpace func(dir string) (int64, error)
	// BulkRunBytes is the size of a bulk load's sorted runs in memory (its
	// index families' and its join's); 0: the defaults (128 and 64 MB).
	// Tests make it small to cross run boundaries.
	BulkRunBytes int
}

// Store is an open store directory.
type Store struct {
	db    *badger.DB
	dir   string
	ro    bool
	log   *slog.Logger
	state State

	undoHook  func(string)
	clustHook func(string)
	clust     *clusterFiles  // the cluster forest's files (clusterforest.go), shared with snapshots
	expo      *exposureFiles // the exposure index's files (exposurefile.go), shared with snapshots
	minFree   int64
	runBytes  int // Options.BulkRunBytes
	free      func(string) (int64, error)
	outboxMu  sync.Mutex // orders alert sequence numbers (outbox.go)
	alertNext uint64
	casesMu   sync.Mutex // serializes case writes: Badger's conflict detection is off (cases.go)

	// snap, in a snapshot (Snapshot), is the read transaction every read
	// goes through; nil in the Store that Open returns.
	snap *snapshot
	// listOverride, in a snapshot, is the sanctions list version it
	// reports in force instead of the stored pointer (WithSanctionsVersion).
	listOverride uint32
}

// Open opens or creates the store in dir. It refuses a store whose files
// fail their checksums (DamageError), before writing anything.
func Open(dir string, opt Options) (*Store, error) {
	return open(dir, opt, true)
}

func open(dir string, opt Options, checks bool) (*Store, error) {
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := prepareDir(dir, opt); err != nil {
		return nil, err
	}
	probe := opt.FreeSpace
	if probe == nil {
		probe = freeSpace
	}
	minFree := opt.MinFree
	if minFree == 0 {
		minFree = defaultMinFree
	}
	if err := checkOpenSpace(dir, opt.ReadOnly, probe, minFree); err != nil {
		return nil, err
	}
	if checks {
		if err := checkFiles(dir, opt.ReadOnly); err != nil {
			return nil, err
		}
	}
	db, err := openBadger(dir, opt.ReadOnly, badgerOptions(dir, opt, log))
	if err != nil {
		return nil, err
	}
	s := &Store{clust: &clusterFiles{}, expo: &exposureFiles{}, db: db, dir: dir, ro: opt.ReadOnly, log: log, undoHook: opt.UndoHook, clustHook: opt.ClusterHook, minFree: minFree, free: probe, runBytes: opt.BulkRunBytes}
	if err := s.start(); err != nil {
		return nil, errors.Join(err, db.Close())
	}
	return s, nil
}

// prepareDir refuses a missing store to a read-only or must-exist open,
// creates dir for a writable one, and drops the empty logs a killed
// process left (only when no process holds the store). A read-only open
// drops them too — they hold no writes, and Badger cannot open them
// read-only — but where it may not (a read-only file system) it leaves
// them for Badger to report.
func prepareDir(dir string, opt Options) error {
	if opt.ReadOnly || opt.MustExist {
		if _, err := os.Stat(filepath.Join(dir, "MANIFEST")); err != nil {
			return fmt.Errorf("%w: no store in %s (run tracer ingest, or tracer sanctions load, first)", ErrNotFound, dir)
		}
	}
	if opt.ReadOnly {
		_ = ifUnlocked(dir, func() error { return removeEmptyLogs(dir) }) // best effort: see above
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if err := ifUnlocked(dir, func() error { return removeEmptyLogs(dir) }); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

// checkOpenSpace refuses to open on a full disk: Badger writes (and on
// tmpfs reads) its logs through memory mappings as it opens, and on a full
// disk that is SIGBUS, not an error. A read-only open writes nothing
// unless memtable files are there to replay; minFree < 0 turns the check
// off.
func checkOpenSpace(dir string, readOnly bool, probe func(string) (int64, error), minFree int64) error {
	mems, _ := filepath.Glob(filepath.Join(dir, "*.mem"))
	if free, err := probe(dir); err == nil && free >= 0 && free < openMinFree && minFree >= 0 && (!readOnly || len(mems) > 0) {
		return fmt.Errorf("%w: cannot open the store in %s: its disk is full (%s free); free some space first", ErrNoSpace, dir, gb(free))
	}
	return nil
}

// checkFiles checks an existing store's MANIFEST, logs and tables before
// Badger opens it. Badger "repairs" a damaged MANIFEST or log by cutting it
// short when it opens a store writable, losing every record after the
// damage; a read-only open silently leaves out the tables after a damaged
// MANIFEST record. So a damaged store is refused instead.
func checkFiles(dir string, readOnly bool) error {
	if _, err := os.Stat(filepath.Join(dir, "MANIFEST")); err != nil {
		return nil // a new store: nothing to check
	}
	// A store another process holds (exclusively, for a read-only open)
	// is refused as Badger would refuse it, before the check reads files its writer may be replacing
	// (a compaction's deleted table read as damage).
	if lockConflicts(dir, readOnly) {
		return lockedError(dir)
	}
	return preflight(dir, !readOnly)
}

// badgerOptions are the Badger settings of every store.
func badgerOptions(dir string, opt Options, log *slog.Logger) badger.Options {
	cache := int64(opt.CacheMB) << 20
	if cache <= 0 {
		cache = 256 << 20
	}
	return badger.DefaultOptions(dir).
		WithLogger(badgerLogger{log}).
		WithReadOnly(opt.ReadOnly).
		WithCompression(options.ZSTD).
		WithZSTDCompressionLevel(1).
		WithBlockCacheSize(cache).
		WithIndexCacheSize(64 << 20).
		WithMemTableSize(memTableSize).
		WithNumMemtables(4).
		WithValueThreshold(1 << 10).
		WithNumVersionsToKeep(1).
		// Two compactors, not Badger's four: on a 2-core machine four
		// only contend, and each holds table builders of tens of MB
		// (an exposure build at 10 M transactions peaked at 4.9 GiB
		// with four, 3.2 GiB with two).
		WithNumCompactors(2).
		// A base level of 128 MB rather than 10: Badger sizes its
		// levels from the last one, so a store of a few GB kept three
		// or four small levels above it, and every byte a bulk write
		// (an exposure index generation) put in was recompressed at
		// each. The 10 M-transaction exposure build with 102 groups:
		// 1,615–2,016 CPU-s at 10 MB, 1,171 at 128 MB (peak 3.9 GiB),
		// 1,177 at 512 MB (peak 4.3 GiB: bigger compactions).
		WithBaseLevelSize(128 << 20).
		WithBlockSize(16 << 10).
		WithBloomFalsePositive(0.05).
		WithDetectConflicts(false).
		// Every table was checked whole by preflight (a damaged block
		// otherwise ends an iteration early, silently); blocks read later
		// are checked again, and every value as it is read from the log.
		WithChecksumVerificationMode(options.OnBlockRead).
		WithVerifyValueChecksum(true)
}

// openBadger opens the database, replaying a killed writer's torn log for
// a read-only open, and turns Badger's errors into the store's: held by
// another process, damaged, or the error wrapped.
func openBadger(dir string, readOnly bool, bo badger.Options) (*badger.DB, error) {
	db, err := badger.Open(bo)
	if err != nil && readOnly && strings.Contains(err.Error(), "truncate required") {
		// A writer was killed mid-write: let Badger replay and truncate
		// its log in read-write mode once, then open read-only again —
		// only if what it would cut is a torn tail, not damage.
		if perr := preflight(dir, true); perr != nil {
			return nil, perr
		}
		rw, rerr := badger.Open(bo.WithReadOnly(false))
		if rerr == nil {
			if rerr = rw.Close(); rerr == nil {
				db, err = badger.Open(bo)
			}
		}
	}
	switch {
	case err == nil:
		return db, nil
	case strings.Contains(err.Error(), "Cannot acquire directory lock"):
		return nil, lockedError(dir)
	case isChecksumErr(err):
		return nil, &DamageError{Dir: dir, Damage: []Damage{{File: "badger", Offset: -1, What: strings.ReplaceAll(err.Error(), "\n", " ")}}}
	default:
		return nil, fmt.Errorf("store: open %s: %w", dir, err)
	}
}

// start readies a freshly opened store: its schema and alert counter, and
// for a writer what a killed process left half done.
func (s *Store) start() error {
	if err := s.init(); err != nil {
		return err
	}
	if err := s.loadAlertNext(); err != nil {
		return err
	}
	if err := s.loadExposureFiles(); err != nil {
		return err
	}
	if s.ro {
		return nil
	}
	if err := removeHolder(s.dir, true); err != nil {
		return err
	}
	// Complete an undo a kill interrupted; drop a killed commit's alerts.
	if err := s.finishUndo(); err != nil {
		return err
	}
	if err := s.dropHiddenAlerts(); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

// lockedError is the error of opening dir while another process holds it:
// who, when it said so (SetHolder).
func lockedError(dir string) error {
	if h, ok := readHolder(dir); ok {
		return &HeldError{Dir: dir, Holder: h}
	}
	return fmt.Errorf("%w: %s is open in another process (a running ingest, follow or serve); Badger lets one process use a store at a time", ErrLocked, dir)
}

// removeEmptyLogs deletes memtable and value logs of zero length. A
// process killed between creating one and sizing it (Badger creates them
// when it opens, and when a bulk load's StreamWriter drops the old data)
// leaves such a file: it holds no writes (a value log in use starts with a
// header), and Badger refuses to open a store that has one ("Create a new
// file"), after sizing it, so this cannot wait for Badger to fail. Open
// runs it only while it holds Badger's directory lock itself, so the empty
// log of a process using the store is never taken.
func removeEmptyLogs(dir string) error {
	for _, pattern := range []string{"*.mem", "*.vlog"} {
		files, err := filepath.Glob(filepath.Join(dir, pattern))
		if err != nil {
			return err
		}
		for _, f := range files {
			if fi, err := os.Stat(f); err == nil && fi.Size() == 0 {
				if err := os.Remove(f); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (s *Store) init() error {
	return s.db.Update(func(txn *badger.Txn) error {
		item, err := txn.Get(keySchema)
		switch {
		case errors.Is(err, badger.ErrKeyNotFound):
			if s.ro {
				s.state = State{Height: -1}
				return nil
			}
			s.state = State{Height: -1}
			v := binary.BigEndian.AppendUint32(nil, SchemaVersion)
			if err := txn.Set(keySchema, v); err != nil {
				return err
			}
			return txn.Set(keyState, mustJSON(&s.state))
		case err != nil:
			return err
		}
		v, err := item.ValueCopy(nil)
		if err != nil {
			return err
		}
		if len(v) != 4 {
			return fmt.Errorf("%w %x in %s: another version of tracer wrote it (this one writes %d); ingest again into a new --db directory", ErrSchema, v, s.dir, SchemaVersion)
		}
		if got := binary.BigEndian.Uint32(v); got != SchemaVersion {
			return fmt.Errorf("%w %d in %s: another version of tracer wrote it (this one reads and writes schema %d); ingest again into a new --db directory", ErrSchema, got, s.dir, SchemaVersion)
		}
		item, err = txn.Get(keyState)
		if err != nil {
			return fmt.Errorf("store: read state: %w", err)
		}
		return item.Value(func(v []byte) error {
			if err := json.Unmarshal(v, &s.state); err != nil {
				return fmt.Errorf("%w: state: %v", ErrCorrupt, err)
			}
			return nil
		})
	})
}

// Close flushes and closes the store. A snapshot is not closed: its
// release function ends it.
func (s *Store) Close() error {
	if s.snap != nil {
		return errors.New("store: Close of a snapshot (call the release function Snapshot returned)")
	}
	if err := removeHolder(s.dir, false); err != nil {
		return errors.Join(err, s.db.Close(), s.clust.close(), s.expo.close())
	}
	err := errors.Join(s.db.Close(), s.clust.close(), s.expo.close())
	if err != nil {
		return fmt.Errorf("store: close: %w", err)
	}
	return nil
}

// Dir is the store's directory.
func (s *Store) Dir() string { return s.dir }

// State returns the last committed chain state.
func (s *Store) State() State { return s.state }

// ParseAddress parses str as an address of the store's network; an
// address of another network is refused naming both ("mainnet address;
// this store is regtest"). A store without blocks has no network yet: then
// an address of any network is accepted. It returns the parameters used.
func (s *Store) ParseAddress(str string) (address.Addr, *chaincfg.Params, error) {
	if s.state.Network == "" {
		return address.ParseAny(str)
	}
	n, err := network.ByName(s.state.Network)
	if err != nil {
		return address.Addr{}, nil, err
	}
	a, err := address.Parse(str, n.Params)
	if err != nil {
		return address.Addr{}, nil, err
	}
	return a, n.Params, nil
}

// DiskSize returns the bytes the store occupies on disk.
func (s *Store) DiskSize() int64 {
	var n int64
	// The walk cannot fail: its function skips what it cannot read.
	_ = filepath.Walk(s.dir, func(_ string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			n += info.Size()
		}
		return nil
	})
	return n
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only for types of this package, which always marshal
	}
	return b
}

// badgerLogger routes Badger's chatter to slog at debug level, warnings at warn.
type badgerLogger struct{ log *slog.Logger }

func (l badgerLogger) Errorf(f string, a ...any)   { l.log.Error(fmt.Sprintf(f, a...)) }
func (l badgerLogger) Warningf(f string, a ...any) { l.log.Warn(fmt.Sprintf(f, a...)) }
func (l badgerLogger) Infof(f string, a ...any)    { l.log.Debug(fmt.Sprintf(f, a...)) }
func (l badgerLogger) Debugf(f string, a ...any)   {}
