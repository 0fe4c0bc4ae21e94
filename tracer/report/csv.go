package report

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"

	"github.com/tracer-oss/tracer/tracer"
)

// csvHeader names the CSV columns, one row per hit.
var csvHeader = []string{
	"entity", "category", "tag_source", "via", "address", "txid", "vout", "height",
	"time_utc", "hops", "value_btc", "tainted_btc", "share", "seed_address", "path",
}

// CSV writes one row per hit, in the result's order, after a header row.
// Amounts are BTC with 8 decimals; share is tainted/value with 6 decimals;
// path is the hit's txids joined by '>'. Text cells that a spreadsheet would
// take for a formula (leading = + - @) are prefixed with a quote.
func (rd Renderer) CSV(w io.Writer, r *tracer.Result) error {
	if r == nil {
		return ErrNilResult
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return fmt.Errorf("report: csv: %w", err)
	}
	for _, h := range r.Hits {
		share := "?"
		if h.Share == h.Share {
			share = strconv.FormatFloat(h.Share, 'f', 6, 64)
		}
		row := []string{
			cell(h.Entity), cell(h.Category), cell(h.TagSource), cell(h.Via),
			cell(h.Address), cell(h.Txid), strconv.FormatUint(uint64(h.Vout), 10),
			strconv.Itoa(int(h.Height)), cell(h.Time), strconv.Itoa(h.Hops),
			BTC(h.Value), BTC(h.Tainted), share, cell(h.SeedAddress), cell(pathString(h.Path)),
		}
		if err := cw.Write(row); err != nil {
			return fmt.Errorf("report: csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("report: csv: %w", err)
	}
	return nil
}

// cell cleans a text cell and defuses spreadsheet formulas.
func cell(s string) string {
	s = clean(s)
	if s != "" {
		switch s[0] {
		case '=', '+', '-', '@':
			return "'" + s
		}
	}
	return s
}
