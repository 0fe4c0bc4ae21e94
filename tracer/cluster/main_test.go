package cluster_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/tracer-oss/tracer/sanctions/tags"
	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/chaingen"
	"github.com/tracer-oss/tracer/store/ingest"
)

var params = &chaincfg.RegressionNetParams

// scratch holds the package's shared generated chain; removed after the tests.
var scratch string

func TestMain(m *testing.M) {
	if v := os.Getenv(childEnv); v != "" {
		os.Exit(childMain(v)) // a clustering process for TestClusterKilled
	}
	var err error
	if scratch, err = os.MkdirTemp("", "tracer-cluster-test-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(scratch)
	os.Exit(code)
}

var (
	genOnce sync.Once
	genErr  error
	genDir  string
)

// scamChain generates (once per test binary) a scam-centre chain of 6,000
// transactions, seed 42, like the tracer package's tests.
func scamChain(t testing.TB) (dir string, truth *chaingen.Truth) {
	t.Helper()
	genOnce.Do(func() {
		genDir = filepath.Join(scratch, "chain")
		_, genErr = chaingen.Generate(context.Background(), chaingen.Config{OutDir: genDir, Txs: 6000, Seed: 42}, nil)
	})
	if genErr != nil {
		t.Fatal(genErr)
	}
	truth, err := chaingen.ReadTruth(filepath.Join(genDir, "truth.json"))
	if err != nil {
		t.Fatal(err)
	}
	return genDir, truth
}

// ingestChain ingests the chain in dir up to height to (-1: all) into a new
// store with the chain's tag pack loaded.
func ingestChain(t testing.TB, dir string, to int32) *store.Store {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(filepath.Join(t.TempDir(), "db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := ingest.Run(ctx, st, ingest.Config{Paths: []string{filepath.Join(dir, "blocks")}, StartHeight: -1, ToHeight: to}); err != nil {
		t.Fatal(err)
	}
	pack, err := tags.ParsePackFile(ctx, filepath.Join(dir, "tags", "exchanges.yaml"), tags.Options{Network: params})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Tags().SavePack(ctx, pack); err != nil {
		t.Fatal(err)
	}
	return st
}

func ingestMore(t testing.TB, st *store.Store, dir string) {
	t.Helper()
	if _, err := ingest.Run(context.Background(), st, ingest.Config{Paths: []string{filepath.Join(dir, "blocks")}, StartHeight: -1, ToHeight: -1}); err != nil {
		t.Fatal(err)
	}
}

func chainhashFromString(s string) ([32]byte, error) {
	h, err := chainhash.NewHashFromStr(s)
	if err != nil {
		return [32]byte{}, err
	}
	return *h, nil
}
