package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
	"github.com/dgraph-io/badger/v4/table"
	"github.com/dgraph-io/ristretto/v2/z"
)

// Damage is one damaged place in a store's files.
type Damage struct {
	File   string `json:"file"`   // name within the store directory
	Offset int64  `json:"offset"` // byte offset, -1 when not known
	What   string `json:"what"`
}

func (d Damage) String() string {
	if d.Offset < 0 {
		return fmt.Sprintf("%s: %s", d.File, d.What)
	}
	return fmt.Sprintf("%s at byte %d: %s", d.File, d.Offset, d.What)
}

// DamageError is a store whose files fail their checksums. Open returns it
// before anything is written, so the damaged files stay as they are.
type DamageError struct {
	Dir    string
	Damage []Damage
}

func (e *DamageError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "store: %s is damaged (", e.Dir)
	for i, d := range e.Damage {
		if i == 3 {
			fmt.Fprintf(&b, "; and %d more", len(e.Damage)-i)
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(d.String())
	}
	fmt.Fprintf(&b, "); it was not opened and nothing was written to it: run tracer --db %s verify", e.Dir)
	return b.String()
}

func (e *DamageError) Unwrap() error { return ErrDamaged }

// Badger's on-disk constants this file reads (badger/v4 value.go, structs.go).
const (
	logHeaderSize = 20 // key id and IV at the start of every .vlog and .mem file
	maxKeySize    = 1 << 16
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// scanLog walks the entries of a Badger log file (.vlog or .mem) and
// returns the offset after the last entry whose checksum holds, and the
// length the entry there declares (0 when its header does not decode).
func scanLog(data []byte) (end int64, next int64) {
	off := int64(logHeaderSize)
	if int64(len(data)) < off {
		return int64(len(data)), 0
	}
	for off < int64(len(data)) {
		n, klen, ok := entryLen(data[off:])
		if !ok || klen == 0 {
			return off, n
		}
		e := data[off : off+n]
		if crc32.Checksum(e[:n-4], castagnoli) != binary.BigEndian.Uint32(e[n-4:]) {
			return off, n
		}
		off += n
	}
	return off, 0
}

// entryLen decodes the header of a log entry at the start of b: its total
// length (header, key, value, checksum) and key length; ok is false when
// it does not decode or does not fit in b.
func entryLen(b []byte) (n int64, klen uint64, ok bool) {
	if len(b) < 2 {
		return 0, 0, false
	}
	i := 2
	var vals [3]uint64
	for j := range vals {
		v, c := binary.Uvarint(b[i:])
		if c <= 0 {
			return 0, 0, false
		}
		vals[j], i = v, i+c
	}
	if vals[0] > maxKeySize || vals[1] > 1<<32 {
		return 0, 0, false
	}
	n = int64(i) + int64(vals[0]) + int64(vals[1]) + 4
	if n > int64(len(b)) {
		return n, vals[0], false
	}
	return n, vals[0], true
}

// memTableSize is the store's Badger memtable size (Open's options).
const memTableSize = 128 << 20

// maxLogEntry bounds one entry of a Badger log: an entry is written by one
// transaction, whose writes Badger caps at 15% of the memtable
// (badger/v4 options: maxBatchSize).
const maxLogEntry = memTableSize * 15 / 100

// tornTail reports whether the bytes of a log file after end are what a
// process killed mid-write leaves: at most one partly written entry, then
// the zeros of the file's preallocated space. Badger copies each entry
// into the mapped file on its own, and Go's copy of a large slice may
// store its last bytes before its first: an entry torn so can have its
// header still zero and its tail written, so then any bytes
// within one entry's largest length of end count as that entry. Anything
// else (valid-looking data after the bad entry, or a bad entry ending
// exactly at the end of a file closed cleanly) is damage, and Badger's
// open would cut it off.
//
// data may end before the file's size: the rest is a hole (zeros).
func tornTail(data []byte, size, end, next int64) bool {
	rest := data[end:]
	if len(rest) == 0 || allZero(rest) {
		return true
	}
	if headerUnwritten(rest) {
		return size > end+int64(len(bytes.TrimRight(rest, "\x00"))) && allZero(rest[min(maxLogEntry, int64(len(rest))):])
	}
	return next > 0 && next < size-end && allZero(rest[min(next, int64(len(rest))):])
}

// headerUnwritten reports whether an entry header at the start of b is
// still zero: a written one never is (its key length is at least 1).
func headerUnwritten(b []byte) bool {
	return allZero(b[:min(len(b), 4)])
}

func allZero(b []byte) bool {
	return len(bytes.TrimLeft(b, "\x00")) == 0
}

// checkLog checks one log file; tailOK allows a torn tail (the last value
// log and memtable logs, which a killed writer leaves so).
//
// A log a killed writer left is preallocated (2 GiB for a value log) and
// mostly a hole: with tailOK only its data is read, up to the end of its
// last data extent, instead of gigabytes of zeros (minutes under load).
func checkLog(dir, name string, tailOK bool) (*Damage, error) {
	path := filepath.Join(dir, name)
	var data []byte
	var size int64
	var err error
	if tailOK {
		data, size, err = readData(path)
	} else {
		data, err = os.ReadFile(path)
		size = int64(len(data))
	}
	if err != nil {
		return nil, err
	}
	if size == 0 {
		return nil, nil // removeEmptyLogs deals with these
	}
	end, next := scanLog(data)
	if end == size || tailOK && tornTail(data, size, end, next) {
		return nil, nil
	}
	if int64(len(data)) < logHeaderSize {
		return &Damage{name, -1, fmt.Sprintf("%d bytes, shorter than its header", len(data))}, nil
	}
	return &Damage{name, end, fmt.Sprintf("entry fails its checksum; %d of %d bytes are readable before it", end, len(data))}, nil
}

// manifest reads Badger's MANIFEST; damage when it does not replay to its
// last byte (Badger would cut it there and drop the tables it lists after).
func manifest(dir string) (badger.Manifest, *Damage, error) {
	f, err := os.Open(filepath.Join(dir, badger.ManifestFilename))
	if err != nil {
		return badger.Manifest{}, nil, err
	}
	defer f.Close() //nolint:errcheck // opened read-only: Close cannot lose data
	fi, err := f.Stat()
	if err != nil {
		return badger.Manifest{}, nil, err
	}
	m, end, err := func() (m badger.Manifest, end int64, err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("unreadable: %v", r)
			}
		}()
		return badger.ReplayManifestFile(f, 0, badger.DefaultOptions(dir))
	}()
	if err != nil {
		return m, &Damage{badger.ManifestFilename, -1, err.Error()}, nil
	}
	if end != fi.Size() {
		return m, &Damage{badger.ManifestFilename, end, fmt.Sprintf("change record fails to decode; %d of %d bytes are readable", end, fi.Size())}, nil
	}
	for id := range m.Tables {
		name := table.IDToFilename(id)
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			return m, &Damage{badger.ManifestFilename, -1, fmt.Sprintf("lists table %s, which is missing", name)}, nil
		}
	}
	return m, nil, nil
}

// logFiles lists the store's value logs in file-id order, and its memtable logs.
func logFiles(dir string) (vlogs, mems []string, err error) {
	if vlogs, err = filepath.Glob(filepath.Join(dir, "*.vlog")); err != nil {
		return nil, nil, err
	}
	if mems, err = filepath.Glob(filepath.Join(dir, "*.mem")); err != nil {
		return nil, nil, err
	}
	id := func(p string) int {
		n, _ := strconv.Atoi(strings.TrimSuffix(filepath.Base(p), filepath.Ext(p)))
		return n
	}
	slices.SortFunc(vlogs, func(a, b string) int { return id(a) - id(b) })
	for i := range vlogs {
		vlogs[i] = filepath.Base(vlogs[i])
	}
	for i := range mems {
		mems[i] = filepath.Base(mems[i])
	}
	return vlogs, mems, nil
}

// preflight runs the checks whose failure Badger would "repair" by cutting
// files short when it opens the store writable: the MANIFEST replays to
// its end, and the logs Badger replays (the last value log, the memtable
// logs) are intact up to at most a torn tail. It reads those files whole.
func preflight(dir string, logs bool) error {
	var dmg []Damage
	m, d, err := manifest(dir)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if d != nil {
		dmg = append(dmg, *d)
	} else {
		td, err := checkTables(context.Background(), dir, m, false)
		if err != nil {
			return err
		}
		dmg = append(dmg, td...)
	}
	if logs {
		vlogs, mems, err := logFiles(dir)
		if err != nil {
			return fmt.Errorf("store: %w", err)
		}
		check := mems
		if len(vlogs) > 0 {
			check = append(check, vlogs[len(vlogs)-1])
		}
		for _, name := range check {
			d, err := checkLog(dir, name, true)
			if err != nil {
				return fmt.Errorf("store: %w", err)
			}
			if d != nil {
				dmg = append(dmg, *d)
			}
		}
	}
	if len(dmg) > 0 {
		return &DamageError{Dir: dir, Damage: dmg}
	}
	return nil
}

// CheckFiles checks every file of the store in dir against its checksums
// without opening it: the MANIFEST, every table (.sst, every block and its
// index), every value log (.vlog, every entry) and memtable log (.mem).
// Unlike Open, it decompresses every table to check it, whatever
// tables.crc says. It reports each damaged file; a torn tail a killed writer left at the end
// of the last value log or a memtable log is not damage.
func CheckFiles(ctx context.Context, dir string) ([]Damage, error) {
	if _, err := os.Stat(filepath.Join(dir, badger.ManifestFilename)); err != nil {
		return nil, fmt.Errorf("%w: no store in %s", ErrNotFound, dir)
	}
	var dmg []Damage
	m, d, err := manifest(dir)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if d != nil {
		dmg = append(dmg, *d)
	}
	td, err := checkTables(ctx, dir, m, true)
	if err != nil {
		return nil, err
	}
	dmg = append(dmg, td...)
	vlogs, mems, err := logFiles(dir)
	if err != nil {
		return nil, err
	}
	for i, name := range vlogs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		d, err := checkLog(dir, name, i == len(vlogs)-1)
		if err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		if d != nil {
			dmg = append(dmg, *d)
		}
	}
	for _, name := range mems {
		d, err := checkLog(dir, name, true)
		if err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		if d != nil {
			dmg = append(dmg, *d)
		}
	}
	return dmg, nil
}

// tablesFile remembers, per table, its size and the CRC-32C of its bytes
// when it last passed a full check (Badger's block checksums cover the
// decompressed blocks, so a full check decompresses the whole table, about
// 50 ms per MB; the CRC of the raw file takes about 1 ms). Tables never
// change once written, so a table whose raw CRC still matches is the table
// that passed; any other is checked in full. Lines: "NAME SIZE CRC".
const tablesFile = "tables.crc"

type tableSum struct {
	size int64
	crc  uint32
}

func readTableSums(dir string) map[string]tableSum {
	sums := map[string]tableSum{}
	b, err := os.ReadFile(filepath.Join(dir, tablesFile))
	if err != nil {
		return sums
	}
	for _, line := range strings.Split(string(b), "\n") {
		var name string
		var t tableSum
		if _, err := fmt.Sscanf(line, "%s %d %x", &name, &t.size, &t.crc); err == nil {
			sums[name] = t
		}
	}
	return sums
}

// writeTableSums replaces tables.crc; a store on a read-only file system
// keeps checking its tables in full.
func writeTableSums(dir string, sums map[string]tableSum) {
	names := make([]string, 0, len(sums))
	for n := range sums {
		names = append(names, n)
	}
	slices.Sort(names)
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "%s %d %08x\n", n, sums[n].size, sums[n].crc)
	}
	tmp := filepath.Join(dir, tablesFile+".tmp")
	if err := os.WriteFile(tmp, []byte(b.String()), 0o644); err != nil {
		return
	}
	if os.Rename(tmp, filepath.Join(dir, tablesFile)) != nil {
		os.Remove(tmp) //nolint:errcheck // best effort, as the function: a stale .tmp is rewritten next time
	}
}

func fileCRC(path string) (int64, uint32, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close() //nolint:errcheck // opened read-only: Close cannot lose data
	h := crc32.New(castagnoli)
	n, err := io.Copy(h, f)
	return n, h.Sum32(), err
}

// checkTables checks every table the manifest lists (with a damaged
// manifest, every table in dir, as ZSTD-compressed ones).
func checkTables(ctx context.Context, dir string, m badger.Manifest, full bool) ([]Damage, error) {
	ssts, err := filepath.Glob(filepath.Join(dir, "*.sst"))
	if err != nil {
		return nil, err
	}
	slices.Sort(ssts)
	known := readTableSums(dir)
	sums := map[string]tableSum{}
	var dmg []Damage
	for _, p := range ssts {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		name := filepath.Base(p)
		id, ok := table.ParseFileID(name)
		tm, listed := m.Tables[id]
		if !ok || !listed && m.Tables != nil {
			continue // not part of the store (Badger removes unlisted tables)
		}
		if !listed {
			tm.Compression = options.ZSTD
		}
		size, crc, err := fileCRC(p)
		if err != nil {
			dmg = append(dmg, Damage{name, -1, err.Error()})
			continue
		}
		if k, ok := known[name]; ok && k == (tableSum{size, crc}) && !full {
			sums[name] = k
			continue
		}
		if err := checkTable(p, tm.Compression); err != nil {
			dmg = append(dmg, Damage{name, -1, err.Error()})
			continue
		}
		sums[name] = tableSum{size, crc}
	}
	if len(dmg) == 0 && !maps.Equal(sums, known) {
		writeTableSums(dir, sums)
	}
	return dmg, nil
}

// checkTable opens one table read-only and verifies every block's checksum
// and its index's.
func checkTable(path string, c options.CompressionType) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("unreadable: %v", r)
		}
	}()
	mf, err := z.OpenMmapFile(path, os.O_RDONLY, 0)
	if err != nil && !errors.Is(err, z.NewFile) {
		return err
	}
	// OnBlockRead: every block read checks its checksum. (OnTableRead
	// would too, but Badger's Table.VerifyChecksum dereferences a nil
	// block when a damaged one fails to decompress.)
	t, err := table.OpenTable(mf, table.Options{
		ReadOnly:    true,
		ChkMode:     options.OnBlockRead,
		Compression: c,
		BlockSize:   16 << 10,
	})
	if err != nil {
		return errors.New(strings.ReplaceAll(err.Error(), "\n", " "))
	}
	defer t.DecrRef() //nolint:errcheck // a table opened read-only: releasing it cannot lose data
	defer func() {
		if r := recover(); r != nil {
			// Badger's VerifyChecksum dereferences the nil block it got
			// with the error.
			err = errors.New("a block fails its checksum or does not decompress")
		}
	}()
	if err := t.VerifyChecksum(); err != nil {
		return errors.New(strings.ReplaceAll(err.Error(), "\n", " "))
	}
	return nil
}

// isChecksumErr tells Badger's checksum failures from other errors.
func isChecksumErr(err error) bool {
	if err == nil {
		return false
	}
	msg := strings.ToLower(err.Error())
	return strings.Contains(msg, "checksum")
}

// Salvage describes what still reads back from a damaged store.
type Salvage struct {
	Network     string  `json:"network"`
	StartHeight int32   `json:"start_height"`
	Height      int32   `json:"height"`
	Bad         []int32 `json:"bad_heights"` // the first 100 heights whose records do not read back
	BadCount    int     `json:"bad_count"`
}

// SalvageStore opens the damaged store in dir read-only, without the checks
// Open makes, and reads back every block record and transaction record by
// key, each read checked by Badger's block and value checksums: the
// heights it lists must be re-ingested. It never writes. A store whose
// damage keeps Badger from opening it at all is an error.
func SalvageStore(ctx context.Context, dir string) (r Salvage, err error) {
	s, err := open(dir, Options{ReadOnly: true}, false)
	if err != nil {
		return r, err
	}
	defer func() { err = errors.Join(err, s.Close()) }()
	st := s.State()
	r.Network, r.StartHeight, r.Height = st.Network, st.StartHeight, st.Height
	for h := st.StartHeight; h <= st.Height && !st.Empty(); h++ {
		if err := ctx.Err(); err != nil {
			return r, err
		}
		if !s.heightReads(h) {
			if r.BadCount++; len(r.Bad) < 100 {
				r.Bad = append(r.Bad, h)
			}
		}
	}
	return r, nil
}

// heightReads reads block h's record and its transactions'.
func (s *Store) heightReads(h int32) (ok bool) {
	defer func() {
		if recover() != nil { // Badger decoding a damaged block
			ok = false
		}
	}()
	b, err := s.BlockByHeight(h)
	if err != nil {
		return false
	}
	for n := b.FirstTx; n < b.FirstTx+TxNum(b.NumTx); n++ {
		if _, err := s.TxByNum(n); err != nil {
			return false
		}
	}
	return true
}
