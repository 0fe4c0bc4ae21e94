package flow

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
)

// sums.dat holds a CRC-32C of every 1 MiB chunk of each index file, so
// that Open finds any damaged byte before an answer uses it:
//
//	field                size
//	magic "TFS1"         4
//	per file, in names:  chunk count (8), then each chunk's CRC-32C (4)
//	CRC-32C of all above 4
//
// An update writes it (atomically, after syncing the files it covers)
// before it clears the header's dirty flag; flow.json carries a CRC of its
// own fields.
const (
	sumsName  = "sums.dat"
	sumChunk  = 1 << 20
	sumsMagic = "TFS1"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

type sums [5][]uint32

func readSums(dir string) (sums, error) {
	var s sums
	b, err := os.ReadFile(filepath.Join(dir, sumsName))
	if err != nil {
		return s, fmt.Errorf("%w: %s: %v", ErrCorrupt, sumsName, err)
	}
	if len(b) < 8 || string(b[:4]) != sumsMagic || crc32.Checksum(b[:len(b)-4], castagnoli) != binary.LittleEndian.Uint32(b[len(b)-4:]) {
		return s, fmt.Errorf("%w: %s fails its checksum", ErrCorrupt, sumsName)
	}
	r := b[4 : len(b)-4]
	for i := range s {
		if len(r) < 8 {
			return s, fmt.Errorf("%w: %s is cut short", ErrCorrupt, sumsName)
		}
		n := binary.LittleEndian.Uint64(r)
		r = r[8:]
		if n > uint64(len(r))/4 {
			return s, fmt.Errorf("%w: %s is cut short", ErrCorrupt, sumsName)
		}
		s[i] = make([]uint32, n)
		for j := range s[i] {
			s[i][j] = binary.LittleEndian.Uint32(r[4*j:])
		}
		r = r[4*n:]
	}
	return s, nil
}

func writeSums(dir string, s sums) error {
	b := []byte(sumsMagic)
	for _, f := range s {
		b = binary.LittleEndian.AppendUint64(b, uint64(len(f)))
		for _, c := range f {
			b = binary.LittleEndian.AppendUint32(b, c)
		}
	}
	b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
	tmp := filepath.Join(dir, sumsName+".tmp")
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("flow: %w", err)
	}
	if _, err = f.Write(b); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, sumsName))
	}
	if err != nil {
		return fmt.Errorf("flow: write %s: %w", sumsName, err)
	}
	return nil
}

// refresh returns the sums of the files as h describes them, reusing the
// old sums of chunks that lie wholly before from[i] and, for out.dat, are
// not in touched (chunks patched in place).
func (old sums) refresh(dir string, h *header, from [5]int64, touched map[int64]bool) (sums, error) {
	var s sums
	buf := make([]byte, sumChunk)
	for i, size := range h.sizes() {
		n := (size + sumChunk - 1) / sumChunk
		s[i] = make([]uint32, n)
		var f *os.File
		for c := int64(0); c < n; c++ {
			end := min((c+1)*sumChunk, size)
			if end <= from[i] && c < int64(len(old[i])) && (i != fOut || !touched[c]) {
				s[i][c] = old[i][c]
				continue
			}
			if f == nil {
				var err error
				if f, err = os.Open(filepath.Join(dir, names[i])); err != nil {
					return s, fmt.Errorf("flow: %w", err)
				}
				defer f.Close() //nolint:errcheck // opened read-only: Close cannot lose data
			}
			b := buf[:end-c*sumChunk]
			if _, err := f.ReadAt(b, c*sumChunk); err != nil && !errors.Is(err, io.EOF) {
				return s, fmt.Errorf("flow: read %s: %w", names[i], err)
			}
			s[i][c] = crc32.Checksum(b, castagnoli)
		}
	}
	return s, nil
}

// verifyFiles checks the index files h describes against s, reading them
// whole; ErrCorrupt names the first damaged chunk of each damaged file.
func verifyFiles(dir string, h *header, s sums) error {
	var bad []string
	buf := make([]byte, sumChunk)
	for i, size := range h.sizes() {
		n := (size + sumChunk - 1) / sumChunk
		if int64(len(s[i])) != n {
			bad = append(bad, fmt.Sprintf("%s has %d checksums for %d chunks", names[i], len(s[i]), n))
			continue
		}
		if n == 0 {
			continue
		}
		f, err := os.Open(filepath.Join(dir, names[i]))
		if err != nil {
			bad = append(bad, err.Error())
			continue
		}
		for c := int64(0); c < n; c++ {
			b := buf[:min((c+1)*sumChunk, size)-c*sumChunk]
			if _, err := f.ReadAt(b, c*sumChunk); err != nil && !errors.Is(err, io.EOF) {
				bad = append(bad, fmt.Sprintf("%s: %v", names[i], err))
				break
			}
			if crc32.Checksum(b, castagnoli) != s[i][c] {
				bad = append(bad, fmt.Sprintf("%s bytes %d–%d fail their checksum", names[i], c*sumChunk, c*sumChunk+int64(len(b))))
				break
			}
		}
		f.Close() //nolint:errcheck // opened read-only: Close cannot lose data
	}
	if len(bad) > 0 {
		return fmt.Errorf("%w: %s", ErrCorrupt, joinProblems(bad))
	}
	return nil
}

func joinProblems(p []string) string {
	s := ""
	for i, x := range p {
		if i > 0 {
			s += "; "
		}
		s += x
	}
	return s
}

// headerSum is the CRC-32C of h's fields (its Sum left out).
func headerSum(h header) uint32 {
	h.Sum = 0
	b, _ := json.Marshal(h)
	return crc32.Checksum(b, castagnoli)
}

// CheckFiles checks the index of the store in storeDir against its
// checksums, current or not; ErrCorrupt says what is damaged. An index
// being updated (dirty) is rebuilt by its next Open and not checked.
func CheckFiles(storeDir string) (exists bool, err error) {
	dir := Dir(storeDir)
	h, err := readHeader(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return false, nil
	case err != nil:
		return true, err
	case h.Dirty || h.Version != formatVersion:
		return true, nil
	}
	s, err := readSums(dir)
	if err == nil {
		err = verifyFiles(dir, &h, s)
	}
	return true, err
}
