//go:build integration

package export_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/tracer-oss/tracer/tracer/export"
	"github.com/tracer-oss/tracer/tracer/internal/scamstore"
)

// duckdbScript runs SQL over the exported files in DuckDB (the
// @duckdb/node-api package) and prints one JSON object.
const duckdbScript = `
import { DuckDBInstance } from '@duckdb/node-api';
const [dir] = process.argv.slice(2);
const db = await DuckDBInstance.create(':memory:');
const c = await db.connect();
const q = async (sql) => (await c.runAndReadAll(sql)).getRowObjectsJson()[0];
const out = {
  txs: await q("select count(*)::BIGINT as n, min(height)::BIGINT as lo, max(height)::BIGINT as hi, sum(n_in)::BIGINT as n_in, sum(n_out)::BIGINT as n_out from '" + dir + "/txs.parquet'"),
  inputs: await q("select count(*)::BIGINT as n, sum(value_sat)::BIGINT as value from '" + dir + "/inputs.parquet'"),
  outputs: await q("select count(*)::BIGINT as n, sum(value_sat)::BIGINT as value, count(spent_by_txid)::BIGINT as spent from '" + dir + "/outputs.parquet'"),
  // every spent output's spender is an input of the range or later: join what is in range
  joined: await q("select count(*)::BIGINT as n from '" + dir + "/outputs.parquet' o join '" + dir + "/inputs.parquet' i on i.prev_txid = o.txid and i.prev_vout = o.vout where o.spent_by_txid = i.txid and o.spent_by_vin = i.vin"),
};
console.log(JSON.stringify(out));
`

// TestGraphDuckDB reads the Parquet export with DuckDB, an independent
// reader, and compares counts and sums with the store. It needs node and
// npm (see duckdbDir).
func TestGraphDuckDB(t *testing.T) {
	mods := duckdbDir(t)
	st := scamstore.Open(t)
	from, to := int32(300), st.State().Height
	dir := t.TempDir()
	if _, err := export.GraphDir(context.Background(), st, openFlow(t, st), scamstore.Params, from, to, export.Parquet, dir, nil); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(mods, "tracer-export-check.mjs")
	if err := os.WriteFile(script, []byte(duckdbScript), 0o644); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(script)
	out, err := exec.Command("node", script, dir).CombinedOutput()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, out)
	}
	var got struct {
		Txs     struct{ N, Lo, Hi, N_in, N_out string }
		Inputs  struct{ N, Value string }
		Outputs struct{ N, Value, Spent string }
		Joined  struct{ N string }
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	want := sums(t, st, from, to)
	d := func(v int64) string { return strconv.FormatInt(v, 10) }
	if got.Txs.N != d(want.txs) || got.Inputs.N != d(want.inputs) || got.Outputs.N != d(want.outputs) ||
		got.Outputs.Value != d(want.outValue) || got.Inputs.Value != d(want.inValue) || got.Outputs.Spent != d(want.spent) ||
		got.Txs.N_in != d(want.inputs) || got.Txs.N_out != d(want.outputs) || got.Txs.Lo != d(int64(from)) || got.Txs.Hi != d(int64(to)) || got.Joined.N != d(want.spent) {
		t.Fatalf("DuckDB read %s\nthe store has %+v", out, want)
	}
	t.Logf("DuckDB: %s", out)
}
