package chaingen

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/tracer-oss/tracer/store/outdir"
)

// RegtestMagic is the network magic that precedes every record in regtest
// blk files (fa bf b5 da on disk).
var RegtestMagic = [4]byte{0xfa, 0xbf, 0xb5, 0xda}

// DefaultMaxFileSize is Bitcoin Core's blk file size limit (128 MiB).
const DefaultMaxFileSize = 128 << 20

// blockFiles writes records to blocks/blkNNNNN.dat as Core does, rolling over
// at maxSize and XOR-ing each byte with key[offset%8] when obfuscating.
type blockFiles struct {
	dir     string
	maxSize int64
	key     [8]byte
	xor     bool

	f     *os.File
	bw    *bufio.Writer
	num   int
	off   int64
	total int64
	files int
	buf   []byte
}

func newBlockFiles(dir string, maxSize int64, key *[8]byte) (*blockFiles, error) {
	bf := &blockFiles{dir: filepath.Join(dir, "blocks"), maxSize: maxSize, num: -1}
	if _, err := outdir.Mkdir(dir, "blocks"); err != nil {
		return nil, fmt.Errorf("create blocks dir: %w", err)
	}
	if err := outdir.CheckFile(filepath.Join(bf.dir, "xor.dat")); err != nil {
		return nil, err
	}
	if key != nil {
		bf.key, bf.xor = *key, true
		if err := os.WriteFile(filepath.Join(bf.dir, "xor.dat"), key[:], 0o644); err != nil {
			return nil, fmt.Errorf("write xor.dat: %w", err)
		}
	}
	return bf, nil
}

func (bf *blockFiles) roll() error {
	if err := bf.closeFile(); err != nil {
		return err
	}
	bf.num++
	name := filepath.Join(bf.dir, fmt.Sprintf("blk%05d.dat", bf.num))
	if err := outdir.CheckFile(name); err != nil {
		return err
	}
	f, err := os.Create(name)
	if err != nil {
		return fmt.Errorf("create %s: %w", name, err)
	}
	bf.f, bf.bw, bf.off = f, bufio.NewWriterSize(f, 1<<20), 0
	bf.files++
	return nil
}

// write appends one record: magic, little-endian length, the serialized block.
func (bf *blockFiles) write(raw []byte) error {
	rec := int64(8 + len(raw))
	if bf.f == nil || (bf.off > 0 && bf.off+rec > bf.maxSize) {
		if err := bf.roll(); err != nil {
			return err
		}
	}
	bf.buf = bf.buf[:0]
	bf.buf = append(bf.buf, RegtestMagic[:]...)
	bf.buf = binary.LittleEndian.AppendUint32(bf.buf, uint32(len(raw)))
	bf.buf = append(bf.buf, raw...)
	if bf.xor {
		for i := range bf.buf {
			bf.buf[i] ^= bf.key[(bf.off+int64(i))%8]
		}
	}
	if _, err := bf.bw.Write(bf.buf); err != nil {
		return fmt.Errorf("write blk%05d.dat: %w", bf.num, err)
	}
	bf.off += rec
	bf.total += rec
	return nil
}

func (bf *blockFiles) closeFile() error {
	if bf.f == nil {
		return nil
	}
	err := bf.bw.Flush()
	if cerr := bf.f.Close(); err == nil {
		err = cerr
	}
	bf.f = nil
	if err != nil {
		return fmt.Errorf("close blk%05d.dat: %w", bf.num, err)
	}
	return nil
}

// shuffler holds up to window records and writes them in a seeded random
// order, so children sometimes precede parents (as after Core's parallel
// block download). A window of 1 writes in order.
type shuffler struct {
	out    *blockFiles
	window int
	rng    *rand.Rand
	held   [][]byte
}

func (s *shuffler) add(raw []byte) error {
	s.held = append(s.held, raw)
	if len(s.held) >= s.window {
		return s.flush()
	}
	return nil
}

func (s *shuffler) flush() error {
	if s.window > 1 {
		s.rng.Shuffle(len(s.held), func(i, j int) { s.held[i], s.held[j] = s.held[j], s.held[i] })
	}
	for _, r := range s.held {
		if err := s.out.write(r); err != nil {
			return err
		}
	}
	s.held = s.held[:0]
	return nil
}
