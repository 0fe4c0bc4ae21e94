package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracer-oss/tracer/sanctions/testfiles"
	"github.com/tracer-oss/tracer/store/chaingen"
	"github.com/tracer-oss/tracer/store/storetest"
)

// TestLookupsRealBlock is issue 17 #20 and #6 on mainnet block 866,342,
// ingested alone so every input spends from before the store's range: the
// coinbase says what it pays without "unknown", OP_RETURN outputs are data
// (not "unspent"), and a backward trace reports the source before the
// store's range instead of dust.
func TestLookupsRealBlock(t *testing.T) {
	raw, err := os.ReadFile(testfiles.Shared(t, "blocks/mainnet_866342_000000000000000000014ce9ba7c6760053c3c82ce6ab43d60afb101d3c8f1f1.bin"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	storetest.WriteBlocksDir(t, filepath.Join(dir, "blocks"), [][]byte{raw}, storetest.Layout{Magic: 0xd9b4bef9})
	db := filepath.Join(dir, "db")
	if code, _, errs := runCLI(t, "--db", db, "ingest", "--blocks", filepath.Join(dir, "blocks"), "--start-height", "866342"); code != 0 {
		t.Fatalf("ingest: exit %d: %s", code, errs)
	}
	_, out, _ := runCLI(t, "--db", db, "block", "866342", "--txs")
	var txids []string
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) == 2 && f[0] == "tx" {
			txids = append(txids, f[1])
		}
	}
	if len(txids) < 100 {
		t.Fatalf("block --txs: %d txids", len(txids))
	}
	code, out, errs := runCLI(t, "--db", db, "tx", txids[0])
	if code != 0 || !strings.Contains(out, "new coins: pays") || strings.Contains(out, "unknown (") {
		t.Errorf("coinbase: exit %d %s\n%s", code, errs, out)
	}
	opReturns := 0
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "op_return") {
			opReturns++
			if strings.Contains(l, "unspent") || !strings.Contains(l, "data, unspendable") {
				t.Errorf("OP_RETURN output: %q", l)
			}
		}
	}
	if opReturns == 0 {
		t.Errorf("no OP_RETURN output in the coinbase (the witness commitment):\n%s", out)
	}
	// Backward from a payee of the block: all of it comes from before the range.
	var tx txView
	if _, out, _ = runCLI(t, "--db", db, "tx", txids[1], "--json"); json.Unmarshal([]byte(out), &tx) != nil {
		t.Fatalf("tx --json: %s", out)
	}
	payee := ""
	for _, o := range tx.Outputs {
		if o.Value > 0 && o.Address != "" && !o.Unspendable {
			payee = o.Address
			break
		}
	}
	code, out, errs = runCLI(t, "--db", db, "trace", "--direction", "backward", payee, "--json")
	var res struct {
		Totals struct {
			Traced      int64 `json:"traced_sat"`
			Dust        int64 `json:"dust_sat"`
			BeforeRange int64 `json:"before_range_sat"`
		} `json:"totals"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil {
		t.Fatalf("trace backward: exit %d %s", code, errs)
	}
	if res.Totals.Traced == 0 || res.Totals.BeforeRange < res.Totals.Traced-10 || res.Totals.Dust > 10 {
		t.Errorf("backward totals %+v: want all traced value before the store's range, no dust", res.Totals)
	}
	if _, out, _ = runCLI(t, "--db", db, "trace", "--direction", "backward", payee); !strings.Contains(out, "source before the store's range: value unknown") {
		t.Errorf("backward text report does not name the source before the range:\n%s", out)
	}
}

// TestLookupAttribution is issue 17 #23: tx and address show the sanctions
// status, tags and entity of the addresses they list.
func TestLookupAttribution(t *testing.T) {
	db := clusteredStore(t)
	chain := filepath.Join(filepath.Dir(db), "chain")
	truth, err := chaingen.ReadTruth(filepath.Join(chain, "truth.json"))
	if err != nil {
		t.Fatal(err)
	}
	var seed chaingen.TruthSeed
	for _, s := range truth.Seeds {
		if len(s.Funding) > 0 {
			seed = s
			break
		}
	}
	code, out, errs := runCLI(t, "--db", db, "tx", seed.Funding[0].Txid)
	if code != 0 || !strings.Contains(out, "SANCTIONED: ") {
		t.Errorf("tx paying a listed address: exit %d %s\n%s", code, errs, out)
	}
	var tx txView
	if _, out, _ = runCLI(t, "--db", db, "tx", seed.Funding[0].Txid, "--json"); json.Unmarshal([]byte(out), &tx) != nil {
		t.Fatal(out)
	}
	if a := tx.Outputs[seed.Funding[0].Vout].Attribution; a == nil || len(a.Sanctioned) == 0 || tx.Outputs[seed.Funding[0].Vout].Address != seed.Address {
		t.Errorf("tx --json output %d: %+v", seed.Funding[0].Vout, tx.Outputs[seed.Funding[0].Vout])
	}
	if code, out, _ := runCLI(t, "--db", db, "address", seed.Address); code != 0 || !strings.Contains(out, "SANCTIONED") || !strings.Contains(out, seed.Entity) {
		t.Errorf("address of a listed seed: exit %d\n%s", code, out)
	}
	hot := truth.Exchanges[0].HotWallets[0]
	var av addressView
	if _, out, _ := runCLI(t, "--db", db, "address", hot, "--json"); json.Unmarshal([]byte(out), &av) != nil || av.Attribution == nil ||
		len(av.Attribution.Tags) == 0 || av.Attribution.Via != "tag" || av.Attribution.Entity == "" {
		t.Errorf("address of a tagged hot wallet: %+v", av.Attribution)
	}
	if _, out, _ := runCLI(t, "--db", db, "address", hot); !strings.Contains(out, "tag ") || !strings.Contains(out, "entity ") {
		t.Errorf("address text of a tagged hot wallet:\n%s", out)
	}
}
