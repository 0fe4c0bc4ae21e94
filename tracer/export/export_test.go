package export_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/tracer"
	"github.com/tracer-oss/tracer/tracer/export"
	"github.com/tracer-oss/tracer/tracer/internal/scamstore"
	"github.com/tracer-oss/tracer/tracer/seedsel"
	"github.com/tracer-oss/tracer/tracer/taint"
)

func TestMain(m *testing.M) {
	code := m.Run()
	scamstore.Remove()
	os.Exit(code)
}

// storeSums are the totals of blocks from..to computed straight from the
// store, independently of the exporter.
type storeSums struct {
	txs, inputs, outputs, spent int64
	outValue, inValue           int64
}

func sums(t *testing.T, st *store.Store, from, to int32) storeSums {
	t.Helper()
	var s storeSums
	for h := from; h <= to; h++ {
		b, err := st.BlockByHeight(h)
		if err != nil {
			t.Fatal(err)
		}
		for n := b.FirstTx; n < b.FirstTx+store.TxNum(b.NumTx); n++ {
			tx, err := st.TxByNum(n)
			if err != nil {
				t.Fatal(err)
			}
			s.txs++
			s.inputs += int64(len(tx.Inputs))
			for i, o := range tx.Outputs {
				s.outputs++
				s.outValue += o.Value
				if _, spent, _ := st.SpentBy(store.OutPoint{Tx: n, Vout: uint32(i)}); spent {
					s.spent++
				}
			}
			for _, in := range tx.Inputs {
				if in.Kind == store.InputKnown {
					prev, err := st.TxByNum(in.Prev.Tx)
					if err != nil {
						t.Fatal(err)
					}
					s.inValue += prev.Outputs[in.Prev.Vout].Value
				}
			}
		}
	}
	return s
}

func readAll[T any](t *testing.T, path string) []T {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := parquet.NewGenericReader[T](f)
	defer r.Close()
	rows := make([]T, r.NumRows())
	n, err := r.Read(rows)
	if err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	return rows[:n]
}

// TestGraphParquet exports a height range and reads it back with
// parquet-go's generic reader into its own row types (not the exporter's),
// checking counts and sums against the store.
func TestGraphParquet(t *testing.T) {
	st := scamstore.Open(t)
	x := openFlow(t, st)
	from, to := int32(300), st.State().Height
	dir := t.TempDir()
	gs, err := export.GraphDir(context.Background(), st, x, scamstore.Params, from, to, export.Parquet, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := sums(t, st, from, to)
	type txRow struct {
		Txid   string `parquet:"txid"`
		Height int32  `parquet:"height"`
		NIn    int32  `parquet:"n_in"`
		NOut   int32  `parquet:"n_out"`
		Fee    *int64 `parquet:"fee_sat"`
	}
	type inRow struct {
		Txid  string `parquet:"txid"`
		Value *int64 `parquet:"value_sat"`
	}
	type outRow struct {
		Value   int64   `parquet:"value_sat"`
		Type    string  `parquet:"type"`
		Address *string `parquet:"address"`
		SpentBy *string `parquet:"spent_by_txid"`
		Vin     *int32  `parquet:"spent_by_vin"`
	}
	tp, ip, op := export.GraphFiles(dir, export.Parquet)
	txs, ins, outs := readAll[txRow](t, tp), readAll[inRow](t, ip), readAll[outRow](t, op)
	var nIn, nOut int64
	for _, r := range txs {
		if r.Height < from || r.Height > to {
			t.Fatalf("tx %s at height %d outside %d–%d", r.Txid, r.Height, from, to)
		}
		nIn += int64(r.NIn)
		nOut += int64(r.NOut)
	}
	var inValue, outValue, spent int64
	for _, r := range ins {
		if r.Value != nil {
			inValue += *r.Value
		}
	}
	for _, r := range outs {
		outValue += r.Value
		if (r.SpentBy == nil) != (r.Vin == nil) || (r.Address == nil) != (r.Type == "op_return") {
			t.Fatalf("output row %+v", r)
		}
		if r.SpentBy != nil {
			spent++
		}
	}
	got := storeSums{txs: int64(len(txs)), inputs: int64(len(ins)), outputs: int64(len(outs)), spent: spent, outValue: outValue, inValue: inValue}
	if got != want || nIn != want.inputs || nOut != want.outputs || gs.Txs != want.txs || gs.OutputValue != want.outValue {
		t.Fatalf("read back %+v (n_in %d, n_out %d)\nstore      %+v\nstats %+v", got, nIn, nOut, want, gs)
	}
	t.Logf("blocks %d–%d: %d txs, %d inputs, %d outputs, Σ outputs %d sat", from, to, got.txs, got.inputs, got.outputs, got.outValue)
}

func TestGraphCSV(t *testing.T) {
	st := scamstore.Open(t)
	x := openFlow(t, st)
	dir := t.TempDir()
	gs, err := export.GraphDir(context.Background(), st, x, scamstore.Params, 400, 420, export.CSV, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _, op := export.GraphFiles(dir, export.CSV)
	f, _ := os.Open(op)
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != int(gs.Outputs)+1 || len(recs[0]) != len(export.OutputHeader) || recs[0][0] != "txid" {
		t.Fatalf("%d records for %d outputs, header %v", len(recs), gs.Outputs, recs[0])
	}
	for _, bad := range [][2]int32{{420, 400}, {0, st.State().Height + 1}, {-1, 3}} {
		if _, err := export.GraphDir(context.Background(), st, x, scamstore.Params, bad[0], bad[1], export.CSV, dir, nil); !errors.Is(err, export.ErrRange) {
			t.Errorf("range %v: %v", bad, err)
		}
	}
}

func TestTraceParquet(t *testing.T) {
	st := scamstore.Open(t)
	sel := seedsel.New(st, scamstore.Params)
	seeds, _, err := sel.Seeds(context.Background(), seedsel.Selection{Program: "CYBER2"})
	if err != nil {
		t.Fatal(err)
	}
	lab, _ := sel.Labels(false)
	var traces []export.Trace
	for _, m := range []taint.Model{taint.Haircut, taint.FIFO} {
		res, err := tracer.Forward(context.Background(), st, lab, seeds, tracer.Options{Model: m, Params: scamstore.Params})
		if err != nil {
			t.Fatal(err)
		}
		traces = append(traces, export.Trace{Job: m.String(), Result: res})
	}
	var edges, hits bytes.Buffer
	ts, err := export.Traces(&edges, &hits, export.Parquet, export.Slice(traces))
	if err != nil {
		t.Fatal(err)
	}
	er := parquet.NewGenericReader[export.Edge](bytes.NewReader(edges.Bytes()))
	erows := make([]export.Edge, er.NumRows())
	n, _ := er.Read(erows)
	hr := parquet.NewGenericReader[export.Hit](bytes.NewReader(hits.Bytes()))
	hrows := make([]export.Hit, hr.NumRows())
	hn, _ := hr.Read(hrows)
	var wantEdges, wantHits int
	var wantTainted, gotTainted, wantHitTaint, gotHitTaint int64
	for _, tr := range traces {
		wantEdges += len(tr.Result.Edges)
		wantHits += len(tr.Result.Hits)
		for _, e := range tr.Result.Edges {
			wantTainted += e.Tainted
		}
		for _, h := range tr.Result.Hits {
			wantHitTaint += h.Tainted
		}
	}
	for _, e := range erows[:n] {
		gotTainted += e.Tainted
	}
	for _, h := range hrows[:hn] {
		gotHitTaint += h.Tainted
	}
	if n != wantEdges || hn != wantHits || gotTainted != wantTainted || gotHitTaint != wantHitTaint || ts.Edges != int64(wantEdges) || wantHits == 0 {
		t.Fatalf("edges %d/%d Σtainted %d/%d, hits %d/%d Σtainted %d/%d", n, wantEdges, gotTainted, wantTainted, hn, wantHits, gotHitTaint, wantHitTaint)
	}
	if first := erows[0]; first.Job != "haircut" || first.Model != "haircut" || first.FromTxid == "" {
		t.Errorf("first edge %+v", first)
	}
	if last := hrows[hn-1]; last.Job != "fifo" || last.Path == "" {
		t.Errorf("last hit %+v", last)
	}

	// The same through a report.json on disk.
	dir := t.TempDir()
	path := filepath.Join(dir, "case.json")
	var js bytes.Buffer
	if err := reportJSON(&js, traces[0].Result); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, js.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	var loaded []export.Trace
	for tr, err := range export.LoadTraces(path) {
		if err != nil {
			t.Fatal(err)
		}
		loaded = append(loaded, tr)
	}
	if len(loaded) != 1 || loaded[0].Job != "case" || len(loaded[0].Result.Edges) != len(traces[0].Result.Edges) {
		t.Fatalf("LoadTraces: %+v", loaded)
	}
	if err := os.WriteFile(filepath.Join(dir, "junk.json"), []byte(`{"a": 1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"nope.json", "junk.json"} {
		var buf bytes.Buffer
		if _, err := export.Traces(&buf, nil, export.CSV, export.LoadTraces(filepath.Join(dir, bad))); !errors.Is(err, export.ErrNotTrace) && !errors.Is(err, os.ErrNotExist) {
			t.Errorf("exporting %s succeeded", bad)
		}
	}
}
