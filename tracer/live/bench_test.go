package live_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/tracer-oss/tracer/sanctions/ofac"
	"github.com/tracer-oss/tracer/sanctions/tags"
	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/storetest"
	"github.com/tracer-oss/tracer/tracer/live"
	"github.com/tracer-oss/tracer/tracer/screen"
	"github.com/tracer-oss/tracer/tracer/screen/api"
	"github.com/tracer-oss/tracer/tracer/screen/screentest"
)

// pct is the p-th percentile of sorted durations.
func pct(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	return d[min(len(d)-1, int(float64(len(d))*p))]
}

// steady screens random addresses at rate a second until stop closes,
// one request at a time per tick (ticks a slow answer delays are
// dropped, not bunched); it returns the latencies and the failures.
func steady(r *running, addrs []string, rate int, stop <-chan struct{}) (lat []time.Duration, errs int) {
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	var mu sync.Mutex
	var wg sync.WaitGroup
	rng := rand.New(rand.NewPCG(1, 2))
	for {
		select {
		case <-stop:
			wg.Wait()
			slices.Sort(lat)
			return lat, errs
		case <-tick.C:
		}
		a := addrs[rng.IntN(len(addrs))]
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			s := r.screen(a)
			d := time.Since(t0)
			mu.Lock()
			defer mu.Unlock()
			if s.Err != nil || s.Code != http.StatusOK {
				errs++
				return
			}
			lat = append(lat, d)
		}()
	}
}

// BenchmarkFollowLoad screens at a steady rate (LOAD_RATE a second, default
// 200) over HTTP for LOAD_SECONDS (default 3) with no block arriving, then
// while the chain's blocks arrive one every 20 ms and are applied
// (blocks, exposure index, snapshot), and reports both p99 latencies and
// the errors, which must be zero. Run with -benchtime 1x.
func BenchmarkFollowLoad(b *testing.B) {
	c := genChain(b)
	rate, secs := envInt(b, "LOAD_RATE", 200), envInt(b, "LOAD_SECONDS", 3)
	for range b.N {
		st := listStore(b, c)
		n := int32(len(c.blocks) - 1)
		half := n / 2
		node := &memNode{}
		node.set(c.blocks[:half+1], c.hashes[:half+1])
		r := start(b, st, node)
		r.waitTip(b, c.hashes[half])
		var addrs []string
		for _, d := range c.truth.Deposits {
			addrs = append(addrs, d.Address)
		}
		b.ResetTimer()
		stop := make(chan struct{})
		time.AfterFunc(time.Duration(secs)*time.Second, func() { close(stop) })
		idle, idleErrs := steady(r, addrs, rate, stop)

		stop = make(chan struct{})
		fed := make(chan struct{})
		go func() {
			defer close(fed)
			for h := half + 1; h <= n; h++ {
				node.set(c.blocks[:h+1], c.hashes[:h+1])
				time.Sleep(20 * time.Millisecond)
			}
		}()
		go func() {
			<-fed
			r.waitTip(b, c.hashes[n])
			close(stop)
		}()
		following, followErrs := steady(r, addrs, rate, stop)
		b.StopTimer()
		r.stop()
		if idleErrs+followErrs > 0 {
			b.Fatalf("%d errors idle, %d while following", idleErrs, followErrs)
		}
		b.ReportMetric(float64(pct(idle, 0.99).Microseconds())/1000, "p99-idle-ms")
		b.ReportMetric(float64(pct(following, 0.99).Microseconds())/1000, "p99-following-ms")
		b.ReportMetric(float64(pct(idle, 0.5).Microseconds())/1000, "p50-idle-ms")
		b.ReportMetric(float64(pct(following, 0.5).Microseconds())/1000, "p50-following-ms")
		b.ReportMetric(float64(len(idle)+len(following)), "screens")
		b.ReportMetric(float64(n-half), "blocks")
		b.ReportMetric(0, "errors")
	}
}

func envInt(tb testing.TB, name string, def int) int {
	if v := os.Getenv(name); v != "" {
		var n int
		if _, err := fmt.Sscan(v, &n); err != nil || n <= 0 {
			tb.Fatalf("%s=%q: want a positive number", name, v)
		}
		return n
	}
	return def
}

// BenchmarkBlockToAnswer measures, on the generated benchmark chain
// (TRACER_BENCH_TXS, default 1,000,000; 10,000,000 works too; chain and
// store cached), the time from a block's arrival at the node to the API
// answering from it — the block stored, the exposure index brought
// forward, a new view published — for its last BLOCKS (default 10) blocks,
// one at a time, against a full exposure build of the same store (as
// tracer screen --rebuild-index makes it: 10 blocks of undo records). It
// reports wall and CPU seconds (the process's, from getrusage: the machine
// may be shared) and the peak RSS. Run with -benchtime 1x.
func BenchmarkBlockToAnswer(b *testing.B) {
	n := storetest.BenchTxs(b)
	k := envInt(b, "BLOCKS", 10)
	chain := storetest.BenchChain(b, n)
	src := storetest.BenchStore(b, n)
	srcDir, tip := src.Dir(), src.State()
	ctx := context.Background()
	for range b.N {
		b.StopTimer()
		dir := filepath.Join(b.TempDir(), "db")
		// The cached store is open read-only: copying it is safe.
		if out, err := exec.Command("cp", "-r", srcDir, dir).CombinedOutput(); err != nil {
			b.Fatalf("copy the store: %v %s", err, out)
		}
		st, err := store.Open(dir, store.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
		from := tip.Height - int32(k)
		if _, err := st.Rollback(ctx, from); err != nil {
			b.Fatal(err)
		}
		l, err := ofac.ParseFiles(ctx, filepath.Join(chain, "sanctions", "sdn_advanced.xml"))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := st.Lists().Save(ctx, l); err != nil {
			b.Fatal(err)
		}
		p, err := tags.ParsePackFile(ctx, filepath.Join(chain, "tags", "exchanges.yaml"), tags.Options{Network: screentest.Params})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := st.Tags().SavePack(ctx, p); err != nil {
			b.Fatal(err)
		}
		opt := screen.Options{Params: screentest.Params}
		t0, cpu0 := time.Now(), cpuTime(b)
		if _, err := screen.BuildIndex(ctx, st, opt); err != nil {
			b.Fatal(err)
		}
		full, fullCPU := time.Since(t0), cpuTime(b)-cpu0
		raws, hashes := lastBlocks(b, filepath.Join(chain, "blocks"), st, from, tip.Height)
		node := &sparseNode{from: from, raws: raws, hashes: hashes}
		node.upTo.Store(from)
		published := make(chan store.State, 1024)
		r := startWith(b, st, node, func(c *live.Config) {
			c.Screen = opt
			c.Follow.Poll = time.Millisecond
			c.OnPublish = func(s store.State) { published <- s }
		})
		r.waitTip(b, hashes[0])
		var perBlock, perTx []time.Duration
		txs := 0
		cpu0 = cpuTime(b)
		b.StartTimer()
		for h := from + 1; h <= tip.Height; h++ {
			t0 := time.Now()
			node.upTo.Store(h)
			for s := range published {
				if s.Height == h {
					break
				}
			}
			d := time.Since(t0)
			var st api.StatusResponse
			if code, err := getJSON(r.srv.URL+"/v1/status", &st); err != nil || code != 200 || st.TipHeight != h || st.Index == nil || len(st.Index.Stale) > 0 {
				b.Fatalf("after block %d the API answers %d %v: %+v", h, code, err, st)
			}
			ntx := blockTxs(b, raws[h-from])
			txs += ntx
			perBlock = append(perBlock, d)
			perTx = append(perTx, d/time.Duration(ntx))
		}
		b.StopTimer()
		followCPU := cpuTime(b) - cpu0
		r.stop()
		slices.Sort(perBlock)
		slices.Sort(perTx)
		ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
		b.ReportMetric(ms(pct(perBlock, 0.5)), "p50-block-ms")
		b.ReportMetric(ms(pct(perBlock, 0.99)), "p99-block-ms")
		b.ReportMetric(float64(pct(perTx, 0.5).Nanoseconds())/1000, "p50-µs/tx")
		b.ReportMetric(float64(pct(perTx, 0.99).Nanoseconds())/1000, "p99-µs/tx")
		b.ReportMetric(full.Seconds(), "full-build-s")
		b.ReportMetric(fullCPU.Seconds(), "full-build-cpu-s")
		b.ReportMetric(full.Seconds()/pct(perBlock, 0.5).Seconds(), "full/p50-block")
		b.ReportMetric(full.Seconds()/pct(perBlock, 0.99).Seconds(), "full/p99-block")
		b.ReportMetric(followCPU.Seconds()/float64(len(perBlock)), "cpu-s/block")
		b.ReportMetric(float64(txs)/float64(len(perBlock)), "txs/block")
		b.ReportMetric(float64(peakRSS(b))/(1<<20), "peak-rss-MiB")
		b.Logf("%d blocks of %d txs on average: per block p50 %s p99 %s (%.2f CPU-s a block); full exposure build %s (%.1f CPU-s)", len(perBlock), txs/len(perBlock),
			pct(perBlock, 0.5), pct(perBlock, 0.99), followCPU.Seconds()/float64(len(perBlock)), full.Round(time.Millisecond), fullCPU.Seconds())
	}
}

// sparseNode serves the blocks from..upTo of a chain it holds from from on.
type sparseNode struct {
	from   int32
	raws   [][]byte
	hashes []chainhash.Hash
	upTo   atomic.Int32
}

func (s *sparseNode) Tip(context.Context) (int32, chainhash.Hash, error) {
	h := s.upTo.Load()
	return h, s.hashes[h-s.from], nil
}

func (s *sparseNode) BlockHash(_ context.Context, h int32) (chainhash.Hash, error) {
	if h < s.from || h > s.upTo.Load() {
		return chainhash.Hash{}, fmt.Errorf("no block at %d", h)
	}
	return s.hashes[h-s.from], nil
}

func (s *sparseNode) Block(_ context.Context, hash chainhash.Hash) ([]byte, error) {
	for i, h := range s.hashes {
		if h == hash {
			return s.raws[i], nil
		}
	}
	return nil, fmt.Errorf("no block %s", hash)
}

// lastBlocks finds the blocks from..to of the chain in dir's blk files
// (the last files), following the hash chain from the store's block at
// from.
func lastBlocks(tb testing.TB, dir string, st *store.Store, from, to int32) ([][]byte, []chainhash.Hash) {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "blk*.dat"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no blk files in %s: %v", dir, err)
	}
	sort.Strings(files)
	start, err := st.BlockByHeight(from)
	if err != nil {
		tb.Fatal(err)
	}
	next := map[chainhash.Hash][]byte{}
	raws, hashes := [][]byte{nil}, []chainhash.Hash{start.Hash}
	for i := len(files) - 1; i >= 0 && len(raws) <= int(to-from); i-- {
		for _, raw := range storetest.RawBlocks(tb, files[i]) {
			var hdr wire.BlockHeader
			if err := hdr.Deserialize(bytes.NewReader(raw)); err != nil {
				tb.Fatal(err)
			}
			next[hdr.PrevBlock] = raw
		}
		raws, hashes = raws[:1], hashes[:1]
		for h := from + 1; h <= to; h++ {
			raw, ok := next[hashes[len(hashes)-1]]
			if !ok {
				break
			}
			raws, hashes = append(raws, raw), append(hashes, headerHash(tb, raw))
		}
	}
	if len(raws) != int(to-from)+1 {
		tb.Fatalf("found %d of the blocks %d–%d in %s", len(raws)-1, from+1, to, dir)
	}
	return raws, hashes
}

func blockTxs(tb testing.TB, raw []byte) int {
	var blk wire.MsgBlock
	if err := blk.Deserialize(bytes.NewReader(raw)); err != nil {
		tb.Fatal(err)
	}
	return len(blk.Transactions)
}

func getJSON(url string, out any) (int, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	return resp.StatusCode, json.NewDecoder(resp.Body).Decode(out)
}

// cpuTime is the user and system CPU time of the process so far.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// peakRSS is the process's peak resident set in bytes.
func peakRSS(tb testing.TB) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return ru.Maxrss << 10 // KiB on Linux
}
