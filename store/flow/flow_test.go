package flow_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/chaingen"
	"github.com/tracer-oss/tracer/store/flow"
	"github.com/tracer-oss/tracer/store/ingest"
	"github.com/tracer-oss/tracer/store/storetest"
)

// checkIndex compares every transaction of the index with the store
// (flow.Verify: txid, height, fee, inputs, outputs, spenders both ways) and
// checks that no spender field on disk names a transaction the index does
// not cover (a cut clears them).
func checkIndex(t *testing.T, st *store.Store, x *flow.Index) {
	t.Helper()
	state := st.State()
	raw, err := os.ReadFile(filepath.Join(flow.Dir(st.Dir()), "out.dat"))
	if err != nil {
		t.Fatal(err)
	}
	const outSize = 16 // out.dat records: the spender TxNum+1 in the low 41 bits (see flow.go)
	for i := 0; i+outSize <= len(raw); i += outSize {
		if s := binary.LittleEndian.Uint64(raw[i:]) & (1<<41 - 1); s != 0 && s-1 >= uint64(state.NextTx) {
			t.Fatalf("output %d: spender field names tx %d of %d", i/outSize, s-1, state.NextTx)
		}
	}
	r, err := flow.Verify(context.Background(), st, x)
	if err != nil {
		t.Fatal(err)
	}
	if r.Mismatches != 0 || r.Txs != int64(state.NextTx) || r.Outputs != state.Outputs || r.Inputs != state.Inputs {
		t.Fatalf("index against the store: %d mismatches, %d txs %d inputs %d outputs compared: %v", r.Mismatches, r.Txs, r.Inputs, r.Outputs, r.Problems)
	}
}

func open(t *testing.T, st *store.Store, chunk int) *flow.Index {
	t.Helper()
	x, err := flow.Open(context.Background(), st, flow.Options{ChunkTxs: chunk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Close() })
	return x
}

// TestMainnetBlocks builds the index of the first 14,132 mainnet blocks and
// checks it against the store, and block 170's famous transaction by hand.
func TestMainnetBlocks(t *testing.T) {
	st := storetest.Open(t)
	file := storetest.BtcdTestdata(t, "blk_0_to_14131.dat")
	if _, err := ingest.Run(context.Background(), st, ingest.Config{Paths: []string{file}, StartHeight: -1, ToHeight: -1}); err != nil {
		t.Fatal(err)
	}
	x := open(t, st, 0)
	checkIndex(t, st, x)
	if s := x.Stats(); s.Height != 14131 || s.Built != uint64(st.State().NextTx) || s.Rebuilt || s.Bytes != flow.Size(st.State()) {
		t.Errorf("stats %+v, estimated size %d", s, flow.Size(st.State()))
	}

	tx, err := st.Tx(mustHash(t, "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16"))
	if err != nil {
		t.Fatal(err)
	}
	if x.Height(tx.Num) != 170 {
		t.Errorf("height %d, want 170", x.Height(tx.Num))
	}
	first, _, _ := x.Inputs(tx.Num)
	in := x.In(first)
	b9, _ := st.BlockByHeight(9)
	if in.Kind != store.InputKnown || in.Prev != (store.OutPoint{Tx: b9.FirstTx}) {
		t.Fatalf("input %+v, want block 9's coinbase", in)
	}
	i, err := x.OutIndex(in.Prev)
	if err != nil {
		t.Fatal(err)
	}
	if o := x.Out(i); !o.Spent || o.By != (store.InPoint{Tx: tx.Num}) || o.Value != 50*btcutil.SatoshiPerBitcoin {
		t.Errorf("block 9 coinbase output %+v", o)
	}
	first, end, _ := x.Outputs(tx.Num)
	if end-first != 2 || x.Out(first).Value != 10*btcutil.SatoshiPerBitcoin || x.Out(first+1).Value != 40*btcutil.SatoshiPerBitcoin {
		t.Errorf("outputs of block 170's tx wrong")
	}
	// The genesis coinbase is unspendable: never spent.
	if o := x.Out(0); o.Spent {
		t.Errorf("genesis coinbase spent by %+v", o.By)
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

// TestIncremental builds the index in small chunks (so spenders in earlier
// chunks are patched), extends it after more blocks are ingested, rebuilds
// it after a rollback, after an update killed half-way (dirty header) and
// after a file was cut short, and checks it against the store each time.
func TestIncremental(t *testing.T) {
	ctx := context.Background()
	blocks := storetest.GenerateChain(t, chaingen.Config{Txs: 3000, Seed: 7, TxsPerBlock: 60})
	st := storetest.Open(t)
	ingestTo := func(h int32) {
		t.Helper()
		if _, err := ingest.Run(ctx, st, ingest.Config{Paths: []string{blocks}, StartHeight: -1, ToHeight: h}); err != nil {
			t.Fatal(err)
		}
	}
	ingestTo(40)
	x := open(t, st, 250)
	checkIndex(t, st, x)
	before := x.Stats()
	x.Close()

	ingestTo(-1)
	x = open(t, st, 250)
	checkIndex(t, st, x)
	if s := x.Stats(); s.Rebuilt || s.Built != uint64(st.State().NextTx)-before.Txs || s.Built == 0 {
		t.Errorf("extend: stats %+v after %+v", s, before)
	}
	x.Close()
	if s := open(t, st, 0).Stats(); s.Built != 0 || s.Rebuilt {
		t.Errorf("reopen without new blocks: stats %+v", s)
	}

	// A reorg: the index is cut back to the fork, the spenders the cut
	// transactions set are cleared, and the new branch is added.
	full := st.State()
	if _, err := st.Rollback(ctx, 50); err != nil {
		t.Fatal(err)
	}
	x = open(t, st, 0)
	checkIndex(t, st, x)
	if s := x.Stats(); s.Rebuilt || s.Height != 50 || s.Cut != uint64(full.NextTx-st.State().NextTx) || s.Cut == 0 {
		t.Errorf("after rollback: stats %+v", s)
	}
	x.Close()
	ingestTo(-1)
	x = open(t, st, 0)
	checkIndex(t, st, x)
	if s := x.Stats(); s.Rebuilt || s.Txs != uint64(full.NextTx) {
		t.Errorf("after the new branch: stats %+v", s)
	}
	x.Close()
	if _, err := st.Rollback(ctx, 50); err != nil {
		t.Fatal(err)
	}

	// A killed update leaves the dirty flag set.
	hdrFile := filepath.Join(flow.Dir(st.Dir()), "flow.json")
	var hdr map[string]any
	b, _ := os.ReadFile(hdrFile)
	if err := json.Unmarshal(b, &hdr); err != nil {
		t.Fatal(err)
	}
	hdr["dirty"] = true
	b, _ = json.Marshal(hdr)
	if err := os.WriteFile(hdrFile, b, 0o644); err != nil {
		t.Fatal(err)
	}
	x = open(t, st, 0)
	checkIndex(t, st, x)
	if !x.Stats().Rebuilt {
		t.Error("a dirty index was not rebuilt")
	}
	x.Close()

	// A file cut short.
	out := filepath.Join(flow.Dir(st.Dir()), "out.dat")
	fi, _ := os.Stat(out)
	if err := os.Truncate(out, fi.Size()/2); err != nil {
		t.Fatal(err)
	}
	x = open(t, st, 0)
	checkIndex(t, st, x)
	if !x.Stats().Rebuilt {
		t.Error("an index with a short file was not rebuilt")
	}
}

// TestNoUpdate: with NoUpdate, Open takes a current index and refuses a
// missing or stale one without writing anything.
func TestNoUpdate(t *testing.T) {
	st := storetest.Open(t)
	ctx := context.Background()
	file := storetest.BtcdTestdata(t, "blk_0_to_14131.dat")
	ingestTo := func(h int32) {
		if _, err := ingest.Run(ctx, st, ingest.Config{Paths: []string{file}, StartHeight: -1, ToHeight: h}); err != nil {
			t.Fatal(err)
		}
	}
	ingestTo(100)
	if _, err := flow.Open(ctx, st, flow.Options{NoUpdate: true}); !errors.Is(err, flow.ErrStale) {
		t.Fatalf("no index: err %v, want ErrStale", err)
	}
	if _, err := os.Stat(flow.Dir(st.Dir())); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("NoUpdate wrote %s", flow.Dir(st.Dir()))
	}
	open(t, st, 0).Close()
	ingestTo(200)
	if _, err := flow.Open(ctx, st, flow.Options{NoUpdate: true}); !errors.Is(err, flow.ErrStale) {
		t.Fatalf("stale index: err %v, want ErrStale", err)
	}
	open(t, st, 0).Close()
	x, err := flow.Open(ctx, st, flow.Options{NoUpdate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	checkIndex(t, st, x)
}

func TestEmptyStore(t *testing.T) {
	st := storetest.Open(t)
	if _, err := flow.Open(context.Background(), st, flow.Options{}); !errors.Is(err, flow.ErrEmpty) {
		t.Fatalf("err %v, want ErrEmpty", err)
	}
}

func TestNotCovered(t *testing.T) {
	st := storetest.Open(t)
	file := storetest.BtcdTestdata(t, "blk_0_to_14131.dat")
	if _, err := ingest.Run(context.Background(), st, ingest.Config{Paths: []string{file}, StartHeight: -1, ToHeight: 100}); err != nil {
		t.Fatal(err)
	}
	x := open(t, st, 0)
	if _, _, err := x.Outputs(x.Txs()); !errors.Is(err, flow.ErrNotCovered) {
		t.Fatalf("err %v, want ErrNotCovered", err)
	}
}

// TestInterrupted: an update stopped by its context keeps the blocks it
// finished; the next Open extends the index instead of rebuilding it.
func TestInterrupted(t *testing.T) {
	st := storetest.Open(t)
	file := storetest.BtcdTestdata(t, "blk_0_to_14131.dat")
	if _, err := ingest.Run(context.Background(), st, ingest.Config{Paths: []string{file}, StartHeight: -1, ToHeight: -1}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	_, err := flow.Open(ctx, st, flow.Options{ChunkTxs: 1000, Progress: func(done, _ uint64) {
		if done >= 8192 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	x := open(t, st, 0)
	checkIndex(t, st, x)
	if s := x.Stats(); s.Rebuilt || s.Built == 0 || s.Built > s.Txs-8192 {
		t.Errorf("after an interrupted update: stats %+v", s)
	}
}

// TestDamaged: a header with impossible counts, and an input record
// damaged in the range a reorg cuts, make Open rebuild the index.
func TestDamaged(t *testing.T) {
	ctx := context.Background()
	st := storetest.GeneratedStore(t, chaingen.Config{Txs: 1500, Seed: 9, TxsPerBlock: 50})
	open(t, st, 0).Close()
	fdir := flow.Dir(st.Dir())

	hdrFile := filepath.Join(fdir, "flow.json")
	var hdr map[string]any
	b, _ := os.ReadFile(hdrFile)
	if err := json.Unmarshal(b, &hdr); err != nil {
		t.Fatal(err)
	}
	hdr["outs"] = uint64(768614336404564651) // × 24 bytes wraps past 2^64
	b, _ = json.Marshal(hdr)
	if err := os.WriteFile(hdrFile, b, 0o644); err != nil {
		t.Fatal(err)
	}
	x := open(t, st, 0)
	checkIndex(t, st, x)
	if !x.Stats().Rebuilt {
		t.Error("a header with impossible counts was not rebuilt")
	}
	last := x.Txs() - 1
	first, _, err := x.Inputs(last)
	if err != nil {
		t.Fatal(err)
	}
	x.Close()

	// The last transaction's first input now spends an output that does
	// not exist; a reorg of the last block cuts it.
	f, err := os.OpenFile(filepath.Join(fdir, "in.dat"), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	var v [8]byte
	binary.LittleEndian.PutUint64(v[:], 1<<39) // in.dat: 5-byte output indexes
	if _, err := f.WriteAt(v[:5], int64(first)*5); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := st.Rollback(ctx, st.State().Height-1); err != nil {
		t.Fatal(err)
	}
	x = open(t, st, 0)
	checkIndex(t, st, x)
	if s := x.Stats(); !s.Rebuilt {
		t.Errorf("a damaged cut range: stats %+v, want a rebuild", s)
	}
}

// TestVerify: Verify finds an intact index equal to its store, and reports
// a changed value and a spender the store does not have.
func TestVerify(t *testing.T) {
	st := storetest.Open(t)
	file := storetest.BtcdTestdata(t, "blk_0_to_14131.dat")
	if _, err := ingest.Run(context.Background(), st, ingest.Config{Paths: []string{file}, StartHeight: -1, ToHeight: -1}); err != nil {
		t.Fatal(err)
	}
	x := open(t, st, 0)
	r, err := flow.Verify(context.Background(), st, x)
	if err != nil {
		t.Fatal(err)
	}
	if r.Mismatches != 0 || r.Txs != int64(st.State().NextTx) || r.Spends == 0 {
		t.Fatalf("intact index: %+v", r)
	}
	x.Close()
	// Output 0 (genesis, unspendable): another value and a spender.
	f, err := os.OpenFile(filepath.Join(flow.Dir(st.Dir()), "out.dat"), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:], 1)
	binary.LittleEndian.PutUint64(b[8:], 171<<24)
	if _, err := f.WriteAt(b[:], 0); err != nil {
		t.Fatal(err)
	}
	f.Close()
	// A reader refuses the damaged index, naming the file...
	if x, err = flow.Open(context.Background(), st, flow.Options{NoUpdate: true}); !errors.Is(err, flow.ErrCorrupt) || !strings.Contains(err.Error(), "out.dat") {
		if err == nil {
			x.Close()
		}
		t.Fatalf("damaged index opened for reading: %v, want ErrCorrupt naming out.dat", err)
	}
	// ...and an Open that may write rebuilds it, saying why.
	x, err = flow.Open(context.Background(), st, flow.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if s := x.Stats(); !s.Rebuilt || !strings.Contains(s.Damage, "out.dat") {
		t.Fatalf("stats after a damaged index: %+v", s)
	}
	if r, err = flow.Verify(context.Background(), st, x); err != nil || r.Mismatches != 0 {
		t.Fatalf("rebuilt index: %+v, %v", r, err)
	}
}
