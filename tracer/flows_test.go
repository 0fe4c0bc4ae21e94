package tracer_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/btcsuite/btcd/chaincfg"

	"github.com/tracer-oss/tracer/tracer"
	"github.com/tracer-oss/tracer/tracer/taint"
)

// TestFlowsAgainstTruth traces the scenario forward under every model and
// compares the taint of every output of its economy flows (an OTC desk
// paying merchants with tainted coins and customers from clean
// inventory, who pay others in turn) with the truth: a false positive is
// an output the truth calls clean under the model that the trace taints,
// a false negative the reverse; the target is zero of both, and every
// tainted amount equal to the satoshi.
func TestFlowsAgainstTruth(t *testing.T) {
	c := loadScamChain(t)
	if len(c.truth.Flows) < 8 {
		t.Fatalf("the truth has %d flow outputs; the scenario should have sold mule coins to the desk", len(c.truth.Flows))
	}
	for _, g := range c.graphs() {
		for _, m := range taint.Models {
			t.Run(g.name+"/"+m.String(), func(t *testing.T) {
				res, err := tracer.Forward(context.Background(), g.g, c.lab, c.seeds, tracer.Options{Model: m, Params: &chaincfg.RegressionNetParams, MaxHops: 200})
				if err != nil {
					t.Fatal(err)
				}
				got := map[string]int64{}
				for _, e := range res.Edges {
					got[fmt.Sprintf("%s:%d", e.From, e.Vout)] += e.Tainted
				}
				var fp, fn, exact, clean, tainted int
				for _, f := range c.truth.Flows {
					want := f.Taint.Get(truthModel(m))
					have := got[fmt.Sprintf("%s:%d", f.Txid, f.Vout)]
					switch {
					case want == 0 && have > 0:
						fp++
						t.Errorf("%s %s:%d clean in the truth, traced with %d sat", f.Kind, f.Txid, f.Vout, have)
					case want > 0 && have == 0:
						fn++
						t.Errorf("%s %s:%d tainted %d sat in the truth, not traced", f.Kind, f.Txid, f.Vout, want)
					case want != have:
						t.Errorf("%s %s:%d: traced %d sat, truth %d", f.Kind, f.Txid, f.Vout, have, want)
					default:
						exact++
					}
					if want == 0 {
						clean++
					} else {
						tainted++
					}
				}
				t.Logf("%s: %d flow outputs (%d clean, %d tainted): %d false positives, %d false negatives, %d exact", m, len(c.truth.Flows), clean, tainted, fp, fn, exact)
				if clean == 0 || tainted == 0 {
					t.Errorf("flows need clean and tainted outputs: %d and %d", clean, tainted)
				}
			})
		}
	}
}
