//go:build integration

package export_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/tracer"
	"github.com/tracer-oss/tracer/tracer/cluster"
	"github.com/tracer-oss/tracer/tracer/export"
	"github.com/tracer-oss/tracer/tracer/internal/scamstore"
	"github.com/tracer-oss/tracer/tracer/seedsel"
	"github.com/tracer-oss/tracer/tracer/taint"
)

// duckdbNodeAPI is the @duckdb/node-api version the tests install (.ci/run
// and `make duckdb` install the same).
const duckdbNodeAPI = "@duckdb/node-api@1.3.2-alpha.25"

// duckdbDir returns a folder whose node_modules holds @duckdb/node-api: the
// repository's .tools/duckdb, installed with npm on first use. A script
// copied into it imports the package. It skips only when node or npm is
// not installed.
func duckdbDir(t *testing.T) string {
	t.Helper()
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not found: the DuckDB tests need Node.js and npm (CI installs them)", tool)
		}
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("repository root not found from %s: %v", root, err)
	}
	dir := filepath.Join(root, ".tools", "duckdb")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@duckdb", "node-api", "package.json")); err != nil {
		out, err := exec.Command("npm", "install", "--prefix", dir, "--no-audit", "--no-fund", duckdbNodeAPI).CombinedOutput()
		if err != nil {
			t.Fatalf("npm install %s into %s: %v\n%s", duckdbNodeAPI, dir, err, out)
		}
	}
	return dir
}

// num is a JSON number that DuckDB may print as a string (BIGINT).
type num = json.Number

type recipeOut struct {
	Hops int
	Flow []struct {
		Txid, Address string
		Vout          num
		ValueSat      num `json:"value_sat"`
		TaintedSat    num `json:"tainted_sat"`
		Hop           num
		BranchEnd     *string `json:"branch_end"`
	}
	Exposure []struct {
		Entity, Address string
		Hits            num
		TaintedSat      num `json:"tainted_sat"`
		MinHops         num `json:"min_hops"`
	}
	Clusters []struct {
		Entity, Addresses num
		Label             string
	}
}

func i64(t *testing.T, n num) int64 {
	t.Helper()
	v, err := n.Int64()
	if err != nil {
		t.Fatalf("DuckDB printed %q for a number", n)
	}
	return v
}

// TestRecipesDuckDB runs the SQL recipes of sql/ with DuckDB over `tracer
// export graph` and `tracer export clusters` of the scam-centre chain and
// checks that they find what tracer finds: what `tracer trace --model
// poison` finds for the same seeds (every tainted output with its value,
// taint and branch end, every hit with its hop count, each deposit
// address's exposure) and every cluster's size and label as the store's
// cluster forest has them. Poison is the model plain SQL reproduces
// exactly; the proportional models' integer rounding is not compared.
func TestRecipesDuckDB(t *testing.T) {
	mods := duckdbDir(t)
	ctx := context.Background()
	st, err := store.Open(filepath.Join(t.TempDir(), "db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := scamstore.Load(ctx, st, scamstore.Get(t).Chain); err != nil {
		t.Fatal(err)
	}
	if _, err := cluster.Run(ctx, st, cluster.Options{MaxMerge: cluster.DefaultMaxMerge}); err != nil {
		t.Fatal(err)
	}
	clab, err := cluster.NewLabeler(st, scamstore.Params, cluster.LabelOptions{})
	if err != nil {
		t.Fatal(err)
	}
	label := func(root store.AddrID) string {
		if e := clab.EntityOf(root); e != nil && !e.Conflict() {
			return e.Labels[0].Entity
		}
		return ""
	}
	s := st.State()
	dir := t.TempDir()
	if _, err := export.GraphDir(ctx, st, openFlow(t, st), scamstore.Params, s.StartHeight, s.Height, export.Parquet, dir, nil); err != nil {
		t.Fatal(err)
	}
	clusters := filepath.Join(dir, "clusters.parquet")
	var cstats export.ClusterStats
	if err := export.WriteFile(clusters, func(w io.Writer) error {
		cstats, err = export.Clusters(ctx, st, scamstore.Params, export.Parquet, w, label, nil)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	for _, sel := range []seedsel.Selection{{Program: "CYBER2"}, {Program: "TCO"}} {
		t.Run(sel.Program, func(t *testing.T) {
			ss := seedsel.New(st, scamstore.Params)
			seeds, _, err := ss.Seeds(ctx, sel)
			if err != nil {
				t.Fatal(err)
			}
			lab, err := ss.Labels(false)
			if err != nil {
				t.Fatal(err)
			}
			res, err := tracer.Forward(ctx, st, lab, seeds, tracer.Options{Model: taint.Poison, Params: scamstore.Params})
			if err != nil {
				t.Fatal(err)
			}
			if res.GraphTruncated || res.Partial || len(res.Hits) == 0 {
				t.Fatalf("the trace is not a usable reference: truncated %v, partial %v, %d hits", res.GraphTruncated, res.Partial, len(res.Hits))
			}

			var seedRows, tagRows [][]string
			for _, sd := range seeds {
				seedRows = append(seedRows, []string{sd.Addr.String(scamstore.Params)})
			}
			for a, l := range lab {
				tagRows = append(tagRows, []string{a.String(scamstore.Params), l.Entity, l.Category})
			}
			seedsCSV := writeCSV(t, []string{"address"}, seedRows)
			tagsCSV := writeCSV(t, []string{"address", "entity", "category"}, tagRows)
			got := runRecipes(t, mods, dir, seedsCSV, tagsCSV, clusters)

			// Every tainted output: the trace's edges.
			type edge struct {
				value, tainted int64
				end            string
			}
			want := map[string]edge{}
			for _, e := range res.Edges {
				want[fmt.Sprintf("%s:%d", e.From, e.Vout)] = edge{e.Value, e.Tainted, e.End}
			}
			sqlHits := map[string]int64{}
			have := map[string]edge{}
			for _, f := range got.Flow {
				k := fmt.Sprintf("%s:%s", f.Txid, f.Vout)
				e := edge{value: i64(t, f.ValueSat), tainted: i64(t, f.TaintedSat)}
				if f.BranchEnd != nil {
					e.end = *f.BranchEnd
				}
				have[k] = e
				if e.end == "hit" {
					sqlHits[k+" "+f.Address] = i64(t, f.Hop)
				}
			}
			for k, w := range want {
				if h, ok := have[k]; !ok {
					t.Errorf("output %s: the trace has %+v, the SQL nothing", k, w)
				} else if h != w {
					t.Errorf("output %s: the trace has %+v, the SQL %+v", k, w, h)
				}
			}
			for k, h := range have {
				if _, ok := want[k]; !ok {
					t.Errorf("output %s: the SQL has %+v, the trace nothing", k, h)
				}
			}

			// Hits and their hop counts.
			if len(sqlHits) != len(res.Hits) {
				t.Errorf("%d hits in the trace, %d in the SQL", len(res.Hits), len(sqlHits))
			}
			type expo struct {
				entity        string
				hits, tainted int64
				minHops       int64
			}
			wantExpo := map[string]*expo{}
			for _, h := range res.Hits {
				k := fmt.Sprintf("%s:%d %s", h.Txid, h.Vout, h.Address)
				if hop, ok := sqlHits[k]; !ok || hop != int64(h.Hops) {
					t.Errorf("hit %s at %d hops: the SQL has it %v at %d hops", k, h.Hops, ok, hop)
				}
				x := wantExpo[h.Address]
				if x == nil {
					x = &expo{entity: h.Entity, minHops: int64(h.Hops)}
					wantExpo[h.Address] = x
				}
				x.hits++
				x.tainted += h.Tainted
				x.minHops = min(x.minHops, int64(h.Hops))
			}

			// Exposure per deposit address, and per entity.
			if len(got.Exposure) != len(wantExpo) {
				t.Errorf("exposure: %d addresses in the trace, %d in the SQL", len(wantExpo), len(got.Exposure))
			}
			perEntity := map[string]int64{}
			for _, x := range got.Exposure {
				g := expo{entity: x.Entity, hits: i64(t, x.Hits), tainted: i64(t, x.TaintedSat), minHops: i64(t, x.MinHops)}
				perEntity[g.entity] += g.tainted
				if w := wantExpo[x.Address]; w == nil || *w != g {
					t.Errorf("exposure of %s: the trace has %+v, the SQL %+v", x.Address, w, g)
				}
			}
			for ent, v := range res.Totals.PerEntity {
				if perEntity[ent] != v {
					t.Errorf("entity %s: the trace has %d sat, the SQL %d", ent, v, perEntity[ent])
				}
			}
			ents := make([]string, 0, len(perEntity))
			for e := range perEntity {
				ents = append(ents, e)
			}
			sort.Strings(ents)
			t.Logf("%d seeds: %d tainted outputs, %d hits at %d deposit addresses of %v, in %d hop queries; the trace agrees",
				len(seeds), len(got.Flow), len(sqlHits), len(got.Exposure), ents, got.Hops)

			// Cluster sizes: every entity's size and label as the forest has them.
			forest := st.Clusters()
			var addrs int64
			largest := int64(0)
			for _, c := range got.Clusters {
				ent, n := i64(t, c.Entity), i64(t, c.Addresses)
				root, size, err := forest.Root(store.AddrID(ent))
				if err != nil {
					t.Fatal(err)
				}
				if int64(root) != ent || size != n || label(root) != c.Label {
					t.Errorf("entity %d: the SQL has %d addresses labelled %q, the store root %d of %d labelled %q", ent, n, c.Label, root, size, label(root))
				}
				addrs += n
				largest = max(largest, n)
			}
			if addrs != cstats.Addresses || int64(len(got.Clusters)) != cstats.Entities || largest < 2 {
				t.Errorf("clusters: the SQL has %d entities of %d addresses (largest %d), the export wrote %d of %d",
					len(got.Clusters), addrs, largest, cstats.Entities, cstats.Addresses)
			}
			t.Logf("%d entities of %d addresses, the largest %d: the store agrees", len(got.Clusters), addrs, largest)
		})
	}
}

func writeCSV(t *testing.T, header []string, rows [][]string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), header[len(header)-1]+".csv")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := csv.NewWriter(f)
	if err := w.Write(header); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteAll(rows); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// runRecipes copies sql/ next to node_modules (where Node resolves the
// import) and runs its DuckDB driver.
func runRecipes(t *testing.T, mods, graph, seeds, tags, clusters string) recipeOut {
	t.Helper()
	tmp, err := os.MkdirTemp(mods, "recipes-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	files, err := filepath.Glob("sql/*")
	if err != nil || len(files) < 5 {
		t.Fatalf("sql/: %v, %v", files, err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(tmp, filepath.Base(f)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("node", filepath.Join(tmp, "duckdb.mjs"), graph, seeds, tags, clusters)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node duckdb.mjs: %v", err)
	}
	var got recipeOut
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %.500s", err, out)
	}
	if len(got.Flow) == 0 {
		t.Fatalf("the recipes found no tainted output: %.500s", out)
	}
	return got
}
