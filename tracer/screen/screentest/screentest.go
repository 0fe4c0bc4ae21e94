package screentest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/btcsuite/btcd/chaincfg"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/chaingen"
	"github.com/tracer-oss/tracer/store/flow"
	"github.com/tracer-oss/tracer/store/storetest"
	"github.com/tracer-oss/tracer/tracer/internal/scamstore"
	"github.com/tracer-oss/tracer/tracer/screen"
)

// Params are the generated chains' network.
var Params = &chaincfg.RegressionNetParams

// Build generates a chain of txs transactions from seed into dir/chain
// (unless present) and builds a screened store in dir/db: ingested, list and
// tags loaded, exposure index built with opt. It returns the store's
// directory; the store is closed.
func Build(ctx context.Context, dir string, txs int, seed uint64, opt screen.Options) (string, error) {
	chain := filepath.Join(dir, "chain")
	if _, err := os.Stat(filepath.Join(chain, "truth.json")); err != nil {
		if _, err := chaingen.Generate(ctx, chaingen.Config{OutDir: chain, Txs: txs, Seed: seed}, nil); err != nil {
			return "", err
		}
	}
	return BuildFrom(ctx, chain, filepath.Join(dir, "db"), opt)
}

// BuildFrom builds a screened store in db from a generated chain directory.
func BuildFrom(ctx context.Context, chain, db string, opt screen.Options) (string, error) {
	st, err := store.Open(db, store.Options{})
	if err != nil {
		return "", err
	}
	if err := load(ctx, st, chain, opt); err != nil {
		return "", errors.Join(err, st.Close())
	}
	return db, st.Close()
}

func load(ctx context.Context, st *store.Store, chain string, opt screen.Options) (err error) {
	if err := scamstore.Load(ctx, st, chain); err != nil {
		return err
	}
	if opt.Params == nil {
		opt.Params = Params
	}
	// The index walks read the flow index, as tracer screen does.
	x, err := flow.Open(ctx, st, flow.Options{})
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, x.Close()) }()
	opt.Flow = x
	_, err = screen.BuildIndex(ctx, st, opt)
	return err
}

// BenchStore returns the directory of a screened store over
// storetest.BenchChain(n), built once and cached in the OS temp dir (per
// schema version).
func BenchStore(tb testing.TB, n int) string {
	tb.Helper()
	chain := storetest.BenchChain(tb, n)
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("tracer-bench-screen-%d-v%d", n, store.SchemaVersion))
	db := filepath.Join(dir, "db")
	if _, err := os.Stat(filepath.Join(dir, "done")); err != nil {
		if err := os.RemoveAll(dir); err != nil {
			tb.Fatal(err)
		}
		if _, err := BuildFrom(context.Background(), chain, db, screen.Options{Params: Params}); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "done"), nil, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	return db
}
