package ingest_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/tracer-oss/tracer/sanctions/address"
	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/blockfile"
	"github.com/tracer-oss/tracer/store/ingest"
	"github.com/tracer-oss/tracer/store/storetest"
)

func run(t *testing.T, st *store.Store, cfg ingest.Config) ingest.Result {
	t.Helper()
	if cfg.StartHeight == 0 {
		cfg.StartHeight = -1
	}
	if cfg.ToHeight == 0 {
		cfg.ToHeight = -1
	}
	res, err := ingest.Run(context.Background(), st, cfg)
	if err != nil {
		t.Fatalf("ingest: %v", err)
	}
	return res
}

func mustHash(t *testing.T, s string) chainhash.Hash {
	t.Helper()
	h, err := chainhash.NewHashFromStr(s)
	if err != nil {
		t.Fatal(err)
	}
	return *h
}

// TestMainnetEarlyChain ingests the real mainnet blocks 0–14131 that btcd
// ships and checks facts anyone can verify on a block explorer.
func TestMainnetEarlyChain(t *testing.T) {
	file := storetest.BtcdTestdata(t, "blk_0_to_14131.dat")
	st := storetest.Open(t)
	res := run(t, st, ingest.Config{Paths: []string{file}})

	// Independent totals, straight from the file with btcd's decoder.
	var txs, ins, outs int64
	for _, raw := range storetest.RawBlocks(t, file) {
		var b wire.MsgBlock
		if err := b.Deserialize(bytesReader(raw)); err != nil {
			t.Fatal(err)
		}
		for _, tx := range b.Transactions {
			txs++
			ins += int64(len(tx.TxIn))
			outs += int64(len(tx.TxOut))
		}
	}
	if res.Network != "mainnet" || res.FromHeight != 0 || res.ToHeight != 14131 || res.Blocks != 14132 {
		t.Fatalf("result %+v", res)
	}
	s := st.State()
	if int64(s.NextTx) != txs || s.Inputs != ins || s.Outputs != outs || txs != 14247 {
		t.Fatalf("state %+v, file has %d txs %d inputs %d outputs", s, txs, ins, outs)
	}
	// 14,131 spendable coinbases of 50 BTC; genesis's does not count; fees
	// in this era were zero, so nothing left the supply.
	if s.Value != 14131*50e8 {
		t.Errorf("unspent value %d, want %d", s.Value, int64(14131*50e8))
	}
	if s.Hash != mustHash(t, "00000000b3e750f37fdb42e1018799a9f44b546d393b130b369590a072430a1c") {
		t.Errorf("tip hash %s", s.Hash)
	}

	// Block 170: the first bitcoin payment, Satoshi to Hal Finney.
	tx, err := st.Tx(mustHash(t, "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16"))
	if err != nil {
		t.Fatal(err)
	}
	if tx.Height != 170 || tx.Pos != 1 || len(tx.Inputs) != 1 || len(tx.Outputs) != 2 || !tx.FeeKnown || tx.Fee != 0 {
		t.Fatalf("tx 170: %+v", tx)
	}
	params := &chaincfg.MainNetParams
	want := []struct {
		addr  string
		value int64
	}{{"1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3", 10e8}, {"12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S", 40e8}}
	for i, w := range want {
		if got := tx.Outputs[i].Addr.String(params); got != w.addr || tx.Outputs[i].Value != w.value || tx.Outputs[i].Addr.Kind != address.P2PK {
			t.Errorf("output %d: %s %d %v, want %s %d p2pk", i, got, tx.Outputs[i].Value, tx.Outputs[i].Addr.Kind, w.addr, w.value)
		}
	}
	// It spends block 9's coinbase, whose spent-by points back at it.
	fund, err := st.TxByNum(tx.Inputs[0].Prev.Tx)
	if err != nil {
		t.Fatal(err)
	}
	if fund.Height != 9 || !fund.Coinbase || fund.ID != mustHash(t, "0437cd7f8525ceed2324359c2d0ba26006d92d856a9c20fa0241106ee5a597c9") {
		t.Fatalf("funding tx: height %d coinbase %v id %s", fund.Height, fund.Coinbase, fund.ID)
	}
	sp, ok, err := st.SpentBy(store.OutPoint{Tx: fund.Num, Vout: 0})
	if err != nil || !ok || sp != (store.InPoint{Tx: tx.Num, Vin: 0}) {
		t.Fatalf("spent-by of block 9 coinbase: %v %v %v", sp, ok, err)
	}
	// The address index finds the payment under the P2PKH address.
	a, err := address.Parse("1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3", params)
	if err != nil {
		t.Fatal(err)
	}
	var found []store.AddrOutput
	if err := st.AddressOutputs(a, store.OutPoint{}, func(o store.AddrOutput) bool { found = append(found, o); return true }); err != nil {
		t.Fatal(err)
	}
	if len(found) == 0 || found[0].TxID != tx.ID || found[0].Vout != 0 {
		t.Fatalf("address index: %+v", found)
	}

	// Genesis: its coinbase output is unspendable and in no spent-by.
	gen, err := st.TxByNum(0)
	if err != nil {
		t.Fatal(err)
	}
	if gen.ID != mustHash(t, "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b") {
		t.Fatalf("tx 0 is %s", gen.ID)
	}
	if _, ok, _ := st.SpentBy(store.OutPoint{Tx: 0, Vout: 0}); ok {
		t.Fatal("genesis coinbase output has a spender")
	}
	if err := st.ForEachSpend(func(op store.OutPoint, _ store.InPoint) error {
		if op.Tx == 0 {
			t.Errorf("spent-by entry for genesis: %+v", op)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	vr, err := st.Verify(context.Background(), params)
	if err != nil {
		t.Fatal(err)
	}
	if len(vr.Problems) > 0 || vr.Blocks != 14132 || vr.Spends != ins-14132 {
		t.Fatalf("verify: %+v", vr)
	}
}

// TestPrunedStart ingests btcd's single block 277647: its height comes from
// BIP34, and every input spends before the range.
func TestPrunedStart(t *testing.T) {
	st := storetest.Open(t)
	res := run(t, st, ingest.Config{Paths: []string{storetest.BtcdTestdata(t, "277647.dat.bz2")}})
	if res.FromHeight != 277647 || res.ToHeight != 277647 || res.External == 0 {
		t.Fatalf("result %+v", res)
	}
	s := st.State()
	spends := int64(0)
	if err := st.ForEachSpend(func(store.OutPoint, store.InPoint) error { spends++; return nil }); err != nil {
		t.Fatal(err)
	}
	// Every non-coinbase input either spends inside the block (spent-by
	// entry) or before it (external reference).
	if s.StartHeight != 277647 || s.External+spends != s.Inputs-1 || spends == 0 {
		t.Fatalf("state %+v, %d spends", s, spends)
	}
	b, err := st.BlockByHeight(277647)
	if err != nil {
		t.Fatal(err)
	}
	if b.Hash != mustHash(t, "0000000000000000054a714e580b16c583701712ab91060e92dbde6eb1e052a8") {
		t.Fatalf("block hash %s", b.Hash)
	}
	tx, err := st.TxByNum(1)
	if err != nil {
		t.Fatal(err)
	}
	if tx.FeeKnown || tx.Inputs[0].Kind != store.InputExternal {
		t.Fatalf("tx 1 of a pruned start: %+v", tx)
	}
	if _, err := st.BlockByHeight(0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("block 0 in a pruned store: %v", err)
	}
	// The same with an explicit --start-height.
	st2 := storetest.Open(t)
	run(t, st2, ingest.Config{Paths: []string{storetest.BtcdTestdata(t, "277647.dat.bz2")}, StartHeight: 277647})
	storetest.Equal(t, st, st2)
}

// TestCoreLayout: a directory like a node's — several blk files, xor.dat,
// blocks out of order, stale forks, zero padding — gives the same store as
// the plain file, key by key.
func TestCoreLayout(t *testing.T) {
	file := storetest.BtcdTestdata(t, "blk_0_to_14131.dat")
	blocks := storetest.RawBlocks(t, file)[:3000]
	ref := storetest.Open(t)
	run(t, ref, ingest.Config{Paths: []string{file}, ToHeight: 2999})

	// Stale forks: siblings of real blocks (same parent, other nonce).
	var forks [][]byte
	for _, h := range []int{100, 1500, 2500} {
		f := append([]byte(nil), blocks[h]...)
		f[76] ^= 0xff // nonce
		forks = append(forks, f)
	}
	// A two-block fork off 2000 (the second builds on the first).
	f1 := append([]byte(nil), blocks[2001]...)
	f1[76] ^= 0x55
	var h1 wire.BlockHeader
	if err := h1.Deserialize(bytesReader(f1[:80])); err != nil {
		t.Fatal(err)
	}
	f2 := append([]byte(nil), blocks[2002]...)
	hash1 := h1.BlockHash()
	copy(f2[4:36], hash1[:])
	forks = append(forks, f1, f2)

	all := append(append([][]byte(nil), blocks...), forks...)
	dir := filepath.Join(t.TempDir(), "blocks")
	storetest.WriteBlocksDir(t, dir, all, storetest.Layout{
		Magic: wire.MainNet, Files: 4, XOR: [8]byte{1, 2, 3, 4, 5, 6, 7, 0xfe}, Shuffle: 7, Window: 40, PadZeroes: 4096,
	})
	st := storetest.Open(t)
	res := run(t, st, ingest.Config{Paths: []string{dir}})
	if res.Stale != len(forks) || res.Blocks != 3000 || res.Orphans != 0 {
		t.Fatalf("result %+v", res)
	}
	storetest.Equal(t, ref, st)

	// Without xor.dat the same files are garbage: a clear error, no panic.
	if err := os.Remove(filepath.Join(dir, "xor.dat")); err != nil {
		t.Fatal(err)
	}
	_, err := ingest.Run(context.Background(), storetest.Open(t), ingest.Config{Paths: []string{dir}, StartHeight: -1, ToHeight: -1})
	var bfErr *blockfile.Error
	if !errors.As(err, &bfErr) || !errors.Is(err, blockfile.ErrBadMagic) {
		t.Fatalf("obfuscated files without key: %v", err)
	}
}

// TestGapAndIncremental: a missing block stops the chain cleanly; adding it
// later continues from the tip, and the result equals a single run.
func TestGapAndIncremental(t *testing.T) {
	file := storetest.BtcdTestdata(t, "blk_0_to_14131.dat")
	blocks := storetest.RawBlocks(t, file)[:2000]
	ref := storetest.Open(t)
	run(t, ref, ingest.Config{Paths: []string{file}, ToHeight: 1999})

	dir := t.TempDir()
	gapped := append(append([][]byte(nil), blocks[:1200]...), blocks[1201:]...)
	storetest.WriteBlocksDir(t, filepath.Join(dir, "a"), gapped, storetest.Layout{Magic: wire.MainNet, Files: 2})
	st := storetest.Open(t)
	res := run(t, st, ingest.Config{Paths: []string{filepath.Join(dir, "a")}})
	if res.ToHeight != 1199 || res.GapAfter != 1199 || res.Orphans != 799 {
		t.Fatalf("gapped run: %+v", res)
	}
	// Now the node has the block: a directory with all of them.
	storetest.WriteBlocksDir(t, filepath.Join(dir, "b"), blocks, storetest.Layout{Magic: wire.MainNet, Files: 3})
	res = run(t, st, ingest.Config{Paths: []string{filepath.Join(dir, "b")}, ToHeight: 1500})
	if res.FromHeight != 1200 || res.ToHeight != 1500 || res.AlreadyHad != 1200 {
		t.Fatalf("second run: %+v", res)
	}
	res = run(t, st, ingest.Config{Paths: []string{filepath.Join(dir, "b")}})
	if res.FromHeight != 1501 || res.ToHeight != 1999 {
		t.Fatalf("third run: %+v", res)
	}
	res = run(t, st, ingest.Config{Paths: []string{filepath.Join(dir, "b")}})
	if res.Blocks != 0 {
		t.Fatalf("fourth run wrote %d blocks", res.Blocks)
	}
	storetest.Equal(t, ref, st)
}

func TestWrongNetwork(t *testing.T) {
	file := storetest.BtcdTestdata(t, "blk_0_to_14131.dat")
	_, err := ingest.Run(context.Background(), storetest.Open(t), ingest.Config{Paths: []string{file}, Network: "regtest", StartHeight: -1, ToHeight: -1})
	if !errors.Is(err, ingest.ErrNetwork) {
		t.Fatalf("mainnet file as regtest: %v", err)
	}
}

// TestCorruptBlock: a flipped byte inside a transaction is caught by the
// merkle check and named by file and offset.
func TestCorruptBlock(t *testing.T) {
	blocks := storetest.RawBlocks(t, storetest.BtcdTestdata(t, "blk_0_to_14131.dat"))[:300]
	blocks[250] = append([]byte(nil), blocks[250]...)
	blocks[250][len(blocks[250])-10] ^= 0x01
	dir := t.TempDir()
	storetest.WriteBlocksDir(t, dir, blocks, storetest.Layout{Magic: wire.MainNet})
	st := storetest.Open(t)
	_, err := ingest.Run(context.Background(), st, ingest.Config{Paths: []string{dir}, StartHeight: -1, ToHeight: -1})
	var bfErr *blockfile.Error
	if !errors.Is(err, ingest.ErrBadBlock) || !errors.As(err, &bfErr) || bfErr.Offset == 0 {
		t.Fatalf("corrupt block: %v", err)
	}
	// Nothing past the last commit is visible; blocks before it may be.
	if h := st.State().Height; h >= 250 {
		t.Fatalf("store tip %d includes the corrupt block", h)
	}
}

// TestBulkKeepsUserData: a store that got a sanctions list, a watch or a
// tag pack before its first ingest is not bulk loaded (a bulk load starts
// by dropping every key), so they survive; a store without is bulk loaded.
func TestBulkKeepsUserData(t *testing.T) {
	file := storetest.BtcdTestdata(t, "blk_0_to_14131.dat")
	for _, withWatch := range []bool{false, true} {
		st := storetest.Open(t)
		if withWatch {
			if _, err := st.WatchList().Add(store.Watch{Kind: store.WatchAddress, Value: "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S"}); err != nil {
				t.Fatal(err)
			}
		}
		res, err := ingest.Run(context.Background(), st, ingest.Config{Paths: []string{file}, StartHeight: -1, ToHeight: 1000})
		if err != nil {
			t.Fatal(err)
		}
		ws, err := st.WatchList().All()
		if err != nil {
			t.Fatal(err)
		}
		if withWatch && (len(ws) != 1 || res.BulkTo != -1) || !withWatch && (len(ws) != 0 || res.BulkTo != 1000) {
			t.Errorf("with a watch %v: %d watches after ingest, bulk loaded to %d", withWatch, len(ws), res.BulkTo)
		}
	}
}
