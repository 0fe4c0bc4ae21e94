package chaingen_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tracer-oss/tracer/store/chaingen"
)

// Generate a small chain and load its ground truth, as other packages' tests do.
func ExampleGenerate() {
	dir, err := os.MkdirTemp("", "chaingen-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	sum, err := chaingen.Generate(context.Background(), chaingen.Config{OutDir: dir, Txs: 2000, Seed: 1}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	truth, err := chaingen.ReadTruth(filepath.Join(dir, "truth.json"))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(sum.Txs, "txs; tip matches truth:", truth.TipHash == sum.TipHash)
	fmt.Println("seeds:", len(truth.Seeds), "exchanges:", len(truth.Exchanges), "has paths:", len(truth.Paths) > 0)
	// Output:
	// 2000 txs; tip matches truth: true
	// seeds: 5 exchanges: 4 has paths: true
}
