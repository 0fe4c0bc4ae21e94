package spec_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/tracer/cluster"
	"github.com/tracer-oss/tracer/tracer/internal/scamstore"
	"github.com/tracer-oss/tracer/tracer/spec"
)

func TestMain(m *testing.M) {
	code := m.Run()
	scamstore.Remove()
	os.Exit(code)
}

// clusteredStore copies the scam-centre fixture's chain into a new store and
// clusters it.
func clusteredStore(t *testing.T) *store.Store {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(filepath.Join(t.TempDir(), "db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := scamstore.Load(ctx, st, scamstore.Get(t).Chain); err != nil {
		t.Fatal(err)
	}
	if _, err := cluster.Run(ctx, st, cluster.Options{}); err != nil {
		t.Fatal(err)
	}
	return st
}

func programSpec(t *testing.T) spec.Spec {
	s := spec.Default()
	s.Seeds.Program = scamstore.Get(t).Truth.Entities[0].Program
	return s
}

// TestRunClusters: the default uses cluster labels exactly when the store
// has clusters; cluster=off does not; cluster=on refuses a store without.
func TestRunClusters(t *testing.T) {
	ctx := context.Background()
	plain := spec.NewRunner(scamstore.Open(t), scamstore.Params, nil)
	st := clusteredStore(t)
	clustered := spec.NewRunner(st, scamstore.Params, nil)
	via := func(r *spec.Runner, s spec.Spec) (int, int, bool) {
		t.Helper()
		out, err := r.Run(ctx, s, nil)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, h := range out.Result.Hits {
			if h.Via == "cluster" {
				n++
			}
		}
		return len(out.Result.Hits), n, out.Clustered
	}
	s := programSpec(t)
	if hits, n, used := via(clustered, s); n == 0 || !used || hits == 0 {
		t.Errorf("clustered store, default: %d hits, %d via cluster, clustered %v", hits, n, used)
	}
	if _, n, used := via(plain, s); n != 0 || used {
		t.Errorf("store without clusters, default: %d via cluster, clustered %v", n, used)
	}
	off := s
	off.Clusters = spec.ClustersOff
	if _, n, used := via(clustered, off); n != 0 || used {
		t.Errorf("cluster=off: %d via cluster, clustered %v", n, used)
	}
	on := s
	on.Clusters = spec.ClustersOn
	if _, err := plain.Run(ctx, on, nil); !errors.Is(err, spec.ErrNoClusters) {
		t.Errorf("cluster=on without clusters: %v", err)
	}
}

// TestRunConcurrent: runs sharing one Runner (parallel jobs, API requests)
// give the results of runs one at a time. Run it with -race.
func TestRunConcurrent(t *testing.T) {
	ctx := context.Background()
	r := spec.NewRunner(clusteredStore(t), scamstore.Params, nil)
	var specs []spec.Spec
	for _, m := range []string{"poison", "haircut", "fifo", "lifo", "tiho"} {
		s := programSpec(t)
		s.Model = m
		specs = append(specs, s)
	}
	back := programSpec(t)
	back.Direction = "backward"
	back.Seeds.Program, back.Seeds.Addresses = "", []string{scamstore.Get(t).Truth.Paths[0].DepositAddress}
	specs = append(specs, back)
	want := make([][]byte, len(specs))
	for i, s := range specs {
		out, err := r.Run(ctx, s, nil)
		if err != nil {
			t.Fatal(err)
		}
		want[i], _ = json.Marshal(out.Result.Hits)
	}
	var wg sync.WaitGroup
	got := make([][]byte, len(specs)*3)
	errs := make([]error, len(got))
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := r.Run(ctx, specs[i%len(specs)], nil)
			if err != nil {
				errs[i] = err
				return
			}
			got[i], _ = json.Marshal(out.Result.Hits)
		}()
	}
	wg.Wait()
	for i := range got {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if string(got[i]) != string(want[i%len(specs)]) {
			t.Errorf("run %d (%s %s) differs when run concurrently", i, specs[i%len(specs)].Direction, specs[i%len(specs)].Model)
		}
	}
}

// TestRunWindow: a window given as dates is resolved on the store; one
// whose start is after its end is refused before walking.
func TestRunWindow(t *testing.T) {
	ctx := context.Background()
	r := spec.NewRunner(scamstore.Open(t), scamstore.Params, nil)
	s := programSpec(t)
	s.SinceDate, s.UntilHeight = "2999-01-01", 10
	if _, err := r.Run(ctx, s, nil); !errors.Is(err, spec.ErrBadSpec) {
		t.Errorf("since 2999-01-01 until 10: %v", err)
	}
	if err := r.Check(s); !errors.Is(err, spec.ErrBadSpec) {
		t.Errorf("Check: %v", err)
	}
	s = programSpec(t)
	s.SinceDate = "2000-01-01" // before every block: the whole chain
	out, err := r.Run(ctx, s, nil)
	if err != nil {
		t.Fatal(err)
	}
	all, err := r.Run(ctx, programSpec(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	if out.Result.Totals.Hits != all.Result.Totals.Hits || out.Result.Totals.Traced != all.Result.Totals.Traced || out.Result.Params.SinceHeight != 0 {
		t.Errorf("since before the first block: %+v (since %d), without: %+v", out.Result.Totals, out.Result.Params.SinceHeight, all.Result.Totals)
	}
	// Until a date before the first block is refused, not read as no bound.
	s.SinceDate, s.UntilDate = "", "2000-01-01"
	if _, err := r.Run(ctx, s, nil); !errors.Is(err, spec.ErrBadSpec) {
		t.Errorf("until before the first block: %v, want ErrBadSpec", err)
	}
	// Seeds that do not resolve are the input's fault.
	bad := spec.Default()
	bad.Seeds.Addresses = []string{"bc1qnotanaddress"}
	var se *spec.SeedError
	if _, err := r.Run(ctx, bad, nil); !errors.As(err, &se) {
		t.Errorf("bad seed: %v", err)
	}
}
