package report

import (
	"bytes"
	"encoding/csv"
	"testing"

	"github.com/tracer-oss/tracer/tracer"
)

// FuzzRender puts arbitrary strings and numbers into a result and checks
// that every format renders, the SVG is well-formed XML, the HTML's tags
// balance and the CSV reads back with one row per hit.
func FuzzRender(f *testing.F) {
	f.Add("Binance", "bc1qexample", "ab12", int64(100_000_000), int64(60_000_000), 2)
	f.Add("<b>&\"'", "\x00\xff\u202e", "", int64(-1), int64(1<<62), -3)
	f.Add("=1+1", "a\nb", "]]>", int64(0), int64(0), 1<<30)
	f.Fuzz(func(t *testing.T, entity, addr, txid string, value, tainted int64, hops int) {
		r := fixture(false)
		r.Hits = append(r.Hits, tracer.Hit{Entity: entity, Address: addr, Txid: txid, Value: value, Tainted: tainted, Hops: hops,
			Path: []tracer.Step{{Txid: txid}, {Txid: entity}}})
		r.Nodes = append(r.Nodes, tracer.Node{Txid: txid, Hops: hops, Seed: hops%2 == 0}, tracer.Node{Txid: entity, Hops: hops + 1})
		r.Edges = append(r.Edges,
			tracer.Edge{From: txid, To: entity, Address: addr, Tainted: tainted},
			tracer.Edge{From: entity, Address: addr, End: "hit", Tainted: value},
			tracer.Edge{From: addr, Address: entity, End: txid, Tainted: value})
		r.Totals.PerEntity[entity] += tainted
		r.Seeds = append(r.Seeds, tracer.SeedInfo{Address: addr, Label: entity})
		r.Params.Model, r.PartialWhy, r.Partial = entity, txid, hops%3 == 0
		for _, format := range Formats() {
			var b bytes.Buffer
			if err := testRenderer.Write(&b, format, r); err != nil {
				t.Fatalf("%s: %v", format, err)
			}
			switch format {
			case "svg":
				parseXML(t, b.Bytes())
			case "html":
				checkBalanced(t, b.Bytes())
				parseXML(t, inlineSVG(t, b.Bytes()))
			case "csv":
				rows, err := csv.NewReader(&b).ReadAll()
				if err != nil {
					t.Fatalf("csv: %v", err)
				}
				if len(rows) != len(r.Hits)+1 {
					t.Fatalf("csv: %d rows for %d hits", len(rows), len(r.Hits))
				}
			}
		}
	})
}
