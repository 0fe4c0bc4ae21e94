package chaingen

import (
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
)

func readCSV(t *testing.T, path string, header string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) == 0 {
		t.Fatalf("%s: empty", path)
	}
	got := ""
	for i, h := range recs[0] {
		if i > 0 {
			got += ","
		}
		got += h
	}
	if got != header {
		t.Fatalf("%s: header %q, want %q", path, got, header)
	}
	return recs[1:]
}

// TestOwnershipTruth checks the ownership truth against the chain itself:
// every address the main chain pays is in owners.csv once; a transaction
// whose inputs have several owners is in collaborative.csv with that count
// (and every collaborative row's count is right); change.csv names outputs
// paid back to the single owner of their transaction's inputs.
func TestOwnershipTruth(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"standard", Config{Txs: 6000, Seed: 9}},
		// Small blocks, so that coins come due from the calendar within
		// the chain; unsigned, as the scale harness generates it.
		{"mainnet", Config{Txs: 12000, Seed: 9, Shape: ShapeMainnet, TxsPerBlock: 15, Unsigned: true}},
	} {
		t.Run(tc.name, func(t *testing.T) { checkOwnershipTruth(t, tc.cfg) })
	}
}

func checkOwnershipTruth(t *testing.T, cfg Config) {
	dir := t.TempDir()
	cfg.OutDir = dir
	if _, err := Generate(context.Background(), cfg, nil); err != nil {
		t.Fatal(err)
	}
	owner := map[string]string{}
	kinds := map[string]int{}
	for _, r := range readCSV(t, filepath.Join(dir, "owners.csv"), "address,wallet,owner,kind") {
		if _, dup := owner[r[0]]; dup {
			t.Fatalf("%s listed twice", r[0])
		}
		owner[r[0]] = r[2]
		kinds[r[3]]++
	}
	collab := map[string][]string{}
	byKind := map[string]int{}
	for _, r := range readCSV(t, filepath.Join(dir, "collaborative.csv"), "txid,kind,height,inputs,owners") {
		collab[r[0]] = r
		byKind[r[1]]++
	}
	change := map[wire.OutPoint]bool{}
	for _, r := range readCSV(t, filepath.Join(dir, "change.csv"), "txid,vout") {
		h, err := chainhash.NewHashFromStr(r[0])
		if err != nil {
			t.Fatal(err)
		}
		v, _ := strconv.Atoi(r[1])
		change[wire.OutPoint{Hash: *h, Index: uint32(v)}] = true
	}
	outs := map[wire.OutPoint]string{} // address of every output so far
	multi, checkedChange := 0, 0
	for bi, b := range readBlocks(t, dir) {
		if bi == 0 {
			continue // the regtest genesis block: nobody's
		}
		for i, tx := range b.Transactions {
			id := tx.TxHash()
			inOwners := map[string]bool{}
			if i > 0 {
				for _, in := range tx.TxIn {
					a, ok := outs[in.PreviousOutPoint]
					if !ok {
						t.Fatalf("tx %s spends unknown %v", id, in.PreviousOutPoint)
					}
					o, ok := owner[a]
					if !ok {
						t.Fatalf("tx %s spends %s, which owners.csv does not list", id, a)
					}
					inOwners[o] = true
				}
			}
			row, isCollab := collab[id.String()]
			switch {
			case isCollab:
				if n, _ := strconv.Atoi(row[4]); n != len(inOwners) {
					t.Errorf("%s %s: %s owners in the truth, %d in the chain", row[1], id, row[4], len(inOwners))
				}
				if n, _ := strconv.Atoi(row[3]); n != len(tx.TxIn) {
					t.Errorf("%s %s: %s inputs in the truth, %d in the chain", row[1], id, row[3], len(tx.TxIn))
				}
				delete(collab, id.String())
			case len(inOwners) > 1:
				t.Errorf("tx %s co-spends coins of %d owners and is not collaborative", id, len(inOwners))
			}
			if len(inOwners) > 1 {
				multi++
			}
			for j, o := range tx.TxOut {
				a := scriptAddress(o.PkScript)
				op := wire.OutPoint{Hash: id, Index: uint32(j)}
				if a == "" {
					continue // OP_RETURN
				}
				if _, ok := owner[a]; !ok {
					t.Fatalf("output %v pays %s, which owners.csv does not list", op, a)
				}
				outs[op] = a
				if change[op] {
					checkedChange++
					if len(inOwners) != 1 || !inOwners[owner[a]] {
						t.Errorf("change %v goes to %s of %s, inputs of %v", op, a, owner[a], inOwners)
					}
					delete(change, op)
				}
			}
		}
	}
	if len(collab) != 0 || len(change) != 0 {
		t.Errorf("%d collaborative and %d change rows name nothing in the chain", len(collab), len(change))
	}
	for _, k := range []string{KindUser, KindMerchant, KindExchange, KindMining, KindOTC, KindMixer, KindScam, KindMule} {
		if kinds[k] == 0 {
			t.Errorf("no address of kind %s: %v", k, kinds)
		}
	}
	// Whirlpool and WabiSabi rounds are a few per 10,000 transactions:
	// maybe none in a chain this small (TestAccuracy, over three larger
	// chains, requires them).
	for _, k := range CollabKinds {
		if byKind[k] == 0 && k != CollabWhirlpool && k != CollabWabiSabi {
			t.Errorf("no %s transaction: %v", k, byKind)
		}
	}
	if multi == 0 || checkedChange == 0 {
		t.Errorf("%d multi-owner transactions, %d change outputs checked", multi, checkedChange)
	}
	t.Logf("%d addresses %v; collaborative %v; %d multi-owner txs; %d change outputs", len(owner), kinds, byKind, multi, checkedChange)
}
