package screen_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/flow"
	"github.com/tracer-oss/tracer/store/ingest"
	"github.com/tracer-oss/tracer/store/storetest"
	"github.com/tracer-oss/tracer/tracer/screen"
	"github.com/tracer-oss/tracer/tracer/screen/screentest"
)

// Bench sources: 100 risky entities of 20 addresses each, taken from the
// chain's own outputs (riskyPack), besides the chain's sanctions list.
const (
	benchGroups = 100
	benchPer    = 20
)

// benchInfo is what the cached exposure bench store remembers of its
// making.
type benchInfo struct {
	IngestSeconds    float64 `json:"ingest_seconds"`
	IngestCPUSeconds float64 `json:"ingest_cpu_seconds,omitempty"`
	Txs              int64   `json:"txs"`
}

// cpuSeconds is the process's CPU time so far (user and system).
func cpuSeconds(tb testing.TB) float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// ingestFigures are the wall and CPU seconds of ingesting the chain, the
// ratios' denominators: TRACER_BENCH_INGEST_S and TRACER_BENCH_INGEST_CPU_S
// when set (figures measured in the same window, e.g. by store/ingest's
// BenchmarkIngest on the same chain: ingest gets faster, and this VM's
// speed moves between windows), else what was measured when this
// benchmark ingested the chain (0: not known).
func ingestFigures(tb testing.TB, info benchInfo) (wall, cpu float64) {
	env := func(name string, cached float64) float64 {
		v := os.Getenv(name)
		if v == "" {
			if cached > 0 {
				tb.Logf("%s not set: the ratios use this store's own ingest, %.1f s, which older code may have measured in another window; for a ratio that means something, run store/ingest's BenchmarkIngest on the same chain first and set it", name, cached)
			}
			return cached
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f <= 0 {
			tb.Fatalf("%s=%q: want a positive number of seconds", name, v)
		}
		return f
	}
	return env("TRACER_BENCH_INGEST_S", info.IngestSeconds), env("TRACER_BENCH_INGEST_CPU_S", info.IngestCPUSeconds)
}

func benchDir(n int) string {
	chain := filepath.Base(storetest.BenchChainDir(n)) // tracer-bench-chain-N-VERSION
	return filepath.Join(os.TempDir(), fmt.Sprintf("%s-v%d", strings.Replace(chain, "-chain-", "-exposure-", 1), store.SchemaVersion))
}

// exposureBenchStore returns a writable store over storetest.BenchChain(n)
// with the chain's list and exchange tags and the risky pack loaded,
// cached in the OS temp dir as tracer-bench-exposure-N-w1u-vS (named like
// storetest.BenchStore's, so other benchmarks can reuse it), and the time
// its ingest took.
func exposureBenchStore(b *testing.B, n int) (*store.Store, benchInfo) {
	return exposureBenchStoreT(b, n)
}

func exposureBenchStoreT(b testing.TB, n int) (*store.Store, benchInfo) {
	b.Helper()
	chain := storetest.BenchChain(b, n)
	dir := benchDir(n)
	db := filepath.Join(dir, "db")
	var info benchInfo
	if raw, err := os.ReadFile(filepath.Join(dir, "done")); err == nil && json.Unmarshal(raw, &info) == nil {
		st, err := store.Open(db, store.Options{})
		if err != nil {
			b.Fatal(err)
		}
		return st, info
	}
	if err := os.RemoveAll(dir); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	// Reuse storetest.BenchStore's ingested copy when there is one (its
	// ingest time is then not known here).
	shared := strings.Replace(benchDir(n), "-exposure-", "-store-", 1)
	if _, err := os.Stat(filepath.Join(shared, "done")); err == nil {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		if out, err := exec.Command("cp", "-r", "--sparse=always", filepath.Join(shared, "db"), db).CombinedOutput(); err != nil {
			b.Fatalf("copy %s: %v: %s", shared, err, out)
		}
	}
	st, err := store.Open(db, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	start, cpu := time.Now(), cpuSeconds(b)
	if _, err := ingest.Run(ctx, st, ingest.Config{Paths: []string{filepath.Join(chain, "blocks")}, StartHeight: -1, ToHeight: -1}); err != nil {
		b.Fatal(err)
	}
	info = benchInfo{IngestSeconds: time.Since(start).Seconds(), IngestCPUSeconds: cpuSeconds(b) - cpu, Txs: int64(st.State().NextTx)}
	if _, err := os.Stat(filepath.Join(shared, "done")); err == nil {
		info.IngestSeconds, info.IngestCPUSeconds = 0, 0 // copied, not ingested
	}
	loadSources(b, ctx, st, chain, riskyPack(b, st, benchGroups, benchPer))
	raw, _ := json.Marshal(info)
	if err := os.WriteFile(filepath.Join(dir, "done"), raw, 0o644); err != nil {
		b.Fatal(err)
	}
	return st, info
}

// BenchmarkBuildIndex is the full one-pass exposure build on the
// BenchTxs-transaction chain (TRACER_BENCH_TXS; 1,000,000 by default) with
// 100+ source groups and 2,000+ source addresses: time, rate and peak
// memory, against the time ingesting the same chain took.
func BenchmarkBuildIndex(b *testing.B) {
	n := storetest.BenchTxs(b)
	st, info := exposureBenchStore(b, n)
	defer st.Close()
	ctx := context.Background()
	x, err := flow.Open(ctx, st, flow.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer x.Close()
	src, err := screen.LoadSources(st, screentest.Params)
	if err != nil {
		b.Fatal(err)
	}
	seeds := 0
	for _, g := range src.Groups {
		seeds += len(g.Seeds)
	}
	// As the CLI runs it (cmd/tracer/main.go: screen and serve): a 3 GiB
	// soft limit on the Go heap unless GOMEMLIMIT is set, so the memory
	// figure is the product's, not that of a heap left to double.
	if os.Getenv("GOMEMLIMIT") == "" {
		defer debug.SetMemoryLimit(debug.SetMemoryLimit(3 << 30))
	}
	if path := os.Getenv("TRACER_BENCH_HEAPPROFILE"); path != "" {
		// A heap profile this many seconds into the build (default 30):
		// the pass's live heap, which the end of the benchmark no longer has.
		secs := 30
		if v, err := strconv.Atoi(os.Getenv("TRACER_BENCH_HEAPPROFILE_SECS")); err == nil {
			secs = v
		}
		t := time.AfterFunc(time.Duration(secs)*time.Second, func() {
			if f, err := os.Create(path); err == nil {
				_ = pprof.WriteHeapProfile(f)
				_ = f.Close()
			}
		})
		defer t.Stop()
	}
	b.ReportAllocs()
	b.ResetTimer()
	var hdr store.ExposureIndex
	var anon, file int64
	cpu := cpuSeconds(b)
	for i := 0; i < b.N; i++ {
		rss := storetest.SampleRSS()
		opt := screen.Options{Params: screentest.Params, Flow: x, Alone: true} // as the CLI builds it
		if v := os.Getenv("TRACER_BENCH_ACC_BUDGET"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				b.Fatalf("TRACER_BENCH_ACC_BUDGET=%q: want a positive number of entries", v)
			}
			opt = screen.WithAccBudget(opt, n)
		}
		if v := os.Getenv("TRACER_BENCH_ACC_FANIN"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 2 {
				b.Fatalf("TRACER_BENCH_ACC_FANIN=%q: want a number of runs, at least 2", v)
			}
			opt = screen.WithAccFanIn(opt, n)
		}
		sink := accSink(b)
		if sink != nil {
			opt = screen.WithAccSink(opt, sink.put)
		}
		if os.Getenv("TRACER_BENCH_PROGRESS") != "" {
			opt.Progress = func(s string) { fmt.Fprintln(os.Stderr, time.Now().Format(time.TimeOnly), s) }
		}
		if hdr, err = screen.BuildIndex(ctx, st, opt); err != nil {
			b.Fatal(err)
		}
		if sink != nil {
			sink.close(b) // flushed and synced within the build's time
		}
		a, f := rss.Stop()
		anon, file = max(anon, a), max(file, f)
	}
	b.StopTimer()
	cpu = (cpuSeconds(b) - cpu) / float64(b.N)
	b.ReportMetric(cpu, "build_cpu_s")
	iw, ic := ingestFigures(b, info)
	if ic > 0 {
		b.ReportMetric(ic, "ingest_cpu_s")
		b.ReportMetric(cpu/ic, "build_cpu/ingest_cpu")
	}
	b.ReportMetric(float64(anon)/(4<<30), "peak_anon/4GiB")
	sec := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(float64(info.Txs)/sec, "tx/s")
	b.ReportMetric(sec, "build_s")
	if iw > 0 {
		b.ReportMetric(iw, "ingest_s")
		b.ReportMetric(sec/iw, "build/ingest")
	}
	b.ReportMetric(float64(anon)/(1<<20), "peak_anon_MiB")
	b.ReportMetric(float64(anon+file)/(1<<20), "peak_rss_MiB")
	b.ReportMetric(float64(len(src.Groups)), "groups")
	b.ReportMetric(float64(seeds), "sources")
	b.ReportMetric(float64(hdr.Addresses), "addresses")
	if os.Getenv("TRACER_BENCH_DIGEST") != "" {
		b.Logf("index digest %s", indexDigest(b, st, hdr))
	}
}

// indexDigest is a SHA-256 of everything a build wrote to generation
// hdr.Gen but its time: the header, every accumulator (key and value),
// every tx shares record and the undo records of the last blocks. Two
// builds of one store with equal digests wrote the same index, byte for
// byte (TRACER_BENCH_DIGEST=1 logs it after BenchmarkBuildIndex).
//
// Its second digest is of what the index says, whatever format it was
// written in: the header without its format, and the accumulators, also
// those in undo records, as screen.CanonicalAcc writes them. Builds in two
// index formats with equal second digests hold the same numbers.
func indexDigest(tb testing.TB, st *store.Store, hdr store.ExposureIndex) string {
	tb.Helper()
	h, sem := sha256.New(), sha256.New()
	put := func(tag string, k, v, canon []byte) {
		for _, w := range []struct {
			h hash.Hash
			v []byte
		}{{h, v}, {sem, canon}} {
			var n [8]byte
			w.h.Write([]byte(tag))
			binary.BigEndian.PutUint64(n[:], uint64(len(k)))
			w.h.Write(n[:])
			w.h.Write(k)
			binary.BigEndian.PutUint64(n[:], uint64(len(w.v)))
			w.h.Write(n[:])
			w.h.Write(w.v)
		}
	}
	x := st.Exposure()
	stored, err := x.Header(hdr.Gen)
	if err != nil {
		tb.Fatal(err)
	}
	stored.BuiltAt, stored.Gen, stored.Files, stored.AccFiles = time.Time{}, 0, false, 0 // where the records live is not what they say
	raw, _ := json.Marshal(stored)
	var params screen.IndexParams
	if err := json.Unmarshal(stored.Params, &params); err != nil {
		tb.Fatal(err)
	}
	params.Format = 0
	stored.Params, _ = json.Marshal(params)
	canon, _ := json.Marshal(stored)
	put("h", nil, raw, canon)
	accs := 0
	if err := x.ForEachAcc(hdr.Gen, func(k string, v []byte) error {
		accs++
		c, err := screen.CanonicalAcc(v, params.Slots)
		put("a", []byte(k), v, c)
		return err
	}); err != nil {
		tb.Fatal(err)
	}
	recs := 0
	for n := store.TxNum(0); n < st.State().NextTx; n++ {
		v, found, err := x.TxShares(hdr.Gen, n)
		if err != nil {
			tb.Fatal(err)
		}
		if found {
			recs++
			put("t", binary.BigEndian.AppendUint64(nil, uint64(n)), v, v)
		}
	}
	undos := 0
	if err := x.Update(hdr.Gen, func(u *store.ExposureUpdate) error {
		for ht := int32(0); ht <= st.State().Height; ht++ {
			v, found, err := u.Undo(ht)
			if err != nil {
				return err
			}
			if found {
				undos++
				c, err := screen.CanonicalUndo(v, params.Slots)
				if err != nil {
					return err
				}
				put("u", binary.BigEndian.AppendUint32(nil, uint32(ht)), v, c)
			}
		}
		return nil
	}); err != nil {
		tb.Fatal(err)
	}
	return fmt.Sprintf("%x, semantic %x (%d accumulators, %d tx shares records, %d undo records)", h.Sum(nil), sem.Sum(nil), accs, recs, undos)
}

// BenchmarkUpdateIndex is the per-block update: the store is rolled back
// 40 blocks (UpdateIndex undoes them from its undo records), then the
// blocks are ingested again one at a time and UpdateIndex brings the index
// forward after each. It reports p50 and p99 per block and per
// transaction, and the headline: a full rebuild's time over a block's
// update at p50.
func BenchmarkUpdateIndex(b *testing.B) {
	const depth = 40
	n := storetest.BenchTxs(b)
	st, info := exposureBenchStore(b, n)
	defer st.Close()
	ctx := context.Background()
	dir := benchDir(n)
	opt := screen.Options{Params: screentest.Params, UndoDepth: depth} // undo records for the rollback below
	start := time.Now()
	if _, err := screen.BuildIndex(ctx, st, opt); err != nil {
		b.Fatal(err)
	}
	build := time.Since(start)
	chain := filepath.Join(storetest.BenchChain(b, n), "blocks")
	// The cached store is changed below and changed back; while it is,
	// it is not "done".
	done, err := os.ReadFile(filepath.Join(dir, "done"))
	if err != nil {
		b.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "done")); err != nil {
		b.Fatal(err)
	}
	tip := st.State().Height
	var perBlock, perTx []float64
	var undo time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		if _, err := st.Rollback(ctx, tip-depth); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		_, stats, err := screen.UpdateIndex(ctx, st, 0, opt)
		if err != nil {
			b.Fatal(err)
		}
		if stats.BlocksUndone != depth {
			b.Fatalf("undid %d blocks, want %d", stats.BlocksUndone, depth)
		}
		undo += stats.Duration
		for h := tip - depth + 1; h <= tip; h++ {
			b.StopTimer()
			if _, err := ingest.Run(ctx, st, ingest.Config{Paths: []string{chain}, StartHeight: -1, ToHeight: h}); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			_, stats, err := screen.UpdateIndex(ctx, st, 0, opt)
			if err != nil {
				b.Fatal(err)
			}
			if stats.BlocksApplied != 1 {
				b.Fatalf("applied %d blocks, want 1", stats.BlocksApplied)
			}
			perBlock = append(perBlock, stats.Duration.Seconds())
			perTx = append(perTx, stats.Duration.Seconds()/float64(max(stats.Txs, 1)))
		}
	}
	b.StopTimer()
	if err := os.WriteFile(filepath.Join(dir, "done"), done, 0o644); err != nil {
		b.Fatal(err)
	}
	slices.Sort(perBlock)
	slices.Sort(perTx)
	q := func(v []float64, p float64) float64 { return v[min(len(v)-1, int(p*float64(len(v))))] }
	b.ReportMetric(q(perBlock, 0.5)*1e3, "p50_ms/block")
	b.ReportMetric(q(perBlock, 0.99)*1e3, "p99_ms/block")
	b.ReportMetric(q(perTx, 0.5)*1e6, "p50_us/tx")
	b.ReportMetric(q(perTx, 0.99)*1e6, "p99_us/tx")
	b.ReportMetric(undo.Seconds()*1e3/float64(depth*b.N), "undo_ms/block")
	b.ReportMetric(build.Seconds(), "rebuild_s")
	b.ReportMetric(build.Seconds()/q(perBlock, 0.5), "rebuild/update")
	b.ReportMetric(info.IngestSeconds, "ingest_s")
}

// benchSink takes a build's merged accumulators instead of the index
// (TRACER_BENCH_ACC_SINK=discard, or =file: one sequential file in the
// temp dir, removed after), to measure what writing them to Badger costs.
// The index it leaves has no accumulators: for measuring only.
type benchSink struct {
	f     *os.File
	w     *bufio.Writer
	bytes int64
}

func accSink(tb testing.TB) *benchSink {
	switch v := os.Getenv("TRACER_BENCH_ACC_SINK"); v {
	case "":
		return nil
	case "discard":
		return &benchSink{}
	case "file":
		f, err := os.CreateTemp("", "tracer-bench-accs-")
		if err != nil {
			tb.Fatal(err)
		}
		return &benchSink{f: f, w: bufio.NewWriterSize(f, 1<<20)}
	default:
		tb.Fatalf("TRACER_BENCH_ACC_SINK=%q: want discard or file", v)
		return nil
	}
}

func (s *benchSink) put(key string, v []byte) error {
	s.bytes += int64(len(key) + len(v))
	if s.w == nil {
		return nil
	}
	var n [binary.MaxVarintLen64]byte
	if _, err := s.w.Write(n[:binary.PutUvarint(n[:], uint64(len(key)))]); err != nil {
		return err
	}
	if _, err := s.w.WriteString(key); err != nil {
		return err
	}
	if _, err := s.w.Write(n[:binary.PutUvarint(n[:], uint64(len(v)))]); err != nil {
		return err
	}
	_, err := s.w.Write(v)
	return err
}

func (s *benchSink) close(tb testing.TB) {
	tb.Logf("accumulators sent to the sink: %d bytes", s.bytes)
	if s.f == nil {
		return
	}
	if err := s.w.Flush(); err != nil {
		tb.Error(err)
	}
	if err := s.f.Sync(); err != nil {
		tb.Error(err)
	}
	_ = s.f.Close()
	_ = os.Remove(s.f.Name())
}
