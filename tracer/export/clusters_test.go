package export_test

import (
	"context"
	"encoding/csv"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/tracer-oss/tracer/sanctions/address"
	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/tracer/cluster"
	"github.com/tracer-oss/tracer/tracer/export"
	"github.com/tracer-oss/tracer/tracer/internal/scamstore"
)

// clusterRow is the reader's own row type for the clusters table.
type clusterRow struct {
	Address string `parquet:"address"`
	Entity  int64  `parquet:"entity"`
	Label   string `parquet:"label"`
}

// TestClusters exports the clusters of the generated case as CSV and as
// Parquet, reads both back and checks every row against the store's
// cluster view: every interned address once, its entity its cluster's
// root, the exchanges' clusters labeled.
func TestClusters(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(filepath.Join(t.TempDir(), "db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := scamstore.Load(ctx, st, scamstore.Get(t).Chain); err != nil {
		t.Fatal(err)
	}
	var buf discard
	if _, err := export.Clusters(ctx, st, scamstore.Params, export.CSV, &buf, nil, nil); !errors.Is(err, export.ErrNoClusters) {
		t.Fatalf("unclustered store: %v", err)
	}
	if _, err := cluster.Run(ctx, st, cluster.Options{MaxMerge: cluster.DefaultMaxMerge}); err != nil {
		t.Fatal(err)
	}
	lab, err := cluster.NewLabeler(st, scamstore.Params, cluster.LabelOptions{AllTags: true})
	if err != nil {
		t.Fatal(err)
	}
	label := func(root store.AddrID) string {
		if e := lab.EntityOf(root); e != nil && !e.Conflict() {
			return e.Labels[0].Entity
		}
		return ""
	}
	dir := t.TempDir()
	stats := map[export.Format]export.ClusterStats{}
	for _, f := range []export.Format{export.CSV, export.Parquet} {
		path := filepath.Join(dir, "clusters"+f.Ext())
		if err := export.WriteFile(path, func(w io.Writer) error {
			s, err := export.Clusters(ctx, st, scamstore.Params, f, w, label, nil)
			stats[f] = s
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	rows := readAll[clusterRow](t, filepath.Join(dir, "clusters.parquet"))
	fh, err := os.Open(filepath.Join(dir, "clusters.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	recs, err := csv.NewReader(fh).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	state, _, _ := st.ClusterState()
	if int64(len(rows)) != state.Addresses || len(recs) != len(rows)+1 || stats[export.CSV] != stats[export.Parquet] {
		t.Fatalf("%d parquet rows, %d csv lines, %d addresses in the forest; stats %+v", len(rows), len(recs), state.Addresses, stats)
	}
	if recs[0][0] != "address" || recs[0][1] != "entity" || recs[0][2] != "label" {
		t.Fatalf("csv header %v", recs[0])
	}
	c := st.Clusters()
	seen := map[string]bool{}
	roots := map[int64]bool{}
	labeled := 0
	for i, r := range rows {
		if rec := recs[i+1]; rec[0] != r.Address || rec[1] != strconv.FormatInt(r.Entity, 10) || rec[2] != r.Label {
			t.Fatalf("row %d: csv %v, parquet %+v", i, rec, r)
		}
		if seen[r.Address] {
			t.Fatalf("%s listed twice", r.Address)
		}
		seen[r.Address] = true
		roots[r.Entity] = true
		a, err := address.Parse(r.Address, scamstore.Params)
		if err != nil {
			t.Fatalf("row %d: %v", i, err)
		}
		id, ok, err := c.Lookup(a)
		if err != nil || !ok {
			t.Fatalf("%s: not in the forest (%v)", r.Address, err)
		}
		root, _, err := c.Root(id)
		if err != nil || int64(root) != r.Entity {
			t.Fatalf("%s: entity %d, root %d (%v)", r.Address, r.Entity, root, err)
		}
		if r.Label != label(root) {
			t.Fatalf("%s: label %q, want %q", r.Address, r.Label, label(root))
		}
		if r.Label != "" {
			labeled++
		}
	}
	if labeled == 0 || int64(labeled) != stats[export.CSV].Labeled || int64(len(roots)) != stats[export.CSV].Entities {
		t.Errorf("%d labeled rows, %d entities; stats %+v", labeled, len(roots), stats[export.CSV])
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
