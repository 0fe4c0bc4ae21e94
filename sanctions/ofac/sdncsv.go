package ofac

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/tracer-oss/tracer/sanctions"
)

// remarkLimit is where OFAC cuts the Remarks column of sdn.csv; the rest of
// a longer remark is in sdn_comments.csv.
const remarkLimit = 1000

// Column counts of the legacy CSV files.
const (
	sdnColumns      = 12 // ent_num, SDN_Name, SDN_Type, Program, Title, Call_Sign, Vess_type, Tonnage, GRT, Vess_flag, Vess_owner, Remarks
	commentsColumns = 2  // ent_num, Remarks_Extension
	altColumns      = 5  // ent_num, alt_num, alt_type, alt_name, alt_remarks
)

// remarkAddrRE finds "Digital Currency Address - XBT <addr>" in remarks.
var remarkAddrRE = regexp.MustCompile(`Digital\s+Currency\s+Address\s*-\s*([A-Za-z0-9]+)\s+([A-Za-z0-9][^\s;,]*)`)

// csvFile reads one legacy CSV file record by record with line numbers and
// the quirks of OFAC's files: CRLF, "-0-" for empty, a trailing 0x1A byte.
type csvFile struct {
	ctx     context.Context
	name    string
	r       *csv.Reader
	cols    int
	line    int
	n       int
	doneSUB bool
}

func newCSVFile(ctx context.Context, r io.Reader, name string, cols int) *csvFile {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1 // checked here, to tolerate the 0x1A record
	cr.ReuseRecord = true
	return &csvFile{ctx: ctx, name: name, r: cr, cols: cols}
}

// next returns the next record or io.EOF.
func (f *csvFile) next() ([]string, error) {
	for {
		f.n++
		if f.n%1024 == 0 {
			if err := f.ctx.Err(); err != nil {
				return nil, err
			}
		}
		rec, err := f.r.Read()
		if err == io.EOF {
			return nil, io.EOF
		}
		if err != nil {
			pe := &ParseError{File: f.name, Err: err}
			var ce *csv.ParseError
			if errors.As(err, &ce) {
				pe.Line, pe.Column = ce.Line, ce.Column
				pe.Err = fmt.Errorf("%w: %v", ErrMalformed, ce.Err)
			} else if !errors.Is(err, ErrCompression) {
				pe.Err = fmt.Errorf("%w: %v", ErrMalformed, err)
			}
			return nil, pe
		}
		f.line, _ = f.r.FieldPos(0)
		if f.doneSUB {
			return nil, &ParseError{File: f.name, Line: f.line, Err: fmt.Errorf("%w: data after the end-of-file byte 0x1A", ErrMalformed)}
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "\x1a" {
			f.doneSUB = true
			continue
		}
		if len(rec) != f.cols {
			return nil, &ParseError{File: f.name, Line: f.line, Err: fmt.Errorf("%w: %d, want %d", ErrColumnCount, len(rec), f.cols)}
		}
		return rec, nil
	}
}

func (f *csvFile) entNum(s string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n <= 0 {
		return 0, &ParseError{File: f.name, Line: f.line, Column: 1, Err: fmt.Errorf("%w: bad ent_num %q", ErrMalformed, s)}
	}
	return n, nil
}

// field returns a CSV value with "-0-" (OFAC's null) as "".
func field(s string) string {
	s = strings.TrimSpace(s)
	if s == "-0-" {
		return ""
	}
	return s
}

// ParseCSV reads the legacy CSV edition: sdn.csv joined by ent_num with
// sdn_comments.csv and alt.csv when given. Without comments, a remark cut at
// exactly 1,000 characters loses what follows the cut: the address token at
// the cut (if any) is dropped and counted, and List.Warnings says how many
// remarks were cut.
func ParseCSV(ctx context.Context, in CSVInput) (*sanctions.List, error) {
	if in.SDN == nil {
		return nil, ErrNoSDNFile
	}
	sdnName := in.SDNName
	if sdnName == "" {
		sdnName = "sdn.csv"
	}
	list := &sanctions.List{Source: sdnName, Format: sanctions.FormatSDNCSV}
	p := &sdnParser{list: list, v: newValidator(list), name: sdnName,
		comments: map[int64]string{}, aliases: map[int64][]string{}, seen: map[int64]bool{}}
	if in.Comments != nil {
		name := nameOr(in.CommentsName, "sdn_comments.csv")
		if err := readComments(newCSVFile(ctx, in.Comments, name, commentsColumns), p.comments); err != nil {
			return nil, err
		}
		list.Source += "+" + name
	}
	if in.Alt != nil {
		name := nameOr(in.AltName, "alt.csv")
		if err := readAliases(newCSVFile(ctx, in.Alt, name, altColumns), p.aliases); err != nil {
			return nil, err
		}
		list.Source += "+" + name
	}
	f := newCSVFile(ctx, in.SDN, sdnName, sdnColumns)
	for {
		rec, err := f.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if err := p.record(f, rec); err != nil {
			return nil, err
		}
	}
	if p.records == 0 {
		return nil, &ParseError{File: sdnName, Line: 1, Err: fmt.Errorf("%w: no records", ErrTruncated)}
	}
	if !f.doneSUB {
		// OFAC's sdn.csv ends with the byte 0x1A; a copy that stops
		// without it may have been cut at a line boundary.
		list.Warnings = append(list.Warnings, fmt.Sprintf("%s: no end-of-file byte 0x1A after %d records: the file may be truncated", sdnName, p.records))
	}
	p.finish()
	list.Sort()
	return list, nil
}

// readComments reads sdn_comments.csv into comments: the continuations of
// remarks cut at 1,000 characters, by ent_num, joined in file order.
func readComments(f *csvFile, comments map[int64]string) error {
	return f.eachEntry(func(ent int64, rec []string) {
		if strings.TrimSpace(rec[1]) == "-0-" {
			return
		}
		// Not trimmed: the continuation may start with the space that
		// separated two words at the cut.
		comments[ent] += strings.TrimRight(rec[1], " \t\r\n")
	})
}

// eachEntry calls fn with every record of f and its ent_num, checked.
func (f *csvFile) eachEntry(fn func(ent int64, rec []string)) error {
	for {
		rec, err := f.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		ent, err := f.entNum(rec[0])
		if err != nil {
			return err
		}
		fn(ent, rec)
	}
}

// readAliases reads alt.csv into aliases: each entry's distinct alternate
// names, by ent_num.
func readAliases(f *csvFile, aliases map[int64][]string) error {
	return f.eachEntry(func(ent int64, rec []string) {
		if a := field(rec[3]); a != "" && !slices.Contains(aliases[ent], a) {
			aliases[ent] = append(aliases[ent], a)
		}
	})
}

// sdnParser turns sdn.csv records into list entries, one per currency
// address in a record's remarks, counting the remarks cut short.
type sdnParser struct {
	list     *sanctions.List
	v        validator
	name     string             // of sdn.csv, for messages
	comments map[int64]string   // remark continuations (sdn_comments.csv)
	aliases  map[int64][]string // alternate names (alt.csv)
	seen     map[int64]bool     // ent_nums read
	records  int
	// Remarks cut at remarkLimit without a continuation, those of them
	// holding an address, and those whose address ran into the cut.
	cut, cutWithAddr, dropped []int64
}

// record adds the entries of one sdn.csv record.
func (p *sdnParser) record(f *csvFile, rec []string) error {
	p.records++
	ent, err := f.entNum(rec[0])
	if err != nil {
		return err
	}
	if p.seen[ent] {
		return &ParseError{File: p.name, Line: f.line, Column: 1, Err: fmt.Errorf("%w: duplicate ent_num %d", ErrMalformed, ent)}
	}
	p.seen[ent] = true
	remarks := rec[11]
	if strings.TrimSpace(remarks) == "-0-" {
		remarks = ""
	}
	ext, hasExt := p.comments[ent]
	isCut := utf8.RuneCountInString(remarks) == remarkLimit && !hasExt
	remarks += ext
	matches := remarkAddrRE.FindAllStringSubmatchIndex(remarks, -1)
	if isCut {
		p.cut = append(p.cut, ent)
		if len(matches) > 0 {
			p.cutWithAddr = append(p.cutWithAddr, ent)
		}
	}
	if len(matches) == 0 {
		return nil
	}
	where := fmt.Sprintf("%s:%d: ent_num %d", p.name, f.line, ent)
	base := sanctions.Entry{
		ProfileID:   ent,
		PrimaryName: strings.Join(strings.Fields(field(rec[1])), " "),
		Aliases:     p.aliases[ent],
		EntityType:  csvEntityType(field(rec[2])),
		Programs:    csvPrograms(field(rec[3])),
	}
	for _, m := range matches {
		if isCut && m[1] == len(remarks) {
			// The token runs into the cut: it may be incomplete.
			p.dropped = append(p.dropped, ent)
			continue
		}
		e := base
		e.Aliases = slices.Clone(base.Aliases)
		e.Programs = slices.Clone(base.Programs)
		e.Asset = strings.ToUpper(remarks[m[2]:m[3]])
		e.Address = p.v.check(e.Asset, strings.TrimRight(remarks[m[4]:m[5]], ".)"), where)
		p.list.Entries = append(p.list.Entries, e)
	}
	return nil
}

// finish adds the warnings that need the whole file: continuations for
// entries that are not there, and the remarks cut short.
func (p *sdnParser) finish() {
	list := p.list
	for ent := range p.comments {
		if !p.seen[ent] {
			list.Warnings = append(list.Warnings, fmt.Sprintf("%s: sdn_comments ent_num %d is not in %s", list.Source, ent, p.name))
		}
	}
	slices.Sort(list.Warnings)
	if len(p.cut) > 0 {
		msg := fmt.Sprintf("%s: %d remarks cut at exactly %d characters without a continuation in sdn_comments.csv (%d of them hold currency addresses; addresses after the cut are lost): ent_num %s",
			p.name, len(p.cut), remarkLimit, len(p.cutWithAddr), joinInts(p.cut))
		if len(p.dropped) > 0 {
			msg += fmt.Sprintf("; %d truncated address(es) at the cut dropped: ent_num %s", len(p.dropped), joinInts(p.dropped))
		}
		list.Warnings = append(list.Warnings, msg)
	}
}

func nameOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func joinInts(v []int64) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.FormatInt(n, 10)
	}
	return strings.Join(s, ", ")
}

func csvEntityType(s string) string {
	if s == "" {
		return sanctions.EntityTypeEntity // sdn.csv leaves SDN_Type empty for entities
	}
	if t := canonicalEntityType(s); t != "" {
		return t
	}
	return s
}

// csvPrograms splits "SDGT] [CYBER2" or "[SDGT] [CYBER2]" into sorted names.
func csvPrograms(s string) []string {
	var out []string
	for _, p := range strings.FieldsFunc(s, func(r rune) bool { return r == '[' || r == ']' }) {
		if p = strings.TrimSpace(p); p != "" && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}
