package export

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"reflect"
	"testing"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/parquet-go/parquet-go"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/flow"
	"github.com/tracer-oss/tracer/store/ingest"
	"github.com/tracer-oss/tracer/store/storetest"
	"github.com/tracer-oss/tracer/tracer/internal/scamstore"
)

// referenceGraph computes the graph tables of blocks from..to straight
// from the store, a transaction and a spent-by entry at a time, as Graph
// did before it read the flow index: the rows Graph must write.
func referenceGraph(t *testing.T, st *store.Store, params *chaincfg.Params, from, to int32) (txs []Tx, ins []Input, outs []Output) {
	t.Helper()
	get := func(n store.TxNum) *store.Tx {
		tx, err := st.TxByNum(n)
		if err != nil {
			t.Fatal(err)
		}
		return tx
	}
	addr := func(o store.Output) *string {
		if !o.Addr.Kind.HasAddress() {
			return nil
		}
		a := o.Addr.String(params)
		return &a
	}
	for h := from; h <= to; h++ {
		b, err := st.BlockByHeight(h)
		if err != nil {
			t.Fatal(err)
		}
		for n := b.FirstTx; n < b.FirstTx+store.TxNum(b.NumTx); n++ {
			tx := get(n)
			id := tx.ID.String()
			row := Tx{Txid: id, Number: int64(n), Height: h, Position: int32(tx.Pos), VSize: int32(tx.VSize),
				NIn: int32(len(tx.Inputs)), NOut: int32(len(tx.Outputs)), Coinbase: tx.Coinbase}
			if tx.FeeKnown {
				fee := tx.Fee
				row.Fee = &fee
			}
			txs = append(txs, row)
			for i, in := range tx.Inputs {
				r := Input{Txid: id, Vin: int32(i)}
				switch in.Kind {
				case store.InputKnown:
					prev := get(in.Prev.Tx)
					pid, vout, v := prev.ID.String(), int32(in.Prev.Vout), prev.Outputs[in.Prev.Vout].Value
					r.PrevTxid, r.PrevVout, r.Value, r.Address = &pid, &vout, &v, addr(prev.Outputs[in.Prev.Vout])
				case store.InputExternal:
					pid, vout := in.Ext.Hash.String(), int32(in.Ext.Index)
					r.PrevTxid, r.PrevVout = &pid, &vout
				}
				ins = append(ins, r)
			}
			for i, o := range tx.Outputs {
				r := Output{Txid: id, Vout: int32(i), Value: o.Value, Type: o.Addr.Kind.String(), Address: addr(o)}
				sp, spent, err := st.SpentBy(store.OutPoint{Tx: n, Vout: uint32(i)})
				if err != nil {
					t.Fatal(err)
				}
				if spent {
					sid, vin := get(sp.Tx).ID.String(), int32(sp.Vin)
					r.SpentByTxid, r.SpentByVin = &sid, &vin
				}
				outs = append(outs, r)
			}
		}
	}
	return txs, ins, outs
}

func readRows[T any](t *testing.T, b []byte) []T {
	t.Helper()
	r := parquet.NewGenericReader[T](bytes.NewReader(b))
	defer r.Close()
	rows := make([]T, r.NumRows())
	n, err := r.Read(rows)
	if err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	return rows[:n]
}

func readCSV(t *testing.T, b []byte) [][]string {
	t.Helper()
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs[1:] // the header
}

func records[T row](rows []T) [][]string {
	out := make([][]string, len(rows))
	for i, r := range rows {
		out[i] = r.record()
	}
	return out
}

func sameRows[T any](t *testing.T, table string, got, want []T) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d rows, want %d", table, len(got), len(want))
	}
	for i := range got {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Fatalf("%s row %d:\n got  %s\n want %s", table, i, show(got[i]), show(want[i]))
		}
	}
}

// show prints a row with its pointers followed.
func show(r any) string {
	v := reflect.ValueOf(r)
	s := "{"
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		if f.Kind() == reflect.Pointer {
			if f.IsNil() {
				s += fmt.Sprintf(" %s:nil", v.Type().Field(i).Name)
				continue
			}
			f = f.Elem()
		}
		s += fmt.Sprintf(" %s:%v", v.Type().Field(i).Name, f.Interface())
	}
	return s + " }"
}

// prunedStore holds btcd's real mainnet block 277647 alone: inputs
// spending before it are external (prev txid and vout, no value or
// address), fees of their transactions unknown; some spend outputs of the
// same block.
func prunedStore(t *testing.T) *store.Store {
	t.Helper()
	st := storetest.Open(t)
	blocks := storetest.BtcdTestdata(t, "277647.dat.bz2")
	if _, err := ingest.Run(context.Background(), st, ingest.Config{Paths: []string{blocks}, StartHeight: -1, ToHeight: -1}); err != nil {
		t.Fatal(err)
	}
	if st.State().External == 0 {
		t.Fatal("the pruned store has no external inputs")
	}
	return st
}

// TestGraphRowsMatchStore exports ranges of the generated scam chain, as
// Parquet and as CSV, and compares every row and column with
// referenceGraph: whole stores and a range starting mid-store (inputs
// spending before it), a store with a pruned start (external inputs), and
// windows of recent txids and addresses small enough that inputs reach
// past them (store reads) as well as the default ones.
func TestGraphRowsMatchStore(t *testing.T) {
	full := scamstore.Open(t)
	pruned := prunedStore(t)
	tip, real := full.State().Height, pruned.State().Height
	cases := []struct {
		name      string
		st        *store.Store
		params    *chaincfg.Params
		from, to  int32
		wTx, wOut uint64
		reads     bool // some inputs spend past the windows
	}{
		{"whole", full, scamstore.Params, 0, tip, windowTxs, WindowOutputs, false},
		{"whole/small-windows", full, scamstore.Params, 0, tip, 7, 13, true},
		{"whole/window-of-one", full, scamstore.Params, 0, tip, 1, 1, true},
		{"from-300", full, scamstore.Params, 300, tip - 5, windowTxs, WindowOutputs, true},
		{"from-300/small-windows", full, scamstore.Params, 300, tip, 5, 9, true},
		{"pruned", pruned, &chaincfg.MainNetParams, real, real, windowTxs, WindowOutputs, false},
		{"pruned/window-of-one", pruned, &chaincfg.MainNetParams, real, real, 1, 1, true},
	}
	for _, tc := range cases {
		x, err := flow.Open(context.Background(), tc.st, flow.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { x.Close() })
		wantTxs, wantIns, wantOuts := referenceGraph(t, tc.st, tc.params, tc.from, tc.to)
		for _, f := range []Format{Parquet, CSV} {
			t.Run(tc.name+"/"+string(f), func(t *testing.T) {
				var tb, ib, ob bytes.Buffer
				gs, err := graph(context.Background(), tc.st, x, tc.params, tc.from, tc.to, f,
					GraphWriters{Txs: &tb, Inputs: &ib, Outputs: &ob}, tc.wTx, tc.wOut)
				if err != nil {
					t.Fatal(err)
				}
				if gs.Txs != int64(len(wantTxs)) || gs.Inputs != int64(len(wantIns)) || gs.Outputs != int64(len(wantOuts)) {
					t.Fatalf("stats %+v for %d txs, %d inputs, %d outputs", gs, len(wantTxs), len(wantIns), len(wantOuts))
				}
				if (gs.StoreReads > 0) != tc.reads {
					t.Errorf("%d store reads", gs.StoreReads)
				}
				if f == Parquet {
					sameRows(t, "txs", readRows[Tx](t, tb.Bytes()), wantTxs)
					sameRows(t, "inputs", readRows[Input](t, ib.Bytes()), wantIns)
					sameRows(t, "outputs", readRows[Output](t, ob.Bytes()), wantOuts)
					return
				}
				sameRows(t, "txs", readCSV(t, tb.Bytes()), records(wantTxs))
				sameRows(t, "inputs", readCSV(t, ib.Bytes()), records(wantIns))
				sameRows(t, "outputs", readCSV(t, ob.Bytes()), records(wantOuts))
			})
		}
	}
}
