package jobs_test

import (
	"context"
	"fmt"

	"github.com/btcsuite/btcd/chaincfg"

	"github.com/tracer-oss/tracer/tracer/jobs"
)

func ExampleParse() {
	src := `
defaults: {max_txs: 100000}
traces:
  - {name: lotus-fifo, seeds: {entity: golden lotus}, model: fifo}
matrix:
  seeds:
    - {name: cyber2, program: CYBER2}
  models: [poison, tiho]
  max_hops: [10, 50]
`
	plan, err := jobs.Parse(context.Background(), []byte(src), "study.yaml", ".", &chaincfg.RegressionNetParams)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, j := range plan.Jobs {
		fmt.Println(j.Name, j.Model, j.MaxHops, j.MaxTxs)
	}
	_, err = jobs.Parse(context.Background(), []byte("traces:\n  - name: x\n    seeds: {program: TCO}\n    model: heuristic\n"), "bad.yaml", ".", &chaincfg.RegressionNetParams)
	fmt.Println(err)
	// Output:
	// lotus-fifo fifo 50 100000
	// cyber2-poison-h10 poison 10 100000
	// cyber2-poison-h50 poison 50 100000
	// cyber2-tiho-h10 tiho 10 100000
	// cyber2-tiho-h50 tiho 50 100000
	// jobs: bad.yaml:4: job "x": model: invalid value: unknown model "heuristic" (one of poison, haircut, fifo, lifo, tiho)
}
