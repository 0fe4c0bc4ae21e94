// Package scamstore builds, for tests, a store holding a generated
// scam-centre chain with its sanctions list and exchange tag pack loaded
// through the real loaders, once per test binary.
package scamstore

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/btcsuite/btcd/chaincfg"

	"github.com/tracer-oss/tracer/sanctions/ofac"
	"github.com/tracer-oss/tracer/sanctions/tags"
	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/chaingen"
	"github.com/tracer-oss/tracer/store/ingest"
)

// Txs is the size of the chain.
const Txs = 6000

// Fixture is a built store.
type Fixture struct {
	Chain string // chaingen output: blocks/, sanctions/, tags/, truth.json
	DB    string // the store directory
	Truth *chaingen.Truth
}

var (
	once sync.Once
	fix  Fixture
	err  error
)

// Params are the chain's parameters.
var Params = &chaincfg.RegressionNetParams

// Get builds the fixture on first use (in a temp dir removed by the
// caller's process exit, not by tb) and returns it.
func Get(tb testing.TB) Fixture {
	tb.Helper()
	once.Do(func() { fix, err = build() })
	if err != nil {
		tb.Fatal(err)
	}
	return fix
}

func build() (Fixture, error) {
	dir, err := os.MkdirTemp("", "tracer-scamstore-")
	if err != nil {
		return Fixture{}, err
	}
	ctx := context.Background()
	f := Fixture{Chain: filepath.Join(dir, "chain"), DB: filepath.Join(dir, "db")}
	if _, err := chaingen.Generate(ctx, chaingen.Config{OutDir: f.Chain, Txs: Txs, Seed: 42}, nil); err != nil {
		return f, err
	}
	st, err := store.Open(f.DB, store.Options{})
	if err != nil {
		return f, err
	}
	err = Load(ctx, st, f.Chain)
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return f, err
	}
	f.Truth, err = chaingen.ReadTruth(filepath.Join(f.Chain, "truth.json"))
	return f, err
}

// Load fills st from a chaingen output directory through the real loaders:
// ingest of its blocks, its sanctions list and its exchange tag pack.
func Load(ctx context.Context, st *store.Store, chain string) error {
	if _, err := ingest.Run(ctx, st, ingest.Config{Paths: []string{filepath.Join(chain, "blocks")}, StartHeight: -1, ToHeight: -1}); err != nil {
		return err
	}
	list, err := ofac.ParseFiles(ctx, filepath.Join(chain, "sanctions", "sdn_advanced.xml"))
	if err != nil {
		return err
	}
	if _, err := st.Lists().Save(ctx, list); err != nil {
		return err
	}
	pack, err := tags.ParsePackFile(ctx, filepath.Join(chain, "tags", "exchanges.yaml"), tags.Options{Network: Params})
	if err != nil {
		return err
	}
	_, err = st.Tags().SavePack(ctx, pack)
	return err
}

// Remove deletes the fixture's files; call it from TestMain after m.Run.
func Remove() {
	if fix.Chain != "" {
		os.RemoveAll(filepath.Dir(fix.Chain)) //nolint:errcheck // temp fixture, after the tests have run
	}
}

// Open opens the fixture's store read-only, closed at the end of tb.
func Open(tb testing.TB) *store.Store {
	tb.Helper()
	st, err := store.Open(Get(tb).DB, store.Options{ReadOnly: true})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := st.Close(); err != nil {
			tb.Error(err)
		}
	})
	return st
}

// Writable generates a chain of txs transactions (seed 42, as the fixture)
// in tb's temp dir and loads it into a new writable store there (Load),
// closed at the end of tb: for tests that write to the store.
func Writable(tb testing.TB, txs int) *store.Store {
	tb.Helper()
	ctx := context.Background()
	dir := tb.TempDir()
	chain := filepath.Join(dir, "chain")
	if _, err := chaingen.Generate(ctx, chaingen.Config{OutDir: chain, Txs: txs, Seed: 42}, nil); err != nil {
		tb.Fatal(err)
	}
	st, err := store.Open(filepath.Join(dir, "db"), store.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := st.Close(); err != nil {
			tb.Error(err)
		}
	})
	if err := Load(ctx, st, chain); err != nil {
		tb.Fatal(err)
	}
	return st
}
