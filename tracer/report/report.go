package report

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/tracer-oss/tracer/tracer"
	"github.com/tracer-oss/tracer/tracer/graphview"
)

// DefaultMaxNodes bounds the SVG picture (and so the HTML report): nodes
// beyond it are not drawn and a note says how many.
const DefaultMaxNodes = 400

// formats lists the formats Write knows, in the order Formats returns them.
var formats = []string{"text", "json", "csv", "dot", "svg", "html"}

// Formats returns the format names Write accepts.
func Formats() []string { return append([]string(nil), formats...) }

// Renderer renders results. Its zero value is ready to use; the package
// functions use it.
type Renderer struct {
	// Now is the clock for the "generated at" line of the HTML report;
	// nil means time.Now. Tests fix it for byte-identical output.
	Now func() time.Time
	// MaxNodes caps the nodes drawn in the SVG picture; 0 means
	// DefaultMaxNodes.
	MaxNodes int
	// Graph, if set, is what the HTML report's viewer draws instead of the
	// result's own graph (a case's, with its notes and added hops).
	Graph *graphview.Graph
}

// Write renders r to w in the named format (see Formats).
func Write(w io.Writer, format string, r *tracer.Result) error {
	return Renderer{}.Write(w, format, r)
}

// Text writes a terminal summary of r.
func Text(w io.Writer, r *tracer.Result) error { return Renderer{}.Text(w, r) }

// JSON writes r's stable JSON form, indented.
func JSON(w io.Writer, r *tracer.Result) error { return Renderer{}.JSON(w, r) }

// CSV writes one row per hit, with a header.
func CSV(w io.Writer, r *tracer.Result) error { return Renderer{}.CSV(w, r) }

// DOT writes the flow graph in Graphviz DOT.
func DOT(w io.Writer, r *tracer.Result) error { return Renderer{}.DOT(w, r) }

// SVG writes a picture of the flow graph, laid out without Graphviz.
func SVG(w io.Writer, r *tracer.Result) error { return Renderer{}.SVG(w, r) }

// HTML writes one self-contained HTML page for a case file.
func HTML(w io.Writer, r *tracer.Result) error { return Renderer{}.HTML(w, r) }

// Write renders r to w in the named format (see Formats).
func (rd Renderer) Write(w io.Writer, format string, r *tracer.Result) error {
	switch strings.ToLower(strings.TrimSpace(format)) {
	case "text":
		return rd.Text(w, r)
	case "json":
		return rd.JSON(w, r)
	case "csv":
		return rd.CSV(w, r)
	case "dot":
		return rd.DOT(w, r)
	case "svg":
		return rd.SVG(w, r)
	case "html":
		return rd.HTML(w, r)
	}
	return fmt.Errorf("%w %q (want one of %s)", ErrUnknownFormat, format, strings.Join(formats, ", "))
}

func (rd Renderer) now() time.Time {
	if rd.Now != nil {
		return rd.Now().UTC()
	}
	return time.Now().UTC()
}

func (rd Renderer) maxNodes() int {
	if rd.MaxNodes > 0 {
		return rd.MaxNodes
	}
	return DefaultMaxNodes
}

// BTC formats satoshi as bitcoin with 8 decimals, in integer arithmetic
// (a float64 cannot hold every amount exactly).
func BTC(sat int64) string {
	neg := sat < 0
	u := uint64(sat)
	if neg {
		u = -u // two's complement: also right for math.MinInt64
	}
	frac := strconv.FormatUint(u%1e8, 10)
	s := strconv.FormatUint(u/1e8, 10) + "." + strings.Repeat("0", 8-len(frac)) + frac
	if neg {
		return "-" + s
	}
	return s
}

// percent formats a share (0..1) as a percentage with two decimals.
func percent(share float64) string {
	if share != share { // NaN
		return "?"
	}
	return strconv.FormatFloat(share*100, 'f', 2, 64)
}

// clean makes an untrusted string safe for one line of any output: invalid
// UTF-8 becomes U+FFFD, and control and other non-printing characters
// (which XML 1.0 forbids and terminals interpret) become '?'.
func clean(s string) string {
	ok := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || c >= utf8.RuneSelf {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	var b strings.Builder
	for _, c := range s {
		switch {
		case c == utf8.RuneError:
			b.WriteRune(c)
		case unicode.IsSpace(c):
			b.WriteByte(' ')
		case !unicode.IsPrint(c): // controls, format characters (bidi overrides), noncharacters
			b.WriteByte('?')
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}

// short abbreviates a txid or address to its first n characters and an
// ellipsis; shorter strings are returned whole.
func short(s string, n int) string {
	s = clean(s)
	if utf8.RuneCountInString(s) <= n+1 {
		return s
	}
	i := 0
	for j := range s {
		if i == n {
			return s[:j] + "…"
		}
		i++
	}
	return s
}

// shortTxid is the txid form used in graph labels (tables give full txids).
func shortTxid(txid string) string { return short(txid, 12) }

// shortAddr abbreviates an address keeping both ends, as people compare them.
func shortAddr(a string) string {
	a = clean(a)
	r := []rune(a)
	if len(r) <= 20 {
		return a
	}
	return string(r[:12]) + "…" + string(r[len(r)-6:])
}

// entityRow is one labelled entity's share of the trace.
type entityRow struct {
	Entity  string
	Hits    int
	Tainted int64
}

// entityRows merges Totals.PerEntity with the hit list: every entity that
// appears in either, by tainted value descending, then name.
func entityRows(r *tracer.Result) []entityRow {
	idx := map[string]int{}
	var rows []entityRow
	get := func(e string) *entityRow {
		i, ok := idx[e]
		if !ok {
			i = len(rows)
			idx[e] = i
			rows = append(rows, entityRow{Entity: e})
		}
		return &rows[i]
	}
	for e, v := range r.Totals.PerEntity {
		get(e).Tainted = v
	}
	fromHits := map[string]int64{}
	for _, h := range r.Hits {
		get(h.Entity).Hits++
		fromHits[h.Entity] += h.Tainted
	}
	for e, v := range fromHits {
		if _, ok := r.Totals.PerEntity[e]; !ok {
			get(e).Tainted = v
		}
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].Tainted != rows[j].Tainted {
			return rows[i].Tainted > rows[j].Tainted
		}
		return rows[i].Entity < rows[j].Entity
	})
	return rows
}

// topHoldings returns up to n holdings by tainted value descending (ties by
// txid and vout), without reordering r.
func topHoldings(r *tracer.Result, n int) []tracer.Holding {
	hs := append([]tracer.Holding(nil), r.Holdings...)
	sort.SliceStable(hs, func(i, j int) bool {
		a, b := hs[i], hs[j]
		if a.Tainted != b.Tainted {
			return a.Tainted > b.Tainted
		}
		if a.Txid != b.Txid {
			return a.Txid < b.Txid
		}
		return a.Vout < b.Vout
	})
	if n >= 0 && len(hs) > n {
		hs = hs[:n]
	}
	return hs
}

func sumHoldings(r *tracer.Result) int64 {
	var s int64
	for _, h := range r.Holdings {
		s += h.Tainted
	}
	return s
}

// heightRange states the height window of a trace.
func heightRange(p tracer.Params) string {
	lo, hi := "any", "tip"
	if p.SinceHeight > 0 {
		lo = strconv.Itoa(int(p.SinceHeight))
	}
	if p.UntilHeight > 0 {
		hi = strconv.Itoa(int(p.UntilHeight))
	}
	if p.SinceHeight <= 0 && p.UntilHeight <= 0 {
		return "no bound"
	}
	return lo + " .. " + hi
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return clean(s)
}

// pathString joins a hit's path txids with '>'.
func pathString(p []tracer.Step) string {
	ids := make([]string, len(p))
	for i, s := range p {
		ids[i] = s.Txid
	}
	return strings.Join(ids, ">")
}

// balance is the sum the totals must add up to: Traced should equal it for
// every model but poison.
func balance(t tracer.Totals) int64 {
	return t.ToEntities + t.Unspent + t.Fees + t.Dust + t.Cut + t.BeforeRange
}

// partialNote is the banner text for a partial result.
func partialNote(r *tracer.Result) string {
	s := "PARTIAL: the trace stopped early; totals cover only what was visited"
	if r.PartialWhy != "" {
		s += " (" + clean(r.PartialWhy) + ")"
	}
	return s
}
