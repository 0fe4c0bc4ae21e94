package blockfile

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/wire"
)

// genesisRecord is mainnet's genesis block in blk-file framing.
func genesisRecord(t testing.TB) []byte {
	var buf bytes.Buffer
	if err := chaincfg.MainNetParams.GenesisBlock.Serialize(&buf); err != nil {
		t.Fatal(err)
	}
	var hdr [8]byte
	binary.LittleEndian.PutUint32(hdr[:], uint32(wire.MainNet))
	binary.LittleEndian.PutUint32(hdr[4:], uint32(buf.Len()))
	return append(hdr[:], buf.Bytes()...)
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func scanAll(s *Source) ([]Record, error) {
	var recs []Record
	err := s.Scan(context.Background(), func(r Record, hdr []byte) error {
		recs = append(recs, r)
		return nil
	})
	return recs, err
}

// genesisRaw is mainnet's genesis block, serialized.
func genesisRaw(t testing.TB) []byte { return genesisRecord(t)[8:] }

func gz(t testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestScan(t *testing.T) {
	rec := genesisRecord(t)
	raw := genesisRaw(t)
	two := append(append([]byte(nil), rec...), rec...)
	cat := func(bs ...[]byte) []byte { return bytes.Join(bs, nil) }
	hexText := []byte(hex.EncodeToString(raw) + "\n")
	tests := []struct {
		name    string
		file    string // default bootstrap.dat
		data    []byte
		format  Format
		format2 Format // the detected format
		records int
		tails   int
		openErr error
		err     error
	}{
		{name: "one block", data: rec, records: 1},
		{name: "zero padding", data: cat(two, make([]byte, 1000)), records: 2},
		{name: "empty file", data: nil},
		{name: "all zeros", data: make([]byte, 1<<20)},
		{name: "all zeros blk", file: "blk00000.dat", data: make([]byte, 1<<16)},
		{name: "truncated block", data: two[:len(two)-5], records: 1, tails: 1},
		{name: "truncated first block", data: rec[:len(rec)-5], tails: 1},
		{name: "trailing partial header", data: cat(rec, []byte{0xf9, 0xbe}), records: 1, tails: 1},
		{name: "wrong magic", data: append([]byte{1, 2, 3, 4}, rec[4:]...), openErr: ErrNotBlocks},
		{name: "wrong magic blk", file: "blk00000.dat", data: append([]byte{1, 2, 3, 4}, rec[4:]...), err: ErrBadMagic},
		{name: "text", data: []byte("address,label\n1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa,genesis\n"), openErr: ErrNotBlocks},
		{name: "garbage", data: bytes.Repeat([]byte{0xde, 0xad, 0xbe, 0xef, 0x00, 0x01}, 100), openErr: ErrNotBlocks},
		{name: "tiny length", data: cat(rec[:4], []byte{10, 0, 0, 0}), err: ErrBadLength},
		{name: "huge length", data: cat(rec[:4], []byte{0xff, 0xff, 0xff, 0x7f}), err: ErrBadLength},
		{name: "raw", file: "b.bin", data: raw, format2: FormatRaw, records: 1},
		{name: "raw two", file: "b.bin", data: cat(raw, raw), format2: FormatRaw, records: 2},
		{name: "raw truncated", file: "b.bin", data: cat(raw, raw[:100]), format2: FormatRaw, records: 1, tails: 1},
		{name: "raw forced", file: "b", data: raw, format: FormatRaw, format2: FormatRaw, records: 1},
		{name: "raw forced on text", file: "b", data: []byte("hello"), format: FormatRaw, format2: FormatRaw, tails: 1},
		{name: "hex", file: "b.hex", data: hexText, format2: FormatRaw, records: 1},
		{name: "hex uppercase two lines", file: "b.hex", data: []byte(strings.ToUpper(string(hexText)) + string(hexText)), format2: FormatRaw, records: 2},
		{name: "hex of framed", file: "b.hex", data: []byte(hex.EncodeToString(two)), format2: FormatFramed, records: 2},
		{name: "hex truncated", file: "b.hex", data: hexText[:200], format2: FormatRaw, tails: 1},
		{name: "hex odd", file: "b.hex", data: hexText[:201], openErr: ErrNotBlocks},
		{name: "hex bad char", file: "b.hex", data: append(append([]byte(nil), hexText[:300]...), 'x'), openErr: ErrNotBlocks},
		{name: "hex forced on binary", file: "b", data: raw, format: FormatHex, openErr: ErrNotBlocks},
		{name: "gz", file: "b.dat.gz", data: gz(t, two), records: 2},
		{name: "gz empty", file: "b.dat.gz", data: gz(t, nil)},
		{name: "gz zeros", file: "b.dat.gz", data: gz(t, make([]byte, 4096))},
		{name: "gz raw", file: "b.bin.gz", data: gz(t, raw), format2: FormatRaw, records: 1},
		{name: "gz cut", file: "b.dat.gz", data: gz(t, two)[:len(gz(t, two))-12], records: 2, tails: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			name := tc.file
			if name == "" {
				name = "bootstrap.dat"
			}
			p := writeFile(t, t.TempDir(), name, tc.data)
			s, err := OpenWith(Options{Format: tc.format}, p)
			if !errors.Is(err, tc.openErr) {
				t.Fatalf("open: %v, want %v", err, tc.openErr)
			}
			if tc.openErr != nil {
				if !strings.Contains(err.Error(), p) {
					t.Fatalf("error %v does not name the file", err)
				}
				return
			}
			defer s.Close()
			want := tc.format2
			if want == FormatAuto {
				want = FormatFramed
			}
			if got := s.Files[0].Format; got != want {
				t.Errorf("format %v, want %v", got, want)
			}
			recs, err := scanAll(s)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if tc.err != nil {
				var fe *Error
				if !errors.As(err, &fe) || fe.File != p {
					t.Fatalf("error %v does not name the file", err)
				}
				return
			}
			if len(recs) != tc.records || len(s.Tails) != tc.tails {
				t.Fatalf("%d records and tails %v, want %d and %d", len(recs), s.Tails, tc.records, tc.tails)
			}
			for _, tl := range s.Tails {
				if tl.File != p || tl.Reason == "" {
					t.Errorf("tail %+v", tl)
				}
			}
			for _, r := range recs {
				if r.Magic != wire.MainNet {
					t.Errorf("magic %v", r.Magic)
				}
				raw, err := s.ReadBlock(r, nil)
				if err != nil {
					t.Fatal(err)
				}
				var b wire.MsgBlock
				if err := b.Deserialize(bytes.NewReader(raw)); err != nil || b.BlockHash() != *chaincfg.MainNetParams.GenesisHash {
					t.Fatalf("block: %v %s", err, b.BlockHash())
				}
			}
		})
	}
}

// TestRawNetwork: raw blocks carry no magic; regtest's difficulty bits say
// regtest, RawNet overrides.
func TestRawNetwork(t *testing.T) {
	var buf bytes.Buffer
	if err := chaincfg.RegressionNetParams.GenesisBlock.Serialize(&buf); err != nil {
		t.Fatal(err)
	}
	p := writeFile(t, t.TempDir(), "r.bin", buf.Bytes())
	for _, tc := range []struct {
		net, want wire.BitcoinNet
	}{{0, wire.TestNet}, {wire.TestNet3, wire.TestNet3}} {
		s, err := OpenWith(Options{RawNet: tc.net}, p)
		if err != nil {
			t.Fatal(err)
		}
		recs, err := scanAll(s)
		s.Close()
		if err != nil || len(recs) != 1 || recs[0].Magic != tc.want {
			t.Fatalf("RawNet %v: %+v %v", tc.net, recs, err)
		}
	}
}

func TestOpenMissing(t *testing.T) {
	_, err := Open(filepath.Join(t.TempDir(), "nonexistent"))
	if !errors.Is(err, ErrNoFiles) || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("missing path: %v", err)
	}
}

func TestXORDirectory(t *testing.T) {
	dir := t.TempDir()
	key := [8]byte{0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4}
	rec := genesisRecord(t)
	data := append(append(append([]byte(nil), rec...), rec...), make([]byte, 64)...)
	for i := range data {
		data[i] ^= key[i%8]
	}
	writeFile(t, dir, "blk00001.dat", data)
	writeFile(t, dir, "blk00000.dat", data)
	writeFile(t, dir, "rev00000.dat", []byte("not a block file"))
	writeFile(t, dir, "xor.dat", key[:])
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if len(s.Files) != 2 || filepath.Base(s.Files[0].Path) != "blk00000.dat" {
		t.Fatalf("files %+v", s.Files)
	}
	recs, err := scanAll(s)
	if err != nil || len(recs) != 4 {
		t.Fatalf("%d records, %v", len(recs), err)
	}
	// An all-zero key means no obfuscation.
	dir2 := t.TempDir()
	writeFile(t, dir2, "blk00000.dat", rec)
	writeFile(t, dir2, "xor.dat", make([]byte, 8))
	s2, err := Open(dir2)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if recs, err := scanAll(s2); err != nil || len(recs) != 1 {
		t.Fatalf("zero key: %d records, %v", len(recs), err)
	}
	// A key of the wrong size is an error naming the file.
	dir3 := t.TempDir()
	writeFile(t, dir3, "blk00000.dat", rec)
	writeFile(t, dir3, "xor.dat", []byte{1, 2, 3})
	if _, err := Open(dir3); !errors.Is(err, ErrBadXORKey) {
		t.Fatalf("short key: %v", err)
	}
	if _, err := Open(t.TempDir()); !errors.Is(err, ErrNoFiles) {
		t.Fatalf("empty dir: %v", err)
	}
}

// FuzzScan feeds arbitrary bytes as a block file: the reader must return
// records inside the file or an error, never panic or over-read.
func FuzzScan(f *testing.F) {
	rec := genesisRecord(f)
	f.Add(rec)
	f.Add(append(append([]byte(nil), rec...), rec[:50]...))
	f.Add(rec[:20])
	f.Add([]byte{0xf9, 0xbe, 0xb4, 0xd9, 0xff, 0xff, 0xff, 0xff})
	f.Add(make([]byte, 64))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "fuzz.dat")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := Open(p)
		if err != nil {
			return
		}
		defer s.Close()
		_ = s.Scan(context.Background(), func(r Record, hdr []byte) error {
			if len(hdr) != HeaderSize || r.Offset+int64(r.Len) > int64(len(data)) {
				t.Fatalf("record %+v outside a %d-byte file", r, len(data))
			}
			if _, err := s.ReadBlock(r, nil); err != nil {
				t.Fatalf("ReadBlock of a scanned record: %v", err)
			}
			return nil
		})
	})
}
