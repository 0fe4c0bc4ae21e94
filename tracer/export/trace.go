package export

import (
	"io"
	"iter"
	"strconv"
	"strings"

	"github.com/tracer-oss/tracer/tracer"
)

// Edge is a row of a trace's edges table: tainted value moving from an
// output to the transaction spending it (to_txid null where a branch ends).
type Edge struct {
	Job        string  `parquet:"job"`
	Direction  string  `parquet:"direction"`
	Model      string  `parquet:"model"`
	FromTxid   string  `parquet:"from_txid"`
	FromHeight int32   `parquet:"from_height"`
	Vout       int32   `parquet:"vout"`
	ToTxid     *string `parquet:"to_txid"`
	ToHeight   *int32  `parquet:"to_height"`
	Address    string  `parquet:"address"`
	Value      int64   `parquet:"value_sat"`
	Tainted    int64   `parquet:"tainted_sat"`
	End        *string `parquet:"end"` // hit | holding | dust | limit | window | wide
}

// EdgeHeader names the columns of the edges table.
var EdgeHeader = []string{"job", "direction", "model", "from_txid", "from_height", "vout", "to_txid", "to_height", "address", "value_sat", "tainted_sat", "end"}

func (e Edge) record() []string {
	return []string{e.Job, e.Direction, e.Model, e.FromTxid, i32(e.FromHeight), i32(e.Vout), str(e.ToTxid), opt32(e.ToHeight),
		e.Address, i64(e.Value), i64(e.Tainted), str(e.End)}
}

// Hit is a row of a trace's hits table.
type Hit struct {
	Job         string  `parquet:"job"`
	Direction   string  `parquet:"direction"`
	Model       string  `parquet:"model"`
	Entity      string  `parquet:"entity"`
	Category    string  `parquet:"category"`
	TagSource   string  `parquet:"tag_source"`
	Via         string  `parquet:"via"`
	Address     string  `parquet:"address"`
	Txid        string  `parquet:"txid"`
	Vout        int32   `parquet:"vout"`
	Height      int32   `parquet:"height"`
	Time        string  `parquet:"time_utc"`
	Hops        int32   `parquet:"hops"`
	Value       int64   `parquet:"value_sat"`
	Tainted     int64   `parquet:"tainted_sat"`
	Share       float64 `parquet:"share"`
	SeedAddress string  `parquet:"seed_address"`
	Path        string  `parquet:"path"` // txids joined by '>'
}

// HitHeader names the columns of the hits table.
var HitHeader = []string{"job", "direction", "model", "entity", "category", "tag_source", "via", "address", "txid", "vout", "height",
	"time_utc", "hops", "value_sat", "tainted_sat", "share", "seed_address", "path"}

func (h Hit) record() []string {
	return []string{h.Job, h.Direction, h.Model, h.Entity, h.Category, h.TagSource, h.Via, h.Address, h.Txid, i32(h.Vout), i32(h.Height),
		h.Time, i32(h.Hops), i64(h.Value), i64(h.Tainted), strconv.FormatFloat(h.Share, 'g', -1, 64), h.SeedAddress, h.Path}
}

// Trace is one named trace result to export.
type Trace struct {
	Job    string // the job's name (or the report's file name)
	Result *tracer.Result
}

// TraceStats count what was exported.
type TraceStats struct {
	Traces, Edges, Hits int64
	Tainted             int64 // Σ tainted_sat over the edges
}

// Slice yields the traces of a slice, for Traces.
func Slice(ts []Trace) iter.Seq2[Trace, error] {
	return func(yield func(Trace, error) bool) {
		for _, t := range ts {
			if !yield(t, nil) {
				return
			}
		}
	}
}

// Traces writes the edges of every trace to edges and, if hits is not
// nil, their hits to hits, in the traces' order and each result's order.
// It holds one trace at a time (LoadTraces reads them one by one).
func Traces(edges, hits io.Writer, f Format, traces iter.Seq2[Trace, error]) (TraceStats, error) {
	var st TraceStats
	et, err := newTable[Edge](edges, f, EdgeHeader)
	if err != nil {
		return st, err
	}
	var ht *table[Hit]
	if hits != nil {
		if ht, err = newTable[Hit](hits, f, HitHeader); err != nil {
			return st, err
		}
	}
	for t, err := range traces {
		if err != nil {
			return st, err
		}
		st.Traces++
		if err := traceEdges(et, t, &st); err != nil {
			return st, err
		}
		if ht == nil {
			continue
		}
		if err := traceHits(ht, t, &st); err != nil {
			return st, err
		}
	}
	if err := et.close(); err != nil {
		return st, err
	}
	if ht != nil {
		return st, ht.close()
	}
	return st, nil
}

// traceEdges writes t's edges, with the heights of their ends.
func traceEdges(et *table[Edge], t Trace, st *TraceStats) error {
	r := t.Result
	heights := make(map[string]int32, len(r.Nodes))
	for _, n := range r.Nodes {
		heights[n.Txid] = n.Height
	}
	for _, e := range r.Edges {
		row := Edge{Job: t.Job, Direction: r.Params.Direction, Model: r.Params.Model, FromTxid: e.From, FromHeight: heights[e.From],
			Vout: int32(e.Vout), Address: e.Address, Value: e.Value, Tainted: e.Tainted}
		if e.To != "" {
			to, h := e.To, heights[e.To]
			row.ToTxid, row.ToHeight = &to, &h
		}
		if e.End != "" {
			end := e.End
			row.End = &end
		}
		if err := et.add(row); err != nil {
			return err
		}
		st.Edges++
		st.Tainted += e.Tainted
	}
	return nil
}

// traceHits writes t's hits, each path as its txids joined by ">".
func traceHits(ht *table[Hit], t Trace, st *TraceStats) error {
	r := t.Result
	for _, h := range r.Hits {
		var path []string
		for _, s := range h.Path {
			path = append(path, s.Txid)
		}
		row := Hit{Job: t.Job, Direction: r.Params.Direction, Model: r.Params.Model, Entity: h.Entity, Category: h.Category,
			TagSource: h.TagSource, Via: h.Via, Address: h.Address, Txid: h.Txid, Vout: int32(h.Vout), Height: h.Height, Time: h.Time,
			Hops: int32(h.Hops), Value: h.Value, Tainted: h.Tainted, Share: h.Share, SeedAddress: h.SeedAddress, Path: strings.Join(path, ">")}
		if err := ht.add(row); err != nil {
			return err
		}
		st.Hits++
	}
	return nil
}

func i32[T ~int32 | ~uint32](v T) string { return strconv.FormatInt(int64(v), 10) }
func i64(v int64) string                 { return strconv.FormatInt(v, 10) }

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func opt32(p *int32) string {
	if p == nil {
		return ""
	}
	return i32(*p)
}

func opt64(p *int64) string {
	if p == nil {
		return ""
	}
	return i64(*p)
}
