package storetest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/chaingen"
	"github.com/tracer-oss/tracer/store/ingest"
)

// BenchTxs is the size of the benchmark chain: TRACER_BENCH_TXS, default
// 1,000,000 transactions.
func BenchTxs(tb testing.TB) int {
	n := 1_000_000
	if v := os.Getenv("TRACER_BENCH_TXS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n <= 0 {
			tb.Fatalf("TRACER_BENCH_TXS=%q: want a positive number", v)
		}
	}
	return n
}

// chainVersion names the generator's shape in the cache names: a chain
// cached by an older generator (w0: no wallets; w1: signed) is not reused.
// The chain is unsigned (placeholder signatures of real sizes: nothing the
// benchmarks run checks signatures), which makes a 10M chain several times
// faster to generate.
const chainVersion = "w1u"

// BenchChain returns the blocks directory of a generated modern-shaped
// chain of n transactions (seed 1, both scenarios, unsigned), generating it once and
// caching it in the OS temp dir across runs.
func BenchChain(tb testing.TB, n int) string {
	tb.Helper()
	dir := BenchChainDir(n)
	if _, err := os.Stat(filepath.Join(dir, "done")); err != nil {
		if err := os.RemoveAll(dir); err != nil {
			tb.Fatal(err)
		}
		start := time.Now()
		if _, err := chaingen.Generate(context.Background(), chaingen.Config{OutDir: dir, Txs: n, Seed: 1, Unsigned: true}, nil); err != nil {
			tb.Fatal(err)
		}
		tb.Logf("generated a %d-transaction chain in %s", n, time.Since(start).Round(time.Second))
		if err := os.WriteFile(filepath.Join(dir, "done"), nil, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	return dir
}

// BenchChainDir is where BenchChain caches the chain of n transactions.
func BenchChainDir(n int) string {
	return filepath.Join(os.TempDir(), fmt.Sprintf("tracer-bench-chain-%d-%s", n, chainVersion))
}

// BenchStore returns a store holding BenchChain(n), ingested once and cached
// in the OS temp dir (per schema version), opened read-only.
func BenchStore(tb testing.TB, n int) *store.Store {
	tb.Helper()
	chain := BenchChain(tb, n)
	// The schema version is in the name: a store cached by another version
	// would not open, and may be in use by a checkout of that version.
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("tracer-bench-store-%d-%s-v%d", n, chainVersion, store.SchemaVersion))
	if _, err := os.Stat(filepath.Join(dir, "done")); err != nil {
		if err := os.RemoveAll(dir); err != nil {
			tb.Fatal(err)
		}
		st, err := store.Open(filepath.Join(dir, "db"), store.Options{})
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := ingest.Run(context.Background(), st, ingest.Config{Paths: []string{filepath.Join(chain, "blocks")}, StartHeight: -1, ToHeight: -1}); err != nil {
			tb.Fatal(err)
		}
		if err := st.Close(); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "done"), nil, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	st, err := store.Open(filepath.Join(dir, "db"), store.Options{ReadOnly: true})
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

// PeakRSS returns the process's peak resident set size in bytes (Linux; 0
// elsewhere). ResetPeakRSS starts a new peak.
func PeakRSS() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// ResetPeakRSS resets the kernel's peak-RSS mark for this process.
// Without clear_refs (not Linux) the peak counts from the process's start,
// which PeakRSS's callers only report.
func ResetPeakRSS() {
	os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) //nolint:errcheck // best effort: only Linux has clear_refs
}

// RSSSampler records, every 50 ms until Stop, the largest anonymous
// (heap and other private memory) and file-backed (mapped files, such as
// Badger's tables) parts of the process's resident set (Linux; zeros
// elsewhere). Mapped file pages are page cache the kernel can evict; the
// anonymous part is what the process itself holds.
type RSSSampler struct {
	stop       chan struct{}
	done       chan struct{}
	anon, file int64
}

// SampleRSS starts a sampler of this process.
func SampleRSS() *RSSSampler { return sampleRSS("/proc/self/status") }

// SampleRSSOf starts a sampler of process pid (a child the caller started;
// zeros once it has exited).
func SampleRSSOf(pid int) *RSSSampler { return sampleRSS(fmt.Sprintf("/proc/%d/status", pid)) }

func sampleRSS(status string) *RSSSampler {
	s := &RSSSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			a, f := rssParts(status)
			s.anon, s.file = max(s.anon, a), max(s.file, f)
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// Stop ends sampling and returns the peaks in bytes.
func (s *RSSSampler) Stop() (anon, file int64) {
	close(s.stop)
	<-s.done
	return s.anon, s.file
}

func rssParts(status string) (anon, file int64) {
	data, err := os.ReadFile(status)
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		for _, f := range []struct {
			key string
			v   *int64
		}{{"RssAnon:", &anon}, {"RssFile:", &file}} {
			if rest, ok := strings.CutPrefix(line, f.key); ok {
				kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
				*f.v = kb << 10
			}
		}
	}
	return anon, file
}
