package screen

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/tracer-oss/tracer/sanctions/address"
)

// RiskError is the risk of a batch row that could not be screened (not an
// address, a malformed line); the row's error column says why.
const RiskError = "error"

// BatchOptions tune Batch.
type BatchOptions struct {
	Name  string // the input's name, for messages
	JSON  bool   // JSON lines instead of CSV
	Fresh bool   // walk backward from each address instead of reading the index
	// Row, if not nil, is called for every row screened with its input
	// address and result, or the error that made it a failed row (the
	// audit trail); an error it returns stops the batch.
	Row      func(input string, r *Result, err error) error
	Progress func(BatchStats)
}

// BatchStats count a batch's rows by risk (RiskError for failed rows).
type BatchStats struct {
	Rows   int            `json:"rows"`
	Risk   map[string]int `json:"risk"`
	Levels map[string]int `json:"levels"` // by policy level
}

// Failed is the number of rows that could not be screened.
func (b BatchStats) Failed() int { return b.Risk[RiskError] }

// BatchResultColumns are the columns Batch appends to each input row in CSV.
var BatchResultColumns = []string{"risk", "level", "rule", "error", "screened_address", "method", "listed_entities", "received_sat", "sanctioned_sat",
	"sanctioned_share", "nearest_source", "hops", "top_source", "other_exposures", "tip_height", "tip_hash", "list_version"}

// batchRow is a JSON-lines row: the input's fields, then the result.
type batchRow struct {
	Line        int      `json:"line"`
	Input       []string `json:"input"`
	Error       string   `json:"error,omitempty"`
	TipHeight   int32    `json:"tip_height"`
	TipHash     string   `json:"tip_hash"`
	ListVersion uint32   `json:"list_version"`
	*Result
}

// Batch screens every data row of a list of addresses (one a line, or CSV,
// semicolon- or tab-separated, with the address in the first column) and
// writes one output row per input row, in order: the line number, the
// input's own columns unchanged, then BatchResultColumns (CSV), or a JSON
// object per line. A row that cannot be screened is kept with risk "error"
// and the reason. Blank lines and lines starting with # are not rows; a
// first line whose first field is "address" is the header, and the
// output's header keeps its column names. Every row carries the chain tip
// and sanctions list version it was screened against.
//
// It returns the counts; rows that failed are counted, not returned as an
// error: the caller decides (tracer screen exits non-zero). An error is
// returned only for a failure of the store or the output, or ctx's end.
func (s *Screener) Batch(ctx context.Context, in io.Reader, out io.Writer, opt BatchOptions) (BatchStats, error) {
	st := BatchStats{Risk: map[string]int{}, Levels: map[string]int{}}
	do := s.Screen
	if opt.Fresh {
		do = s.Fresh
	}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	bw := &batchWriter{opt: opt, cw: csv.NewWriter(out), enc: json.NewEncoder(out), width: -1}
	status := s.Status()
	for line := 1; sc.Scan(); line++ {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		text := sc.Text()
		if line == 1 {
			text = strings.TrimPrefix(text, "\ufeff")
		}
		if trimmed := strings.TrimSpace(text); trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		if bw.comma == 0 {
			bw.comma = detectComma(text)
		}
		fields, perr := splitLine(text, bw.comma)
		if header, err := bw.start(fields, perr); err != nil || header {
			if err != nil {
				return st, err
			}
			continue
		}
		r, rowErr, fields, err := bw.screen(ctx, do, line, text, fields, perr)
		if err != nil {
			return st, err
		}
		st.Rows++
		row := batchRow{Line: line, Input: fields, TipHeight: status.TipHeight, TipHash: status.TipHash, ListVersion: status.ListVersion, Result: r}
		if rowErr != nil {
			row.Error = rowErr.Error()
			row.Result = &Result{Address: strings.TrimSpace(fields[0]), Risk: RiskError, Record: Record{Exposures: []Exposure{}}}
		}
		st.Risk[row.Risk]++
		if r != nil {
			st.Levels[r.Level]++
		}
		if opt.Row != nil {
			if err := opt.Row(strings.TrimSpace(fields[0]), r, rowErr); err != nil {
				return st, err
			}
		}
		if err := bw.write(row); err != nil {
			return st, err
		}
		if opt.Progress != nil {
			opt.Progress(st)
		}
	}
	if err := sc.Err(); err != nil {
		return st, fmt.Errorf("%s: %w", opt.Name, err)
	}
	bw.cw.Flush()
	return st, bw.cw.Error()
}

// batchWriter writes a batch's rows as CSV or JSON lines; the input's
// columns are the header's, else the first row's.
type batchWriter struct {
	opt   BatchOptions
	cw    *csv.Writer
	enc   *json.Encoder
	comma rune
	width int // input columns; -1 before the first row
}

// start handles the first row: it fixes the input's width and writes the
// CSV header; header says the row was the input's own header.
func (bw *batchWriter) start(fields []string, perr error) (header bool, err error) {
	if bw.width >= 0 {
		return false, nil
	}
	bw.width = 1
	if perr == nil {
		bw.width = len(fields)
	}
	header = perr == nil && strings.EqualFold(strings.TrimSpace(fields[0]), "address")
	cols := defaultColumns(bw.width)
	if header {
		cols = fields
	}
	if !bw.opt.JSON {
		err = bw.cw.Write(append(append([]string{"line"}, cols...), BatchResultColumns...))
	}
	return header, err
}

// screen screens one row's address; rowErr is what keeps the row from
// being screened (it keeps its place in the output), err what stops the
// batch.
func (bw *batchWriter) screen(ctx context.Context, do func(context.Context, string) (*Result, error), line int, text string, fields []string, perr error) (r *Result, rowErr error, _ []string, err error) {
	switch {
	case perr != nil:
		return nil, fmt.Errorf("line %d: %v", line, perr), []string{text}, nil
	case len(fields) > bw.width:
		return nil, fmt.Errorf("line %d has %d fields, the first row %d: %q", line, len(fields), bw.width, text), fields[:bw.width], nil
	}
	r, err = do(ctx, strings.TrimSpace(fields[0]))
	if errors.Is(err, address.ErrInvalid) {
		rowErr = err
		if u := errors.Unwrap(err); u != nil {
			rowErr = u // the address error, without "screen ADDR:"
		}
		return r, rowErr, fields, nil
	}
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s line %d: %w", bw.opt.Name, line, err)
	}
	return r, nil, fields, nil
}

// write writes one row.
func (bw *batchWriter) write(row batchRow) error {
	if bw.opt.JSON {
		return bw.enc.Encode(row)
	}
	return bw.cw.Write(row.csv(bw.width))
}

// detectComma picks the separator of a list: a comma, else a semicolon
// (spreadsheets in many locales), else a tab; a one-column list has none.
func detectComma(line string) rune {
	for _, c := range []rune{',', ';', '\t'} {
		if strings.ContainsRune(line, c) {
			return c
		}
	}
	return ','
}

func splitLine(line string, comma rune) ([]string, error) {
	r := csv.NewReader(strings.NewReader(line))
	r.Comma = comma
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	fields, err := r.Read()
	if err != nil {
		return nil, err
	}
	return fields, nil
}

func defaultColumns(n int) []string {
	cols := []string{"address"}
	for i := 2; i <= n; i++ {
		cols = append(cols, "column_"+strconv.Itoa(i))
	}
	return cols
}

// csv is the row in CSV: line, the input padded to width, the result.
func (row batchRow) csv(width int) []string {
	out := append([]string{strconv.Itoa(row.Line)}, row.Input...)
	for len(out) < width+1 {
		out = append(out, "")
	}
	r := row.Result
	var listed []string
	for _, d := range r.Direct {
		listed = append(listed, d.Entity)
	}
	s := r.Sanctioned()
	top := ""
	if len(s.Sources) > 0 {
		top = s.Sources[0].Entity
	}
	var other []string
	for _, e := range r.Exposures {
		if e.Category != CategorySanctioned {
			other = append(other, fmt.Sprintf("%s:%d", e.Category, e.Amount))
		}
	}
	hops, share := "", ""
	if s.Amount > 0 {
		hops = strconv.Itoa(s.Hops)
	}
	received, sanctioned := "", ""
	if r.Risk != RiskError {
		received, sanctioned = strconv.FormatInt(r.Received, 10), strconv.FormatInt(s.Amount, 10)
		share = strconv.FormatFloat(s.Share, 'f', 6, 64)
	}
	screened := r.Address
	if r.Risk == RiskError {
		screened = ""
	}
	return append(out, r.Risk, r.Level, r.Rule, row.Error, screened, r.Method, strings.Join(listed, "; "), received, sanctioned, share,
		s.Nearest, hops, top, strings.Join(other, "; "), strconv.Itoa(int(row.TipHeight)), row.TipHash, strconv.FormatUint(uint64(row.ListVersion), 10))
}
