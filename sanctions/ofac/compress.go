package ofac

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
)

// maxZipSize bounds how much of a zip archive is read into memory (zip needs
// random access). The largest OFAC archive is well under this.
const maxZipSize = 1 << 30

// Compression magic numbers.
var (
	magicGzip  = []byte{0x1f, 0x8b}
	magicBzip2 = []byte("BZh")
)

// decompress returns a reader of the decompressed content of br, detected
// from magic bytes. Plain input is returned as is.
func decompress(br *bufio.Reader, name string) (io.Reader, io.Closer, error) {
	head, _ := br.Peek(4)
	switch {
	case bytes.HasPrefix(head, magicGzip):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, &ParseError{File: name, Err: fmt.Errorf("%w: gzip: %v", ErrCompression, err)}
		}
		zr.Multistream(true)
		return compressionErrors{zr, "gzip"}, zr, nil
	case len(head) == 4 && bytes.HasPrefix(head, magicBzip2) && head[3] >= '1' && head[3] <= '9':
		return compressionErrors{bzip2.NewReader(br), "bzip2"}, nil, nil
	}
	return br, nil, nil
}

// compressionErrors marks errors of the decompressor so that a parser can
// tell "bad bzip2" from "bad XML".
type compressionErrors struct {
	r    io.Reader
	kind string
}

func (c compressionErrors) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("%w: %s: %v", ErrCompression, c.kind, err)
	}
	return n, err
}

// innerName strips compression suffixes so that detection by name sees
// "sdn.csv" for "sdn.csv.gz".
func innerName(name string) string {
	lower := strings.ToLower(name)
	for _, ext := range []string{".gz", ".bz2", ".gzip", ".bzip2"} {
		if strings.HasSuffix(lower, ext) {
			return name[:len(name)-len(ext)]
		}
	}
	return name
}

// readZip reads a whole zip archive (at most maxZipSize) into memory.
func readZip(r io.Reader, name string) (*zip.Reader, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxZipSize+1))
	if err != nil {
		return nil, &ParseError{File: name, Err: fmt.Errorf("%w: zip: %v", ErrCompression, err)}
	}
	if len(data) > maxZipSize {
		return nil, &ParseError{File: name, Err: fmt.Errorf("%w: zip larger than %d bytes", ErrCompression, maxZipSize)}
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, &ParseError{File: name, Err: fmt.Errorf("%w: zip: %v", ErrCompression, err)}
	}
	return zr, nil
}

// sdnMembers are the archive's files named like SDN files, or its only
// file.
func sdnMembers(zr *zip.Reader) []*zip.File {
	var members []*zip.File
	for _, f := range zr.File {
		if !f.FileInfo().IsDir() && isSDNName(strings.ToLower(path.Base(f.Name))) {
			members = append(members, f)
		}
	}
	if len(members) == 0 && len(zr.File) == 1 {
		members = zr.File
	}
	return members
}

// isSDNName tells whether a lower-case base name is an SDN file's:
// sdn_advanced*.xml, sdn.xml, sdn.csv, sdn_comments.csv, alt.csv, or any
// sdn*.xml or sdn*.csv.
func isSDNName(base string) bool {
	switch {
	case strings.HasPrefix(base, "sdn_advanced") && strings.Contains(base, ".xml"),
		base == "sdn.xml", base == "sdn.csv", base == "sdn_comments.csv", base == "alt.csv",
		strings.HasPrefix(base, "sdn") && (strings.HasSuffix(base, ".xml") || strings.HasSuffix(base, ".csv")):
		return true
	}
	return false
}

// openZip reads a zip archive and opens its SDN members: sdn_advanced.xml,
// sdn.xml, sdn.csv, sdn_comments.csv and alt.csv (by name, any directory,
// any case; each detected by content too). A lone member is taken whatever
// its name.
func openZip(ctx context.Context, r io.Reader, name string, depth int) ([]*opened, error) {
	zr, err := readZip(r, name)
	if err != nil {
		return nil, err
	}
	members := sdnMembers(zr)
	if len(members) == 0 {
		return nil, &ParseError{File: name, Err: fmt.Errorf("%w: zip holds no SDN file", ErrNoSDNFile)}
	}
	sort.Slice(members, func(i, j int) bool { return members[i].Name < members[j].Name })
	var out []*opened
	for _, f := range members {
		rc, err := f.Open()
		if err != nil {
			closeAll(out)
			return nil, &ParseError{File: name + "!" + f.Name, Err: fmt.Errorf("%w: zip: %v", ErrCompression, err)}
		}
		sub, err := open(ctx, compressionErrors{rc, "zip"}, name+"!"+f.Name, depth+1)
		if err != nil {
			rc.Close() //nolint:errcheck // read-only input, already failing
			if errors.Is(err, ErrUnknownFormat) && len(members) > 1 {
				continue // e.g. a readme that matched the name rule
			}
			closeAll(out)
			return nil, err
		}
		for _, o := range sub {
			if o.closer == nil {
				o.closer = rc
			} else {
				o.closer = multiCloser{o.closer, rc}
			}
		}
		out = append(out, sub...)
	}
	return out, nil
}
