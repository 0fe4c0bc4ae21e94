package ingest_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
	"github.com/dgraph-io/badger/v4/pb"
	"github.com/dgraph-io/ristretto/v2/z"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/ingest"
	"github.com/tracer-oss/tracer/store/storetest"
)

// BenchmarkIngest ingests a generated 1,000,000-transaction chain end to end
// and, as the ceiling, bulk-writes the same number of keys of the same sizes
// with Badger's StreamWriter (sorted input, the store's fastest write path).
func BenchmarkIngest(b *testing.B) {
	blocks := filepath.Join(storetest.BenchChain(b, storetest.BenchTxs(b)), "blocks")
	debug.SetMemoryLimit(1536 << 20) // as cmd/tracer does
	for i := 0; i < b.N; i++ {
		dir := b.TempDir()
		st, err := store.Open(dir, store.Options{})
		if err != nil {
			b.Fatal(err)
		}
		storetest.ResetPeakRSS()
		sampler := storetest.SampleRSS()
		b.ResetTimer()
		start := time.Now()
		cpu0 := cpuSeconds(b)
		var mergeStart time.Time // when the last block was read and the final merge began
		progress := func(p ingest.Progress) {
			if p.Phase == ingest.PhaseMerge && mergeStart.IsZero() {
				mergeStart = time.Now()
			}
		}
		res, err := ingest.Run(context.Background(), st, ingest.Config{Paths: []string{blocks}, StartHeight: -1, ToHeight: -1, Progress: progress, CacheTxs: benchCacheTxs(b)})
		if err != nil {
			b.Fatal(err)
		}
		elapsed := time.Since(start)
		cpu := cpuSeconds(b) - cpu0
		b.StopTimer()
		load := loadAverage()
		rss := storetest.PeakRSS()
		anon, file := sampler.Stop()
		sizes, err := st.Sizes()
		if err != nil {
			b.Fatal(err)
		}
		// Bytes per transaction by key family: on disk (tables holding
		// only that family) and as written (keys and values, before
		// Badger's per-key overhead and compression).
		for _, f := range sizes.Families {
			if f.Keys < 1000 {
				continue
			}
			b.ReportMetric(float64(f.TableBytes)/float64(res.Txs), fmt.Sprintf("disk-B/tx-%c", f.Prefix))
			b.ReportMetric(float64(f.KeyBytes+f.ValueBytes)/float64(res.Txs), fmt.Sprintf("logical-B/tx-%c", f.Prefix))
		}
		b.ReportMetric(float64(sizes.Mixed)/float64(res.Txs), "disk-B/tx-mixed")
		b.ReportMetric(float64(sizes.ValueLog)/float64(res.Txs), "disk-B/tx-vlog")
		if err := st.Close(); err != nil {
			b.Fatal(err)
		}
		var disk int64
		if err := filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
			if err == nil && !fi.IsDir() {
				disk += fi.Size()
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
		// Keys written: tx record and txid index per tx, a spent-by per
		// known input (every input but the coinbases' and external ones),
		// an address entry per output with an address (≈ outputs), two per
		// block.
		keys := 2*res.Txs + (res.Inputs - res.Blocks - res.External) + res.Outputs + 2*res.Blocks
		secs := elapsed.Seconds()
		ceiling := 0.0
		if os.Getenv("TRACER_BENCH_CEILING") != "0" { // it takes as long as the ingest again
			ceiling = streamWriterSeconds(b, keys)
		}
		b.ReportMetric(float64(res.Txs)/secs, "tx/s")
		b.ReportMetric(float64(res.Bytes)/1e6/secs, "MB/s")
		b.ReportMetric(float64(disk)/float64(res.Txs), "disk-bytes/tx")
		b.ReportMetric(float64(rss)/(1<<20), "peak-RSS-MiB")
		b.ReportMetric(float64(anon)/(1<<20), "peak-anon-MiB")
		b.ReportMetric(float64(file)/(1<<20), "peak-file-MiB")
		b.ReportMetric(float64(keys)/float64(res.Txs), "keys/tx")
		b.ReportMetric(float64(res.Joined), "joined-inputs")
		b.ReportMetric(ceiling, "streamwriter-s")
		b.ReportMetric(secs, "ingest-s")
		if !mergeStart.IsZero() {
			b.ReportMetric(start.Add(elapsed).Sub(mergeStart).Seconds(), "merge-s")
		}
		// The machine is shared: CPU seconds and the load average say how
		// much of the wall time was this run's.
		b.ReportMetric(cpu, "cpu-s")
		b.ReportMetric(float64(res.Txs)/cpu, "tx/cpu-s")
		b.ReportMetric(load, "loadavg-1m")
		b.ReportMetric(ceiling/secs, "ceiling-ratio")
		b.Logf("ingest %d blocks, %d txs, %d inputs, %d outputs, %.0f MB in %.1fs; %d keys; disk %.0f MB; StreamWriter ceiling for the same keys %.1fs",
			res.Blocks, res.Txs, res.Inputs, res.Outputs, float64(res.Bytes)/1e6, secs, keys, float64(disk)/1e6, ceiling)
	}
}

// benchCacheTxs is TRACER_BENCH_CACHE_TXS, the input cache's size (0: the
// default): a small one sends the inputs beyond it through the bulk load's
// join.
func benchCacheTxs(b *testing.B) int {
	v := os.Getenv("TRACER_BENCH_CACHE_TXS")
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		b.Fatalf("TRACER_BENCH_CACHE_TXS=%q: want a positive number", v)
	}
	return n
}

// cpuSeconds is the user and system CPU time of this process so far.
func cpuSeconds(b *testing.B) float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// loadAverage is the one-minute load average (Linux; 0 elsewhere).
func loadAverage() float64 {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f, _ := strconv.ParseFloat(strings.Fields(string(data))[0], 64)
	return f
}

// streamWriterSeconds times Badger's StreamWriter writing n sorted keys
// shaped like the store's (prefix + 8-byte number + a little more, with
// values of the mean record size), with the store's compression settings.
func streamWriterSeconds(b *testing.B, n int64) float64 {
	dir := b.TempDir()
	db, err := badger.Open(badger.DefaultOptions(dir).WithLogger(nil).WithCompression(options.ZSTD).WithZSTDCompressionLevel(1).WithBlockCacheSize(64 << 20))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	start := time.Now()
	sw := db.NewStreamWriter()
	if err := sw.Prepare(); err != nil {
		b.Fatal(err)
	}
	const chunk = 10000
	val := make([]byte, 40)
	for i := int64(0); i < n; i += chunk {
		buf := z.NewBuffer(4<<20, "bench")
		for j := i; j < min(i+chunk, n); j++ {
			k := make([]byte, 17)
			k[0] = 'k'
			binary.BigEndian.PutUint64(k[1:], uint64(j))
			binary.BigEndian.PutUint64(k[9:], uint64(j*2654435761))
			binary.BigEndian.PutUint64(val, uint64(j))
			badger.KVToBuffer(&pb.KV{Key: k, Value: val, Version: 1}, buf)
		}
		if err := sw.Write(buf); err != nil {
			b.Fatal(err)
		}
		if err := buf.Release(); err != nil {
			b.Fatal(err)
		}
	}
	if err := sw.Flush(); err != nil {
		b.Fatal(err)
	}
	return time.Since(start).Seconds()
}
