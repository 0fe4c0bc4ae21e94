package api_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/chaingen"
	"github.com/tracer-oss/tracer/store/storetest"
	"github.com/tracer-oss/tracer/tracer/screen"
	"github.com/tracer-oss/tracer/tracer/screen/api"
	"github.com/tracer-oss/tracer/tracer/screen/screentest"
	"github.com/tracer-oss/tracer/tracer/spec"
)

// benchScreener opens the screened bench store (TRACER_BENCH_TXS, default
// 1,000,000 transactions; built once and cached in the temp dir) read-only
// and samples 20,000 addresses: random outputs' addresses, and one in ten
// an address of the scenario's truth (seeds and deposits: direct hits and
// index records) so the record-decoding path is measured too.
func benchScreener(b *testing.B) (*store.Store, *screen.Screener, []string) {
	b.Helper()
	db := screentest.BenchStore(b, storetest.BenchTxs(b))
	st, err := store.Open(db, store.Options{ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	scr, err := screen.New(st, screen.Options{Params: screentest.Params})
	if err != nil {
		b.Fatal(err)
	}
	if !scr.IndexUsable() {
		b.Fatalf("bench index not usable: %+v", scr.Status().Index)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	truth, err := chaingen.ReadTruth(filepath.Join(storetest.BenchChain(b, storetest.BenchTxs(b)), "truth.json"))
	if err != nil {
		b.Fatal(err)
	}
	var known []string
	for _, s := range truth.Seeds {
		known = append(known, s.Address)
	}
	for _, d := range truth.Deposits {
		known = append(known, d.Address)
	}
	var addrs []string
	for len(addrs) < 2_000 {
		addrs = append(addrs, known[rng.IntN(len(known))])
	}
	next := st.State().NextTx
	for len(addrs) < 20_000 {
		tx, err := st.TxByNum(store.TxNum(rng.Uint64N(uint64(next))))
		if err != nil {
			b.Fatal(err)
		}
		o := tx.Outputs[rng.IntN(len(tx.Outputs))]
		if a := o.Addr.String(screentest.Params); a != "" && o.Addr.Kind.HasAddress() && !strings.Contains(a, ":") {
			addrs = append(addrs, a)
		}
	}
	return st, scr, addrs
}

func envInt(b *testing.B, name string, def int) int {
	if v := os.Getenv(name); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			b.Fatalf("%s=%q: want a positive number", name, v)
		}
		return n
	}
	return def
}

// BenchmarkServeAddress runs the API on 127.0.0.1 and a bounded load
// generator against GET /v1/address/{addr} with random addresses:
// BENCH_REQUESTS requests (default 200,000) over BENCH_CONNS keep-alive
// connections (default 8). It reports requests/s, p50 and p99 latency in
// ms and the number of errors (non-200 answers or failed requests).
func BenchmarkServeAddress(b *testing.B) {
	st, scr, addrs := benchScreener(b)
	srv, err := api.New(api.Config{Screener: scr, Tracer: spec.NewRunner(st, scr.Sources().Params, nil)})
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	hs := srv.HTTPServer(ln.Addr().String(), 0)
	go func() { _ = hs.Serve(ln) }() // ErrServerClosed when the test closes it
	defer hs.Close()
	n, k := envInt(b, "BENCH_REQUESTS", 200_000), envInt(b, "BENCH_CONNS", 8)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cpu0 := cpuTime()
		lat, errs, elapsed := load(ln.Addr().String(), addrs, n, k)
		cpu := cpuTime() - cpu0
		b.StopTimer()
		slices.Sort(lat)
		pct := func(p float64) float64 {
			if len(lat) == 0 {
				return 0
			}
			return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
		}
		b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "req/s")
		b.ReportMetric(pct(0.50), "p50_ms")
		b.ReportMetric(pct(0.99), "p99_ms")
		b.ReportMetric(float64(errs), "errors")
		// CPU time of the process (server and load generator) per request:
		// what the machine's load leaves aside, 1e6/cpu_µs/req is the
		// request rate one core sustains.
		b.ReportMetric(float64(cpu.Microseconds())/float64(n), "cpu_µs/req")
		if errs > 0 {
			b.Errorf("%d of %d requests failed", errs, n)
		}
		b.StartTimer()
	}
}

// load sends n requests over k keep-alive connections with a minimal
// HTTP/1.1 client (so the generator costs little of the shared CPU), and
// returns every successful request's latency, the error count and the
// wall time.
func load(addr string, addrs []string, n, k int) ([]time.Duration, int, time.Duration) {
	var mu sync.Mutex
	var all []time.Duration
	errs := 0
	var wg sync.WaitGroup
	start := time.Now()
	for c := 0; c < k; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			count := n / k
			if c < n%k {
				count++
			}
			lat, e := client(addr, addrs, c, count)
			mu.Lock()
			all = append(all, lat...)
			errs += e
			mu.Unlock()
		}(c)
	}
	wg.Wait()
	return all, errs, time.Since(start)
}

func client(addr string, addrs []string, c, count int) ([]time.Duration, int) {
	lat := make([]time.Duration, 0, count)
	errs := 0
	var conn net.Conn
	var r *bufio.Reader
	rng := rand.New(rand.NewPCG(uint64(c), 99))
	reqs := make([][]byte, len(addrs))
	for i, a := range addrs {
		reqs[i] = []byte("GET /v1/address/" + a + " HTTP/1.1\r\nHost: bench\r\n\r\n")
	}
	for i := 0; i < count; i++ {
		if conn == nil {
			var err error
			if conn, err = net.Dial("tcp", addr); err != nil {
				errs++
				continue
			}
			r = bufio.NewReaderSize(conn, 16<<10)
		}
		start := time.Now()
		_, err := conn.Write(reqs[rng.IntN(len(reqs))])
		code := 0
		if err == nil {
			code, err = readResponse(r)
		}
		if err != nil || code != 200 {
			if errs < 3 {
				fmt.Fprintf(os.Stderr, "bench: request failed: code %d, %v\n", code, err)
			}
			errs++
			if err != nil {
				conn.Close()
				conn = nil
			}
			continue
		}
		lat = append(lat, time.Since(start))
	}
	if conn != nil {
		conn.Close()
	}
	return lat, errs
}

// readResponse reads one response with a Content-Length body.
func readResponse(r *bufio.Reader) (int, error) {
	line, err := r.ReadSlice('\n')
	if err != nil {
		return 0, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.1 ")) {
		return 0, fmt.Errorf("bad status line %q", line)
	}
	code, _ := strconv.Atoi(string(line[9:12]))
	cl := -1
	for {
		line, err = r.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		if len(line) <= 2 {
			break
		}
		if k, v, ok := bytes.Cut(line, []byte(":")); ok && bytes.EqualFold(k, []byte("Content-Length")) {
			cl, _ = strconv.Atoi(string(bytes.TrimSpace(v)))
		}
	}
	if cl < 0 {
		return 0, fmt.Errorf("no Content-Length")
	}
	_, err = r.Discard(cl)
	return code, err
}

// BenchmarkScreenInProcess screens BENCH_LOOKUPS random addresses
// (default 100,000) from the index in process, no HTTP, per iteration, and
// reports the median and 99th percentile latency in µs.
func BenchmarkScreenInProcess(b *testing.B) {
	_, scr, addrs := benchScreener(b)
	ctx := context.Background()
	n := envInt(b, "BENCH_LOOKUPS", 100_000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		lat := make([]time.Duration, 0, n)
		exposed, listed := 0, 0
		for j := 0; j < n; j++ {
			start := time.Now()
			r, err := scr.Lookup(ctx, addrs[j%len(addrs)])
			lat = append(lat, time.Since(start))
			if err != nil {
				b.Fatal(err)
			}
			if len(r.Exposures) > 0 {
				exposed++
			}
			if len(r.Direct) > 0 {
				listed++
			}
		}
		b.StopTimer()
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1000, "p50_µs")
		b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1000, "p99_µs")
		b.ReportMetric(float64(n)/sum(lat).Seconds(), "lookups/s")
		b.ReportMetric(float64(exposed)/float64(n), "exposed_share")
		b.ReportMetric(float64(listed)/float64(n), "listed_share")
		b.StartTimer()
	}
}

func sum(d []time.Duration) time.Duration {
	var t time.Duration
	for _, x := range d {
		t += x
	}
	return t
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
