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
	comments := map[int64]string{}
	if in.Comments != nil {
		f := newCSVFile(ctx, in.Comments, nameOr(in.CommentsName, "sdn_comments.csv"), commentsColumns)
		for {
			rec, err := f.next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, err
			}
			ent, err := f.entNum(rec[0])
			if err != nil {
				return nil, err
			}
			if strings.TrimSpace(rec[1]) == "-0-" {
				continue
			}
			// Not trimmed: the continuation may start with the space that
			// separated two words at the cut.
			comments[ent] += strings.TrimRight(rec[1], " \t\r\n")
		}
		list.Source += "+" + nameOr(in.CommentsName, "sdn_comments.csv")
	}
	aliases := map[int64][]string{}
	if in.Alt != nil {
		f := newCSVFile(ctx, in.Alt, nameOr(in.AltName, "alt.csv"), altColumns)
		for {
			rec, err := f.next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, err
			}
			ent, err := f.entNum(rec[0])
			if err != nil {
				return nil, err
			}
			if a := field(rec[3]); a != "" && !slices.Contains(aliases[ent], a) {
				aliases[ent] = append(aliases[ent], a)
			}
		}
		list.Source += "+" + nameOr(in.AltName, "alt.csv")
	}

	v := newValidator(list)
	f := newCSVFile(ctx, in.SDN, sdnName, sdnColumns)
	var cut, cutWithAddr, dropped []int64
	records := 0
	seen := map[int64]bool{}
	for {
		rec, err := f.next()
		if err == io.EOF {
			if records > 0 && !f.doneSUB {
				// OFAC's sdn.csv ends with the byte 0x1A; a copy that stops
				// without it may have been cut at a line boundary.
				list.Warnings = append(list.Warnings, fmt.Sprintf("%s: no end-of-file byte 0x1A after %d records: the file may be truncated", sdnName, records))
			}
			break
		}
		if err != nil {
			return nil, err
		}
		records++
		ent, err := f.entNum(rec[0])
		if err != nil {
			return nil, err
		}
		if seen[ent] {
			return nil, &ParseError{File: sdnName, Line: f.line, Column: 1, Err: fmt.Errorf("%w: duplicate ent_num %d", ErrMalformed, ent)}
		}
		seen[ent] = true
		remarks := rec[11]
		if strings.TrimSpace(remarks) == "-0-" {
			remarks = ""
		}
		ext, hasExt := comments[ent]
		isCut := utf8.RuneCountInString(remarks) == remarkLimit && !hasExt
		remarks += ext
		matches := remarkAddrRE.FindAllStringSubmatchIndex(remarks, -1)
		if isCut {
			cut = append(cut, ent)
			if len(matches) > 0 {
				cutWithAddr = append(cutWithAddr, ent)
			}
		}
		if len(matches) == 0 {
			continue
		}
		where := fmt.Sprintf("%s:%d: ent_num %d", sdnName, f.line, ent)
		base := sanctions.Entry{
			ProfileID:   ent,
			PrimaryName: strings.Join(strings.Fields(field(rec[1])), " "),
			Aliases:     aliases[ent],
			EntityType:  csvEntityType(field(rec[2])),
			Programs:    csvPrograms(field(rec[3])),
		}
		for _, m := range matches {
			if isCut && m[1] == len(remarks) {
				// The token runs into the cut: it may be incomplete.
				dropped = append(dropped, ent)
				continue
			}
			e := base
			e.Aliases = slices.Clone(base.Aliases)
			e.Programs = slices.Clone(base.Programs)
			e.Asset = strings.ToUpper(remarks[m[2]:m[3]])
			e.Address = v.check(e.Asset, strings.TrimRight(remarks[m[4]:m[5]], ".)"), where)
			list.Entries = append(list.Entries, e)
		}
	}
	if records == 0 {
		return nil, &ParseError{File: sdnName, Line: 1, Err: fmt.Errorf("%w: no records", ErrTruncated)}
	}
	for ent := range comments {
		if !seen[ent] {
			list.Warnings = append(list.Warnings, fmt.Sprintf("%s: sdn_comments ent_num %d is not in %s", list.Source, ent, sdnName))
		}
	}
	slices.Sort(list.Warnings)
	if len(cut) > 0 {
		msg := fmt.Sprintf("%s: %d remarks cut at exactly %d characters without a continuation in sdn_comments.csv (%d of them hold currency addresses; addresses after the cut are lost): ent_num %s",
			sdnName, len(cut), remarkLimit, len(cutWithAddr), joinInts(cut))
		if len(dropped) > 0 {
			msg += fmt.Sprintf("; %d truncated address(es) at the cut dropped: ent_num %s", len(dropped), joinInts(dropped))
		}
		list.Warnings = append(list.Warnings, msg)
	}
	list.Sort()
	return list, nil
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
