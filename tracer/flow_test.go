package tracer_test

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/tracer-oss/tracer/sanctions/address"
	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/chaingen"
	"github.com/tracer-oss/tracer/store/flow"
	"github.com/tracer-oss/tracer/store/ingest"
	"github.com/tracer-oss/tracer/store/storetest"
	"github.com/tracer-oss/tracer/tracer"
)

// mainnetStore ingests the first blocks of btcd's mainnet file up to h.
func mainnetStore(t *testing.T, h int32) *store.Store {
	t.Helper()
	st := storetest.Open(t)
	ingestMainnet(t, st, h)
	return st
}

func ingestMainnet(t *testing.T, st *store.Store, h int32) {
	t.Helper()
	file := storetest.BtcdTestdata(t, "blk_0_to_14131.dat")
	if _, err := ingest.Run(context.Background(), st, ingest.Config{Paths: []string{file}, StartHeight: -1, ToHeight: h}); err != nil {
		t.Fatal(err)
	}
}

// block9 is the address block 9's coinbase paid: the first coins ever sent
// to someone else (block 170).
func block9(t *testing.T) []tracer.Seed {
	a, err := address.Parse("12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S", &chaincfg.MainNetParams)
	if err != nil {
		t.Fatal(err)
	}
	return []tracer.Seed{{Addr: a}}
}

// TestFlowBehindStore: a walk refuses an index that does not cover the
// store (it would read later spends as unspent).
func TestFlowBehindStore(t *testing.T) {
	st := mainnetStore(t, 200)
	x, err := flow.Open(context.Background(), st, flow.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	ingestMainnet(t, st, 300)
	_, err = tracer.Forward(context.Background(), &tracer.FlowGraph{Graph: st, Flow: x}, nil, block9(t), tracer.Options{Params: &chaincfg.MainNetParams})
	if !errors.Is(err, flow.ErrStale) {
		t.Fatalf("err %v, want flow.ErrStale", err)
	}
}

// TestFlowCorruptSpender: an index whose spender field was changed to name
// an input that does not spend the output is refused when opened (its
// checksums), never followed.
func TestFlowCorruptSpender(t *testing.T) {
	ctx := context.Background()
	st := storetest.GeneratedStore(t, chaingen.Config{Txs: 800, Seed: 3, TxsPerBlock: 50})
	params := &chaincfg.RegressionNetParams
	seeds := coinbaseSeeds(t, st, st.State().Height)
	opt := tracer.Options{Params: params, StopCategories: []string{}}
	res, err := tracer.Forward(ctx, st, nil, seeds, opt)
	if err != nil {
		t.Fatal(err)
	}
	// An output the walk followed from a transaction past the seeds'.
	seedTx := map[string]bool{}
	for _, n := range res.Nodes {
		seedTx[n.Txid] = n.Seed
	}
	var op store.OutPoint
	for _, e := range res.Edges {
		if e.To != "" && !seedTx[e.From] {
			tx, err := st.Tx(mustHash(t, e.From))
			if err != nil {
				t.Fatal(err)
			}
			op = store.OutPoint{Tx: tx.Num, Vout: e.Vout}
			break
		}
	}
	if op.Tx == 0 {
		t.Fatal("the walk followed no output past the seeds' transactions")
	}
	x, err := flow.Open(ctx, st, flow.Options{})
	if err != nil {
		t.Fatal(err)
	}
	i, err := x.OutIndex(op)
	if err != nil {
		t.Fatal(err)
	}
	// Name another transaction's first input, which spends something else.
	by := x.Out(i).By
	for n := by.Tx + 1; ; n++ {
		first, _, err := x.Inputs(n)
		if err != nil {
			t.Fatal(err)
		}
		if in := x.In(first); in.Kind == store.InputKnown && in.Prev != op {
			by = store.InPoint{Tx: n}
			break
		}
	}
	x.Close()
	f, err := os.OpenFile(filepath.Join(flow.Dir(st.Dir()), "out.dat"), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], (uint64(by.Tx)+1)<<24|uint64(by.Vin))
	if _, err := f.WriteAt(b[:], int64(i)*24+8); err != nil {
		t.Fatal(err)
	}
	f.Close()
	// The index's checksums find the changed spender when it is opened,
	// before a walk could follow it.
	x, err = flow.Open(ctx, st, flow.Options{NoUpdate: true})
	if err == nil {
		defer x.Close()
		_, err = tracer.Forward(ctx, &tracer.FlowGraph{Graph: st, Flow: x}, nil, seeds, opt)
		t.Fatalf("a damaged index opened; the walk said %v", err)
	}
	if !errors.Is(err, flow.ErrCorrupt) || !strings.Contains(err.Error(), "out.dat") {
		t.Fatalf("err %v, want flow.ErrCorrupt naming out.dat", err)
	}
}

func mustHash(t *testing.T, s string) chainhash.Hash {
	t.Helper()
	h, err := chainhash.NewHashFromStr(s)
	if err != nil {
		t.Fatal(err)
	}
	return *h
}
