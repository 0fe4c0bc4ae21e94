package ofac

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/tracer-oss/tracer/sanctions"
)

// Kind is what one file holds.
type Kind string

// File kinds. The first three are SDN lists; the others are companions of
// sdn.csv.
const (
	KindUnknown  Kind = ""
	KindAdvanced Kind = sanctions.FormatSDNAdvanced // sdn_advanced.xml
	KindSDNXML   Kind = sanctions.FormatSDNXML      // SDN.XML
	KindSDNCSV   Kind = sanctions.FormatSDNCSV      // sdn.csv
	KindComments Kind = "sdn_comments_csv"          // sdn_comments.csv
	KindAlt      Kind = "alt_csv"                   // alt.csv
)

// sniffLen is how much of a (decompressed) file Detect looks at.
const sniffLen = 8 << 10

// maxNesting bounds archives inside archives (a zip quine would recurse
// forever).
const maxNesting = 2

// Detect tells what a file holds from its first bytes (already decompressed;
// see Parse for compressed input) and, as a tie-breaker, its name.
func Detect(head []byte, name string) (Kind, error) {
	base := strings.ToLower(filepath.Base(name))
	h := bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	if root := xmlRoot(h); root != "" {
		switch root {
		case "Sanctions":
			return KindAdvanced, nil
		case "sdnList":
			return KindSDNXML, nil
		}
		return KindUnknown, fmt.Errorf("%w: XML root element <%s>", ErrUnknownFormat, root)
	}
	switch csvColumns(h) {
	case 12:
		return KindSDNCSV, nil
	case 2:
		return KindComments, nil
	case 5:
		return KindAlt, nil
	}
	// The columns did not tell: the file's name may.
	switch {
	case strings.Contains(base, "comments"):
		return KindComments, nil
	case strings.HasPrefix(base, "alt") && strings.Contains(base, ".csv"):
		return KindAlt, nil
	case strings.HasPrefix(base, "sdn") && strings.Contains(base, ".csv") && len(bytes.TrimSpace(h)) == 0:
		return KindSDNCSV, nil
	}
	return KindUnknown, ErrUnknownFormat
}

// csvColumns counts the columns of h's first record when it starts like
// OFAC's CSV (with an ent_num); 0 when it does not, or runs past the sniff
// window.
func csvColumns(h []byte) int {
	line := h
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	} else if len(h) == sniffLen {
		return 0 // first record longer than the sniff window: count unknown
	}
	if len(bytes.TrimSpace(line)) == 0 || line[0] < '0' || line[0] > '9' {
		return 0
	}
	r := csv.NewReader(bytes.NewReader(line))
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	rec, err := r.Read()
	if err != nil {
		return 0
	}
	return len(rec)
}

// xmlRoot returns the local name of the first element in head, or "" when
// head does not start like an XML document.
func xmlRoot(h []byte) string {
	t := bytes.TrimLeft(h, " \t\r\n")
	if len(t) == 0 || t[0] != '<' {
		return ""
	}
	for len(t) > 0 {
		i := bytes.IndexByte(t, '<')
		if i < 0 || i+1 >= len(t) {
			return ""
		}
		t = t[i+1:]
		switch {
		case bytes.HasPrefix(t, []byte("?")), bytes.HasPrefix(t, []byte("!")):
			continue
		}
		end := bytes.IndexAny(t, " \t\r\n/>")
		if end <= 0 {
			return ""
		}
		name := string(t[:end])
		if i := strings.IndexByte(name, ':'); i >= 0 {
			name = name[i+1:]
		}
		return name
	}
	return ""
}

// Parse reads one SDN file (sdn_advanced.xml, SDN.XML or sdn.csv), plain or
// gzip, bzip2 or zip compressed. name is used in errors, in List.Source and
// as a tie-breaker for detection. A zip may hold sdn.csv together with
// sdn_comments.csv and alt.csv; they are joined. sdn.csv given alone (not in
// a zip) is parsed without its comments; use ParseFiles or ParseCSV to join
// them.
func Parse(ctx context.Context, r io.Reader, name string) (*sanctions.List, error) {
	files, err := open(ctx, r, name, 0)
	if err != nil {
		return nil, err
	}
	defer closeAll(files)
	return parseOpened(ctx, files)
}

// ParseFiles reads the SDN list from files on disk: exactly one SDN file
// (any format, any compression) and, for sdn.csv, optionally its
// sdn_comments.csv and alt.csv. The companions are recognised by content.
func ParseFiles(ctx context.Context, paths ...string) (*sanctions.List, error) {
	return ParseFilesProgress(ctx, nil, paths...)
}

// ParseFilesProgress is ParseFiles calling progress, if not nil, as the
// files are read: bytes read so far of the files' total size on disk (the
// real list is about 100 MB of XML and takes seconds to parse).
func ParseFilesProgress(ctx context.Context, progress func(read, total int64), paths ...string) (*sanctions.List, error) {
	ins := make([]Input, 0, len(paths))
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, fmt.Errorf("ofac: %w", err)
		}
		defer f.Close() //nolint:errcheck // read-only input: Close cannot lose data
		in := Input{Name: p, R: f}
		if fi, err := f.Stat(); err == nil {
			in.Size = fi.Size()
		}
		ins = append(ins, in)
	}
	return ParseInputs(ctx, progress, ins...)
}

// Input is one list file given as a reader: a file's content, an upload's
// body.
type Input struct {
	Name string    // in errors, in List.Source, and a tie-breaker for detection
	R    io.Reader // plain or gzip, bzip2 or zip compressed
	Size int64     // bytes R holds, for progress; 0 when unknown
}

// ParseInputs is ParseFilesProgress over readers: exactly one SDN file (any
// format, any compression; a zip may hold sdn.csv with its companions) and,
// for sdn.csv, optionally its sdn_comments.csv and alt.csv. progress, if
// not nil, is called as the inputs are read with the bytes read so far and
// the sum of their sizes. The caller closes the readers.
func ParseInputs(ctx context.Context, progress func(read, total int64), ins ...Input) (*sanctions.List, error) {
	var all []*opened
	defer func() { closeAll(all) }()
	counter := &readCounter{progress: progress}
	for _, in := range ins {
		counter.total += max(in.Size, 0)
	}
	for _, in := range ins {
		files, err := open(ctx, &countingReader{r: in.R, c: counter}, in.Name, 0)
		if err != nil {
			return nil, err
		}
		all = append(all, files...)
	}
	return parseOpened(ctx, all)
}

// readCounter sums the bytes read from a list's files.
type readCounter struct {
	read, total int64
	progress    func(read, total int64)
}

// ctxReader ends a read at ctx's end.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (cr ctxReader) Read(p []byte) (int, error) {
	if err := cr.ctx.Err(); err != nil {
		return 0, err
	}
	return cr.r.Read(p)
}

// countingReader counts what a file gives the parser.
type countingReader struct {
	r io.Reader
	c *readCounter
}

func (cr *countingReader) Read(p []byte) (int, error) {
	n, err := cr.r.Read(p)
	if n > 0 {
		cr.c.read += int64(n)
		if cr.c.progress != nil {
			cr.c.progress(cr.c.read, cr.c.total)
		}
	}
	return n, err
}

// CSVInput names the parts of the legacy CSV edition. SDN is required;
// Comments (sdn_comments.csv) and Alt (alt.csv) may be nil.
type CSVInput struct {
	SDN, Comments, Alt             io.Reader
	SDNName, CommentsName, AltName string
}

func parseOpened(ctx context.Context, files []*opened) (*sanctions.List, error) {
	for _, f := range files {
		// Decoding a large element reads megabytes of XML without a
		// check of ctx: the reader checks it, so Ctrl-C stops at once.
		f.r = ctxReader{ctx, f.r}
	}
	var main *opened
	in := CSVInput{}
	for _, f := range files {
		switch f.kind {
		case KindAdvanced, KindSDNXML, KindSDNCSV:
			if main != nil {
				return nil, fmt.Errorf("%w: %s and %s", ErrTooManySDNFiles, main.name, f.name)
			}
			main = f
		case KindComments:
			in.Comments, in.CommentsName = f.r, f.name
		case KindAlt:
			in.Alt, in.AltName = f.r, f.name
		}
	}
	if main == nil {
		var names []string
		for _, f := range files {
			names = append(names, f.name)
		}
		return nil, fmt.Errorf("%w (%s)", ErrNoSDNFile, strings.Join(names, ", "))
	}
	switch main.kind {
	case KindAdvanced:
		return ParseAdvanced(ctx, main.r, main.name)
	case KindSDNXML:
		return ParseSDNXML(ctx, main.r, main.name)
	default:
		in.SDN, in.SDNName = main.r, main.name
		return ParseCSV(ctx, in)
	}
}

// opened is one detected, decompressed input.
type opened struct {
	name   string
	kind   Kind
	r      io.Reader
	closer io.Closer
}

type multiCloser []io.Closer

func (m multiCloser) Close() error {
	var first error
	for _, c := range m {
		if err := c.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

func closeAll(files []*opened) {
	for _, f := range files {
		if f.closer != nil {
			f.closer.Close() //nolint:errcheck // read-only inputs
		}
	}
}

// open unwraps compression and detects the kind of every file inside r. Only
// zip yields more than one file; zip members that are not SDN files are
// skipped.
func open(ctx context.Context, r io.Reader, name string, depth int) ([]*opened, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if depth > maxNesting {
		return nil, &ParseError{File: name, Err: fmt.Errorf("%w: archives nested deeper than %d", ErrCompression, maxNesting)}
	}
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(4)
	switch {
	case bytes.HasPrefix(head, []byte("PK\x03\x04")), bytes.HasPrefix(head, []byte("PK\x05\x06")):
		return openZip(ctx, br, name, depth)
	}
	dr, closer, err := decompress(br, name)
	if err != nil {
		return nil, err
	}
	dbr := bufio.NewReaderSize(dr, 64<<10)
	sniff, err := dbr.Peek(sniffLen)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		if closer != nil {
			closer.Close() //nolint:errcheck // read-only input, already failing
		}
		if !errors.Is(err, ErrCompression) {
			err = fmt.Errorf("%w: %v", ErrCompression, err)
		}
		return nil, &ParseError{File: name, Err: err}
	}
	kind, err := Detect(sniff, innerName(name))
	if err != nil {
		if dr != io.Reader(br) {
			// Garbage out of a decompressor is more likely a corrupt
			// stream than an unknown format: the checksum at the end of
			// the block tells.
			if _, cerr := io.Copy(io.Discard, dbr); cerr != nil {
				err = cerr
			}
		}
		if closer != nil {
			closer.Close() //nolint:errcheck // read-only input, already failing
		}
		return nil, &ParseError{File: name, Line: 1, Err: err}
	}
	return []*opened{{name: name, kind: kind, r: dbr, closer: closer}}, nil
}
