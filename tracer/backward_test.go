package tracer_test

import (
	"context"
	"testing"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/tracer-oss/tracer/sanctions/address"
	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/tracer"
	"github.com/tracer-oss/tracer/tracer/taint"
)

// TestBackwardAgainstTruth: tracing each tainted tagged deposit backward to
// the sanctioned seeds attributes to them what the forward haircut truth
// says reached the deposit, up to one satoshi of rounding per transaction.
func TestBackwardAgainstTruth(t *testing.T) {
	c := loadScamChain(t)
	params := &chaincfg.RegressionNetParams
	lab := tracer.MapLabeler{}
	for a, l := range c.lab {
		lab[a] = l
	}
	sanctioned := map[string]bool{}
	for _, s := range c.seeds {
		sanctioned[s.Label] = true
		lab[s.Addr] = tracer.Label{Entity: s.Label, Category: "sanctioned", Source: "truth"}
	}
	checked := 0
	for _, d := range c.truth.Deposits {
		if !d.Tagged || d.Taint.Haircut == 0 {
			continue
		}
		a, err := address.Parse(d.Address, params)
		if err != nil {
			t.Fatal(err)
		}
		id, _ := chainhash.NewHashFromStr(d.Txid)
		tx, err := c.st.Tx(*id)
		if err != nil {
			t.Fatal(err)
		}
		res, err := tracer.Backward(context.Background(), c.st, lab, []tracer.Seed{{Addr: a}}, []store.OutPoint{{Tx: tx.Num, Vout: d.Vout}},
			tracer.Options{Model: taint.Haircut, Params: params, StopCategories: []string{"sanctioned"}, MaxHops: 200})
		if err != nil {
			t.Fatal(err)
		}
		var got int64
		for e, v := range res.Totals.PerEntity {
			if sanctioned[e] {
				got += v
			}
		}
		diff := got - d.Taint.Haircut
		if diff < 0 {
			diff = -diff
		}
		if diff > int64(len(res.Edges)+res.Params.TxsVisited) { // floor rounding: at most 1 sat per edge each way
			t.Errorf("deposit %s:%d: backward attributes %d to the seeds, forward truth %d (visited %d)", d.Txid, d.Vout, got, d.Taint.Haircut, res.Params.TxsVisited)
		}
		if tot := res.Totals; tot.Traced != tot.ToEntities+tot.Dust+tot.Cut {
			t.Errorf("deposit %s: totals do not add up: %+v", d.Txid, tot)
		}
		checked++
	}
	if checked == 0 {
		t.Fatal("no tagged tainted deposit in the truth")
	}
	t.Logf("%d deposits traced back to their sanctioned sources", checked)
}
