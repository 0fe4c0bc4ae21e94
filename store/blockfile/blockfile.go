package blockfile

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"unicode"
	"unicode/utf8"

	"github.com/btcsuite/btcd/blockchain"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/wire"
	"github.com/tracer-oss/tracer/store/network"
)

var (
	// ErrBadMagic is a record that starts with no known network magic.
	ErrBadMagic = errors.New("blockfile: bad network magic")
	// ErrTruncated is a record whose length runs past the end of its file.
	ErrTruncated = errors.New("blockfile: truncated record")
	// ErrBadLength is a record length too small or too large for a block.
	ErrBadLength = errors.New("blockfile: bad record length")
	// ErrMixedNetworks is a set of files holding blocks of two networks.
	ErrMixedNetworks = errors.New("blockfile: blocks of different networks")
	// ErrNoFiles is a directory without blk*.dat files.
	ErrNoFiles = errors.New("blockfile: no block files")
	// ErrBadXORKey is an xor.dat that is not 8 bytes long.
	ErrBadXORKey = errors.New("blockfile: xor.dat must hold 8 bytes")
	// ErrNotBlocks is a file in none of the block formats: not Core's
	// framing, nor raw or hex-encoded serialized blocks.
	ErrNotBlocks = errors.New("blockfile: not a block file")
)

// Format is how a file holds blocks.
type Format int

const (
	// FormatAuto detects the format of each file (blk*.dat files are
	// always framed).
	FormatAuto Format = iota
	// FormatFramed is Bitcoin Core's: network magic, length, block.
	FormatFramed
	// FormatRaw is serialized blocks back to back, without magic or
	// length, as block explorers export them (.bin).
	FormatRaw
	// FormatHex is raw blocks (or framed records) as hex text (.hex).
	FormatHex
)

// ParseFormat reads a --format value: auto, blk (or framed), raw, hex.
func ParseFormat(s string) (Format, error) {
	switch s {
	case "", "auto":
		return FormatAuto, nil
	case "blk", "framed", "dat":
		return FormatFramed, nil
	case "raw", "bin":
		return FormatRaw, nil
	case "hex":
		return FormatHex, nil
	}
	return 0, fmt.Errorf("blockfile: unknown format %q (auto, blk, raw or hex)", s)
}

func (f Format) String() string {
	switch f {
	case FormatFramed:
		return "blk"
	case FormatRaw:
		return "raw"
	case FormatHex:
		return "hex"
	}
	return "auto"
}

// Options say how Open reads files.
type Options struct {
	Format Format
	// RawNet is the network of raw blocks, which carry no magic. 0: regtest
	// for a block with regtest's difficulty bits, else mainnet.
	RawNet wire.BitcoinNet
}

// Tail is the incomplete end of a file: a record cut short, as a node
// killed while writing a block leaves it. The complete records before it
// are read; the tail is reported, not read.
type Tail struct {
	File   string `json:"file"`
	Offset int64  `json:"offset"` // where the incomplete record starts
	Bytes  int64  `json:"bytes"`  // bytes present from Offset
	Want   int64  `json:"want"`   // bytes the record needs; 0: unknown
	Reason string `json:"reason"`
}

func (t Tail) String() string {
	return fmt.Sprintf("%s at byte %d: %s", t.File, t.Offset, t.Reason)
}

// Error is a problem at a place in a block file.
type Error struct {
	File   string
	Offset int64
	Err    error
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s at byte %d: %v", e.File, e.Offset, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// HeaderSize is the size of a serialized block header.
const HeaderSize = 80

// maxBlockLen bounds a record's length; a larger one is corruption.
const maxBlockLen = wire.MaxBlockPayload

// Record locates one block in a Source.
type Record struct {
	File   int    // index into Source.Files
	Offset int64  // offset of the serialized block (after magic and length)
	Len    uint32 // length of the serialized block
	Magic  wire.BitcoinNet
}

// File is one file of a Source.
type File struct {
	Path string
	Size int64
	r    io.ReaderAt
	c    io.Closer
	xor  bool // apply the source's XOR key
	// Format is FormatFramed or FormatRaw once opened (hex is decoded).
	Format Format
	cut    string // a compressed stream that ended early: why
}

// Source is a set of block files read as one stream, in file order.
type Source struct {
	Files []File
	Key   [8]byte // XOR key; all zero means none
	// Tails are the incomplete ends of files found by Scan.
	Tails []Tail
	opt   Options
}

var blkName = regexp.MustCompile(`^blk(\d+)\.dat$`)

// Open opens each path: a directory (its blk*.dat files in number order,
// with its xor.dat) or a single file. Compressed files (.bz2, .gz) are read
// into memory.
func Open(paths ...string) (*Source, error) {
	return OpenWith(Options{}, paths...)
}

// OpenWith is Open with options: the format of the files and the network
// of raw blocks.
func OpenWith(opt Options, paths ...string) (*Source, error) {
	s := &Source{opt: opt}
	for _, p := range paths {
		if err := s.add(p); err != nil {
			s.Close() //nolint:errcheck // block files are opened read-only
			return nil, err
		}
	}
	if len(s.Files) == 0 {
		return nil, fmt.Errorf("%w in %v", ErrNoFiles, paths)
	}
	return s, nil
}

func (s *Source) add(path string) error {
	info, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%w: %s does not exist", ErrNoFiles, path)
	}
	if err != nil {
		return fmt.Errorf("blockfile: %w", err)
	}
	if !info.IsDir() {
		useXOR := false
		if blkName.MatchString(filepath.Base(path)) {
			ok, err := s.loadKey(filepath.Join(filepath.Dir(path), "xor.dat"))
			if err != nil {
				return err
			}
			useXOR = ok
		}
		return s.addFile(path, useXOR)
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return fmt.Errorf("blockfile: %w", err)
	}
	type numbered struct {
		n    int
		name string
	}
	var files []numbered
	for _, e := range entries {
		m := blkName.FindStringSubmatch(e.Name())
		if m == nil || e.IsDir() {
			continue
		}
		n, _ := strconv.Atoi(m[1])
		files = append(files, numbered{n, e.Name()})
	}
	if len(files) == 0 {
		return fmt.Errorf("%w: no blk*.dat in %s", ErrNoFiles, path)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].n < files[j].n })
	useXOR, err := s.loadKey(filepath.Join(path, "xor.dat"))
	if err != nil {
		return err
	}
	for _, f := range files {
		if err := s.addFile(filepath.Join(path, f.name), useXOR); err != nil {
			return err
		}
	}
	return nil
}

// loadKey reads an xor.dat if present. It reports whether a non-zero key applies.
func (s *Source) loadKey(path string) (bool, error) {
	key, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("blockfile: %w", err)
	}
	if len(key) != 8 {
		return false, &Error{File: path, Err: fmt.Errorf("%w, has %d", ErrBadXORKey, len(key))}
	}
	var k [8]byte
	copy(k[:], key)
	if k == ([8]byte{}) {
		return false, nil
	}
	if s.Key != ([8]byte{}) && s.Key != k {
		return false, &Error{File: path, Err: errors.New("blockfile: a second, different xor.dat")}
	}
	s.Key = k
	return true, nil
}

func (s *Source) addFile(path string, useXOR bool) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("blockfile: %w", err)
	}
	var magic [3]byte
	n, _ := io.ReadFull(f, magic[:])
	var dec io.Reader
	switch {
	case n >= 3 && string(magic[:3]) == "BZh":
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			f.Close() //nolint:errcheck // block files are opened read-only
			return err
		}
		dec = bzip2.NewReader(f)
	case n >= 2 && magic[0] == 0x1f && magic[1] == 0x8b:
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			f.Close() //nolint:errcheck // block files are opened read-only
			return err
		}
		gz, err := gzip.NewReader(f)
		if err != nil {
			f.Close() //nolint:errcheck // block files are opened read-only
			return &Error{File: path, Err: fmt.Errorf("%w: gzip: %v", ErrNotBlocks, err)}
		}
		dec = gz
	}
	file := File{Path: path, xor: useXOR}
	if dec != nil {
		data, err := io.ReadAll(dec)
		f.Close() //nolint:errcheck // block files are opened read-only
		if err != nil {
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				return &Error{File: path, Err: fmt.Errorf("decompress: %w", err)}
			}
			// A cut compressed file: read what it holds, report the rest.
			file.cut = "the compressed data ends early (" + err.Error() + ")"
		}
		file.Size, file.r = int64(len(data)), bytes.NewReader(data)
	} else {
		info, err := f.Stat()
		if err != nil {
			f.Close() //nolint:errcheck // block files are opened read-only
			return err
		}
		file.Size, file.r, file.c = info.Size(), f, f
	}
	format := s.opt.Format
	if format == FormatAuto && blkName.MatchString(filepath.Base(path)) {
		format = FormatFramed // Core's own files (perhaps obfuscated)
	}
	if format != FormatFramed {
		if format, err = s.detect(&file, format); err != nil {
			if file.c != nil {
				file.c.Close() //nolint:errcheck // block files are opened read-only
			}
			return err
		}
	}
	file.Format = format
	s.Files = append(s.Files, file)
	return nil
}

// detect returns the format of f (want is FormatAuto, FormatRaw or
// FormatHex), decoding hex text into memory.
func (s *Source) detect(f *File, want Format) (Format, error) {
	head := make([]byte, min(f.Size, 512))
	if _, err := f.r.ReadAt(head, 0); err != nil && !errors.Is(err, io.EOF) {
		return 0, &Error{File: f.Path, Err: err}
	}
	if want == FormatAuto && (len(head) < 4 || framedMagic(head)) {
		return FormatFramed, nil // framed, empty or Core's zero preallocation
	}
	if want == FormatHex || (want == FormatAuto && isHexText(head)) {
		text := make([]byte, f.Size)
		if _, err := f.r.ReadAt(text, 0); err != nil && !errors.Is(err, io.EOF) {
			return 0, &Error{File: f.Path, Err: err}
		}
		data, off, err := decodeHex(text)
		if err != nil {
			return 0, &Error{File: f.Path, Offset: off, Err: fmt.Errorf("%w: hex text: %v", ErrNotBlocks, err)}
		}
		if f.c != nil {
			f.c.Close() //nolint:errcheck // block files are opened read-only
			f.c = nil
		}
		f.r, f.Size = bytes.NewReader(data), int64(len(data))
		if len(data) == 0 || len(data) >= 4 && framedMagic(data) {
			return FormatFramed, nil
		}
		if !rawHeader(data[:min(len(data), HeaderSize)]) {
			return 0, &Error{File: f.Path, Err: fmt.Errorf("%w: hex text that decodes to no block (%s)", ErrNotBlocks, describe(data[:min(len(data), 512)]))}
		}
		return FormatRaw, nil
	}
	if want == FormatRaw || rawHeader(head) {
		return FormatRaw, nil
	}
	return 0, &Error{File: f.Path, Err: fmt.Errorf("%w: %s", ErrNotBlocks, describe(head))}
}

// framedMagic reports whether b starts with a known network's magic or
// with zeros (Core's preallocation).
func framedMagic(b []byte) bool {
	m := wire.BitcoinNet(binary.LittleEndian.Uint32(b))
	_, ok := network.ByMagic(m)
	return ok || m == 0
}

func isHexText(b []byte) bool {
	digits := 0
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f', c >= 'A' && c <= 'F':
			digits++
		case c == ' ', c == '\n', c == '\r', c == '\t':
		default:
			return false
		}
	}
	return digits >= 2*HeaderSize || digits == len(b) && digits > 0
}

// decodeHex decodes hex text, skipping white space; on error it returns
// the offset of the bad character.
func decodeHex(text []byte) ([]byte, int64, error) {
	out := make([]byte, 0, len(text)/2)
	var hi byte
	half := false
	for i, c := range text {
		var v byte
		switch {
		case c >= '0' && c <= '9':
			v = c - '0'
		case c >= 'a' && c <= 'f':
			v = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			v = c - 'A' + 10
		case c == ' ', c == '\n', c == '\r', c == '\t':
			continue
		default:
			return nil, int64(i), fmt.Errorf("byte %q is not a hex digit", c)
		}
		if half {
			out = append(out, hi<<4|v)
		} else {
			hi = v
		}
		half = !half
	}
	if half {
		return nil, int64(len(text)), errors.New("an odd number of hex digits")
	}
	return out, 0, nil
}

// rawHeader reports whether b starts with a block header whose hash meets
// its own difficulty target, within the easiest network's (regtest) limit:
// what a serialized block starts with, and what no other file does by chance.
func rawHeader(b []byte) bool {
	if len(b) < HeaderSize {
		return false
	}
	var h wire.BlockHeader
	if err := h.Deserialize(bytes.NewReader(b[:HeaderSize])); err != nil {
		return false
	}
	target := blockchain.CompactToBig(h.Bits)
	if target.Sign() <= 0 || target.Cmp(chaincfg.RegressionNetParams.PowLimit) > 0 {
		return false
	}
	hash := h.BlockHash()
	return blockchain.HashToBig(&hash).Cmp(target) <= 0
}

// describe says what a file that holds no blocks starts with.
func describe(head []byte) string {
	if len(head) > 0 && utf8.Valid(head) {
		printable := true
		for _, r := range string(head) {
			if !unicode.IsPrint(r) && !unicode.IsSpace(r) {
				printable = false
				break
			}
		}
		if printable {
			t := string(head)
			if len(t) > 40 {
				t = t[:40] + "…"
			}
			return fmt.Sprintf("it is text (%q), not blocks in Core's blk*.dat framing, raw or hex", t)
		}
	}
	return fmt.Sprintf("it starts with bytes % x: no network magic (Core's blk*.dat framing) and no block header (a raw block)", head[:min(len(head), 8)])
}

// Close closes the files.
func (s *Source) Close() error {
	var first error
	for _, f := range s.Files {
		if f.c != nil {
			if err := f.c.Close(); err != nil && first == nil {
				first = err
			}
		}
	}
	return first
}

// ReadAt reads len(p) bytes of file i at off, de-obfuscated.
func (s *Source) ReadAt(i int, p []byte, off int64) error {
	f := &s.Files[i]
	if _, err := f.r.ReadAt(p, off); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return &Error{File: f.Path, Offset: off, Err: err}
	}
	if f.xor {
		for j := range p {
			p[j] ^= s.Key[(off+int64(j))%8]
		}
	}
	return nil
}

// Scan walks every record of every file in order and calls fn with the
// record and its 80-byte block header (valid only during the call). A zero
// magic ends a file (Core's preallocation); a record cut short by the end
// of its file ends it too and is kept in s.Tails. Unknown magic or a bad
// length stops the scan with an *Error. Network magics are those of known
// networks; all records must share one. Raw files' records carry the
// magic of Options.RawNet.
func (s *Source) Scan(ctx context.Context, fn func(rec Record, header []byte) error) error {
	s.Tails = nil
	var buf [8 + HeaderSize]byte
	var net wire.BitcoinNet
	check := func(f *File, off int64, magic wire.BitcoinNet) error {
		if _, ok := network.ByMagic(magic); !ok {
			return &Error{File: f.Path, Offset: off, Err: fmt.Errorf("%w %#08x", ErrBadMagic, uint32(magic))}
		}
		if net == 0 {
			net = magic
		} else if magic != net {
			return &Error{File: f.Path, Offset: off, Err: fmt.Errorf("%w: %#08x then %#08x", ErrMixedNetworks, uint32(net), uint32(magic))}
		}
		return nil
	}
	for i := range s.Files {
		f := &s.Files[i]
		tails := len(s.Tails)
		if f.Format == FormatRaw {
			if err := s.scanRaw(ctx, i, check, fn); err != nil {
				return err
			}
		} else {
			off := int64(0)
			for ; off+8 <= f.Size; off += 8 + int64(binary.LittleEndian.Uint32(buf[4:8])) {
				if err := ctx.Err(); err != nil {
					return err
				}
				if err := s.ReadAt(i, buf[:8], off); err != nil {
					return err
				}
				magic := wire.BitcoinNet(binary.LittleEndian.Uint32(buf[:4]))
				if magic == 0 {
					off = f.Size // preallocated zero padding
					break
				}
				if err := check(f, off, magic); err != nil {
					return err
				}
				n := binary.LittleEndian.Uint32(buf[4:8])
				if n < HeaderSize+1 || n > maxBlockLen {
					return &Error{File: f.Path, Offset: off + 4, Err: fmt.Errorf("%w %d", ErrBadLength, n)}
				}
				if off+8+int64(n) > f.Size {
					s.Tails = append(s.Tails, Tail{File: f.Path, Offset: off, Bytes: f.Size - off, Want: 8 + int64(n),
						Reason: fmt.Sprintf("a block of %d bytes cut short after %d (%s)", n, max(f.Size-off-8, 0), ErrTruncated)})
					off = f.Size
					break
				}
				if err := s.ReadAt(i, buf[8:], off+8); err != nil {
					return err
				}
				if err := fn(Record{File: i, Offset: off + 8, Len: n, Magic: magic}, buf[8:]); err != nil {
					return err
				}
			}
			if off < f.Size {
				// Fewer than 8 bytes left: a record header cut short,
				// unless they are zero padding.
				rest := buf[:f.Size-off]
				if err := s.ReadAt(i, rest, off); err != nil {
					return err
				}
				if !bytes.Equal(rest, make([]byte, len(rest))) {
					s.Tails = append(s.Tails, Tail{File: f.Path, Offset: off, Bytes: int64(len(rest)), Reason: "a record header cut short"})
				}
			}
		}
		if f.cut != "" && len(s.Tails) == tails {
			s.Tails = append(s.Tails, Tail{File: f.Path, Offset: f.Size, Reason: f.cut})
		}
	}
	return nil
}

// scanRaw walks the serialized blocks of raw file i. A block that does
// not decode to the end is the file's tail.
func (s *Source) scanRaw(ctx context.Context, i int, check func(*File, int64, wire.BitcoinNet) error, fn func(Record, []byte) error) error {
	f := &s.Files[i]
	for off := int64(0); off < f.Size; {
		if err := ctx.Err(); err != nil {
			return err
		}
		cr := &countReader{r: bufio.NewReaderSize(io.NewSectionReader(f.r, off, min(f.Size-off, maxBlockLen)), 64<<10)}
		var blk wire.MsgBlock
		if err := blk.Deserialize(cr); err != nil {
			reason := "an incomplete block"
			if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
				reason = "bytes that are not a block"
			}
			s.Tails = append(s.Tails, Tail{File: f.Path, Offset: off, Bytes: f.Size - off, Reason: fmt.Sprintf("%s (%v)", reason, err)})
			return nil
		}
		var hdr [HeaderSize]byte
		if err := s.ReadAt(i, hdr[:], off); err != nil {
			return err
		}
		if !rawHeader(hdr[:]) {
			s.Tails = append(s.Tails, Tail{File: f.Path, Offset: off, Bytes: f.Size - off, Reason: "bytes that are not a block (no valid block header)"})
			return nil
		}
		magic := s.opt.RawNet
		if magic == 0 {
			magic = wire.MainNet
			if blk.Header.Bits == chaincfg.RegressionNetParams.PowLimitBits {
				magic = wire.TestNet // regtest
			}
		}
		if err := check(f, off, magic); err != nil {
			return err
		}
		if err := fn(Record{File: i, Offset: off, Len: uint32(cr.n), Magic: magic}, hdr[:]); err != nil {
			return err
		}
		off += cr.n
	}
	return nil
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// ReadBlock reads a record's serialized block into buf (grown as needed).
func (s *Source) ReadBlock(rec Record, buf []byte) ([]byte, error) {
	if cap(buf) < int(rec.Len) {
		buf = make([]byte, rec.Len)
	}
	buf = buf[:rec.Len]
	return buf, s.ReadAt(rec.File, buf, rec.Offset)
}
