package store_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/storetest"
)

// BenchmarkRecordFields breaks the tx records and spent-by values of the
// cached benchmark store down by field, in bytes per transaction as
// written (before Badger's per-key overhead and compression): what each
// field costs (BenchmarkIngest reports the families on disk).
func BenchmarkRecordFields(b *testing.B) {
	st := storetest.BenchStore(b, storetest.BenchTxs(b))
	for i := 0; i < b.N; i++ {
		sizes := map[string]int{}
		txs := 0
		err := st.ForEachTx(0, func(tx *store.Tx) error {
			txs++
			store.RecordFields(tx, func(f string, n int) { sizes[f] += n })
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		names := make([]string, 0, len(sizes))
		for f := range sizes {
			names = append(names, f)
		}
		slices.Sort(names)
		for _, f := range names {
			b.ReportMetric(float64(sizes[f])/float64(txs), fmt.Sprintf("B/tx-%s", f))
		}
	}
}
