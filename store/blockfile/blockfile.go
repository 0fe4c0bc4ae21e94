package blockfile

import (
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
)

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
}

// Source is a set of block files read as one stream, in file order.
type Source struct {
	Files []File
	Key   [8]byte // XOR key; all zero means none
}

var blkName = regexp.MustCompile(`^blk(\d+)\.dat$`)

// Open opens each path: a directory (its blk*.dat files in number order,
// with its xor.dat) or a single file. Compressed files (.bz2, .gz) are read
// into memory.
func Open(paths ...string) (*Source, error) {
	s := &Source{}
	for _, p := range paths {
		if err := s.add(p); err != nil {
			s.Close()
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
			f.Close()
			return err
		}
		dec = bzip2.NewReader(f)
	case n >= 2 && magic[0] == 0x1f && magic[1] == 0x8b:
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			f.Close()
			return err
		}
		gz, err := gzip.NewReader(f)
		if err != nil {
			f.Close()
			return &Error{File: path, Err: err}
		}
		dec = gz
	}
	if dec != nil {
		data, err := io.ReadAll(dec)
		f.Close()
		if err != nil {
			return &Error{File: path, Err: fmt.Errorf("decompress: %w", err)}
		}
		s.Files = append(s.Files, File{Path: path, Size: int64(len(data)), r: bytes.NewReader(data), xor: useXOR})
		return nil
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	s.Files = append(s.Files, File{Path: path, Size: info.Size(), r: f, c: f, xor: useXOR})
	return nil
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
// magic ends a file (Core's preallocation); unknown magic, a bad length or a
// record past the end of its file stops the scan with an *Error. Network
// magics are those of known networks; all records must share one.
func (s *Source) Scan(ctx context.Context, fn func(rec Record, header []byte) error) error {
	var buf [8 + HeaderSize]byte
	var net wire.BitcoinNet
	for i := range s.Files {
		f := &s.Files[i]
		for off := int64(0); off+8 <= f.Size; {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := s.ReadAt(i, buf[:8], off); err != nil {
				return err
			}
			magic := wire.BitcoinNet(binary.LittleEndian.Uint32(buf[:4]))
			if magic == 0 {
				break // preallocated zero padding
			}
			if _, ok := network.ByMagic(magic); !ok {
				return &Error{File: f.Path, Offset: off, Err: fmt.Errorf("%w %#08x", ErrBadMagic, uint32(magic))}
			}
			if net == 0 {
				net = magic
			} else if magic != net {
				return &Error{File: f.Path, Offset: off, Err: fmt.Errorf("%w: %#08x then %#08x", ErrMixedNetworks, uint32(net), uint32(magic))}
			}
			n := binary.LittleEndian.Uint32(buf[4:8])
			if n < HeaderSize+1 || n > maxBlockLen {
				return &Error{File: f.Path, Offset: off + 4, Err: fmt.Errorf("%w %d", ErrBadLength, n)}
			}
			if off+8+int64(n) > f.Size {
				return &Error{File: f.Path, Offset: off, Err: fmt.Errorf("%w: block of %d bytes, file ends after %d", ErrTruncated, n, f.Size-off-8)}
			}
			if err := s.ReadAt(i, buf[8:], off+8); err != nil {
				return err
			}
			if err := fn(Record{File: i, Offset: off + 8, Len: n, Magic: magic}, buf[8:]); err != nil {
				return err
			}
			off += 8 + int64(n)
		}
	}
	return nil
}

// ReadBlock reads a record's serialized block into buf (grown as needed).
func (s *Source) ReadBlock(rec Record, buf []byte) ([]byte, error) {
	if cap(buf) < int(rec.Len) {
		buf = make([]byte, rec.Len)
	}
	buf = buf[:rec.Len]
	return buf, s.ReadAt(rec.File, buf, rec.Offset)
}
