package blockfile

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
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

func TestScan(t *testing.T) {
	rec := genesisRecord(t)
	two := append(append([]byte(nil), rec...), rec...)
	tests := []struct {
		name    string
		data    []byte
		records int
		err     error
	}{
		{"one block", rec, 1, nil},
		{"zero padding", append(append([]byte(nil), two...), make([]byte, 1000)...), 2, nil},
		{"empty file", nil, 0, nil},
		{"truncated block", two[:len(two)-5], 0, ErrTruncated},
		{"wrong magic", append([]byte{1, 2, 3, 4}, rec[4:]...), 0, ErrBadMagic},
		{"tiny length", append(append([]byte(nil), rec[:4]...), 10, 0, 0, 0), 0, ErrBadLength},
		{"huge length", append(append([]byte(nil), rec[:4]...), 0xff, 0xff, 0xff, 0x7f), 0, ErrBadLength},
		{"trailing partial header", append(append([]byte(nil), rec...), 0xf9, 0xbe), 1, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := writeFile(t, t.TempDir(), "bootstrap.dat", tc.data)
			s, err := Open(p)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
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
			if len(recs) != tc.records {
				t.Fatalf("%d records, want %d", len(recs), tc.records)
			}
			for _, r := range recs {
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
