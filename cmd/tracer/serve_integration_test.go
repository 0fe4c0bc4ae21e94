//go:build integration

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/rpcclient"
	"github.com/btcsuite/btcd/wire"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/chaingen"
	"github.com/tracer-oss/tracer/store/storetest"
	"github.com/tracer-oss/tracer/tracer/screen"
	"github.com/tracer-oss/tracer/tracer/screen/api"
)

const itAdminKey = "admin-key-0123456789abcdef"

// liveServer is a `tracer serve --rpc` child process.
type liveServer struct {
	t      *testing.T
	db     string
	url    string
	args   []string
	cmd    *exec.Cmd
	exited chan struct{}
	stderr *bytes.Buffer
}

// startLive starts `tracer serve --rpc` on db in a child process and
// waits until it answers.
func startLive(t *testing.T, db string, b *storetest.Btcd, adminKeys string) *liveServer {
	t.Helper()
	port := storetest.FreePort(t)
	s := &liveServer{t: t, db: db, url: "http://127.0.0.1:" + port,
		args: []string{"--db", db, "serve", "--rpc", b.RPC, "--rpc-notls", "--rpc-user", b.User, "--rpc-pass", b.Pass,
			"--listen", "127.0.0.1:" + port, "--poll", "50ms", "--max-hops", "200", "--rate", "0",
			"--admin-keys", adminKeys, "--alerts", filepath.Join(filepath.Dir(db), "alerts-"+filepath.Base(db)+".jsonl")}}
	s.start()
	return s
}

func (s *liveServer) start() {
	s.t.Helper()
	args, _ := json.Marshal(s.args)
	s.cmd = exec.Command(os.Args[0], "-test.run=^$")
	s.cmd.Env = append(os.Environ(), childEnv+"="+string(args))
	s.stderr = &bytes.Buffer{}
	s.cmd.Stderr = s.stderr
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.exited = make(chan struct{})
	go func() { s.cmd.Wait(); close(s.exited) }() //nolint:errcheck // killed on purpose
	s.t.Cleanup(func() { s.kill() })
	// Generous: after a kill, store.Open checks every log file whole
	// (a value log is preallocated to 1 GiB).
	deadline := time.Now().Add(4 * time.Minute)
	for {
		if resp, err := http.Get(s.url + "/healthz"); err == nil {
			resp.Body.Close()
			return
		}
		select {
		case <-s.exited:
			s.t.Fatalf("serve exited: %v\n%s", s.cmd.ProcessState, s.stderr)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.cmd.Process.Signal(syscall.SIGQUIT) //nolint:errcheck // for its goroutine dump
			<-s.exited
			s.t.Fatalf("serve does not answer after 4 minutes:\n%s", s.stderr)
		}
	}
}

func (s *liveServer) kill() {
	select {
	case <-s.exited:
	default:
		s.cmd.Process.Signal(syscall.SIGKILL) //nolint:errcheck // it may have exited
		<-s.exited
	}
}

// stop ends the server with SIGTERM and checks it exits cleanly.
func (s *liveServer) stop() {
	s.t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM) //nolint:errcheck
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
		s.t.Fatalf("serve did not stop on SIGTERM:\n%s", s.stderr)
	}
	if !s.cmd.ProcessState.Success() {
		s.t.Fatalf("serve: %v\n%s", s.cmd.ProcessState, s.stderr)
	}
}

func (s *liveServer) get(path string, out any) (int, error) {
	resp, err := http.Get(s.url + path)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	return resp.StatusCode, json.NewDecoder(resp.Body).Decode(out)
}

func (s *liveServer) status() api.StatusResponse {
	s.t.Helper()
	var st api.StatusResponse
	if code, err := s.get("/v1/status", &st); err != nil || code != 200 {
		s.t.Fatalf("status: %d %v", code, err)
	}
	return st
}

// waitTip waits until the server answers at the node's tip with a usable
// exposure index.
func (s *liveServer) waitTip(rpc *rpcclient.Client) api.StatusResponse {
	s.t.Helper()
	hash, height, err := rpc.GetBestBlock()
	if err != nil {
		s.t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		st := s.status()
		if st.TipHash == hash.String() && st.Index != nil && len(st.Index.Stale) == 0 && st.Pending == nil {
			return st
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("not at the node's tip %d after 2 minutes: %+v\n%s", height, st, s.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *liveServer) screen(addr string) (api.AddressResponse, error) {
	var r api.AddressResponse
	code, err := s.get("/v1/address/"+addr, &r)
	if err == nil && code != 200 {
		err = fmt.Errorf("status %d", code)
	}
	return r, err
}

// deposits is the truth's haircut exposure of each deposit address from
// the blocks up to height h.
func deposits(tr *chaingen.Truth, h int32) map[string]int64 {
	out := map[string]int64{}
	for _, d := range tr.Deposits {
		out[d.Address] += 0
		if d.Height <= h {
			out[d.Address] += d.Taint.Haircut
		}
	}
	return out
}

func checkDeposits(t *testing.T, s *liveServer, want map[string]int64, tipHash string) {
	t.Helper()
	exposed := 0
	for addr, amount := range want {
		r, err := s.screen(addr)
		if err != nil {
			t.Fatalf("screen %s: %v", addr, err)
		}
		if r.TipHash != tipHash {
			t.Errorf("%s answered from %s; want the tip %s", addr, r.TipHash, tipHash)
		}
		exp := r.Risk == screen.RiskExposed || r.Risk == screen.RiskSanctioned
		if got := r.Sanctioned().Amount; got != amount || exp != (amount > 0) {
			t.Errorf("at %d %s: %s, %d sat; want %d", r.TipHeight, addr, r.Risk, got, amount)
		}
		if amount > 0 {
			exposed++
		}
	}
	if exposed == 0 {
		t.Fatal("no deposit exposed at this tip: the check would show nothing")
	}
}

// TestIntegrationServeFollowsBtcd: a generated chain is fed to btcd block
// by block while `tracer serve --rpc` follows it: truth deposit addresses
// turn exposed with the truth's amounts as their blocks arrive, a
// reorganisation (invalidateblock) takes them back, a list posted to the
// admin route takes effect with no request failing. A second server on
// another store is SIGKILLed at random points of the same following and
// restarted: in the end its store and its answers (the exposure index)
// equal the uninterrupted server's.
func TestIntegrationServeFollowsBtcd(t *testing.T) {
	dir := t.TempDir()
	chainDir := filepath.Join(dir, "chain")
	if _, err := chaingen.Generate(context.Background(), chaingen.Config{OutDir: chainDir, Txs: 900, Seed: 8, TxsPerBlock: 30}, nil); err != nil {
		t.Fatal(err)
	}
	truth, err := chaingen.ReadTruth(filepath.Join(chainDir, "truth.json"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := storetest.RawBlocks(t, filepath.Join(chainDir, "blocks", "blk00000.dat"))
	n := int32(len(blocks) - 1)
	first, last := n, int32(0)
	for _, d := range truth.Deposits {
		if d.Taint.Haircut > 0 {
			first, last = min(first, d.Height), max(last, d.Height)
		}
	}
	if first >= last || last < 2 {
		t.Fatalf("tainted deposits at heights %d–%d of %d: the chain is too small", first, last, n)
	}
	keys := filepath.Join(dir, "admin.keys")
	if err := os.WriteFile(keys, []byte("ops "+itAdminKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Two stores with the list and tags, no block.
	dbs := []string{filepath.Join(dir, "ref"), filepath.Join(dir, "killed")}
	for _, db := range dbs {
		if code, _, errs := runCLI(t, "--db", db, "sanctions", "load", filepath.Join(chainDir, "sanctions", "sdn_advanced.xml")); code != 0 {
			t.Fatalf("sanctions load: %d %s", code, errs)
		}
		if code, _, errs := runCLI(t, "--db", db, "tags", "load", filepath.Join(chainDir, "tags", "exchanges.yaml"), "--network", "regtest"); code != 0 {
			t.Fatalf("tags load: %d %s", code, errs)
		}
	}
	addr, err := btcutil.NewAddressWitnessPubKeyHash(bytes.Repeat([]byte{7}, 20), &chaincfg.RegressionNetParams)
	if err != nil {
		t.Fatal(err)
	}
	b := storetest.StartRegtestBtcd(t, addr.EncodeAddress())
	rpc := b.Client()
	ref := startLive(t, dbs[0], b, keys)
	killed := startLive(t, dbs[1], b, keys)

	// The killed server: SIGKILL at a random moment, restart, again,
	// until told to stop.
	rng := rand.New(rand.NewPCG(8, 13))
	stopKills := make(chan struct{})
	killsDone := make(chan int)
	go func() {
		kills := 0
		defer func() { killsDone <- kills }()
		for {
			select {
			case <-stopKills:
				return
			case <-time.After(time.Duration(50+rng.IntN(400)) * time.Millisecond):
			}
			killed.kill()
			kills++
			killed.start()
		}
	}()

	submit := func(h int32) {
		t.Helper()
		var blk wire.MsgBlock
		if err := blk.Deserialize(bytes.NewReader(blocks[h])); err != nil {
			t.Fatal(err)
		}
		if err := rpc.SubmitBlock(btcutil.NewBlock(&blk), nil); err != nil {
			t.Fatalf("submit block %d: %v", h, err)
		}
	}
	rng2 := rand.New(rand.NewPCG(3, 5))
	checkpoints := map[int32]bool{first: true, (first + last) / 2: true, n: true}
	for h := int32(1); h <= n; h++ {
		submit(h)
		// Paced, so the kills land at many points of the following.
		time.Sleep(time.Duration(rng2.IntN(60)) * time.Millisecond)
		if checkpoints[h] {
			st := ref.waitTip(rpc)
			checkDeposits(t, ref, deposits(truth, h), st.TipHash)
		}
	}

	// A reorganisation below the last tainted deposit: btcd abandons the
	// blocks from last on (invalidateblock) and gets a longer branch of
	// coinbase-only blocks (generate would mine the abandoned transactions
	// again from its mempool).
	fork := last - 1
	hash, err := rpc.GetBlockHash(int64(fork + 1))
	if err != nil {
		t.Fatal(err)
	}
	if err := rpc.InvalidateBlock(hash); err != nil {
		t.Fatalf("invalidateblock: %v", err)
	}
	var prev wire.MsgBlock
	if err := prev.Deserialize(bytes.NewReader(blocks[fork])); err != nil {
		t.Fatal(err)
	}
	for h := fork + 1; h <= n+1; h++ {
		blk := storetest.CoinbaseBlock(prev.BlockHash(), prev.Header.Timestamp, h, []byte(fmt.Sprintf("branch %d", h)))
		if err := rpc.SubmitBlock(btcutil.NewBlock(blk), nil); err != nil {
			t.Fatalf("submit branch block %d: %v", h, err)
		}
		prev = *blk
	}
	if _, tip, _ := rpc.GetBestBlock(); tip != n+1 {
		t.Fatalf("after the reorganisation btcd is at %d; want %d", tip, n+1)
	}
	st := ref.waitTip(rpc)
	want := deposits(truth, fork)
	checkDeposits(t, ref, want, st.TipHash)
	if fmt.Sprint(want) == fmt.Sprint(deposits(truth, n)) {
		t.Fatal("the reorganisation changes no exposure: the check would show nothing")
	}

	// A list posted to the admin route, while a client screens without pause.
	var deposit string
	for a, v := range want {
		if v > 0 {
			deposit = a
			break
		}
	}
	var screens, failed atomic.Int64
	stopScreens := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stopScreens:
				return
			default:
			}
			r, err := ref.screen(deposit)
			screens.Add(1)
			if err != nil || r.Sanctioned().Amount != want[deposit] {
				failed.Add(1)
				t.Errorf("screen during the list switch (list %d): %v, %d sat; want %d", r.ListVersion, err, r.Sanctioned().Amount, want[deposit])
			}
		}
	}()
	list, err := os.ReadFile(filepath.Join(chainDir, "sanctions", "sdn_advanced.xml"))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", ref.url+"/v1/admin/sanctions?name=sdn_advanced.xml", bytes.NewReader(list))
	req.Header.Set("X-Admin-Key", itAdminKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("POST /v1/admin/sanctions: %v %v", resp, err)
	}
	resp.Body.Close()
	deadline := time.Now().Add(2 * time.Minute)
	for ref.status().ListVersion != 2 || ref.status().Pending != nil {
		if time.Now().After(deadline) {
			t.Fatalf("list version 2 not in force after 2 minutes: %+v", ref.status())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if r, err := ref.screen(deposit); err != nil || r.ListVersion != 2 {
		t.Errorf("after the switch: list %d, %v; want 2", r.ListVersion, err)
	}
	for screens.Load() < 20 {
		time.Sleep(10 * time.Millisecond)
	}
	close(stopScreens)
	wg.Wait()
	if screens.Load() < 10 || failed.Load() > 0 {
		t.Errorf("%d screens during the switch, %d failed", screens.Load(), failed.Load())
	}

	// The killed server, let run to the end, answers as the other.
	close(stopKills)
	kills := <-killsDone
	t.Logf("%d kills of the second server", kills)
	if kills < 3 {
		t.Errorf("only %d kills: the crash check shows little", kills)
	}
	killed.waitTip(rpc)
	ref.waitTip(rpc)
	addrs := map[string]bool{}
	for _, d := range truth.Deposits {
		addrs[d.Address] = true
	}
	for _, s := range truth.Seeds {
		addrs[s.Address] = true
	}
	for _, p := range truth.Paths {
		addrs[p.DepositAddress] = true
	}
	sorted := make([]string, 0, len(addrs))
	for a := range addrs {
		sorted = append(sorted, a)
	}
	sort.Strings(sorted)
	for _, a := range sorted {
		x, err1 := ref.screen(a)
		y, err2 := killed.screen(a)
		if err1 != nil || err2 != nil {
			t.Fatalf("screen %s: %v %v", a, err1, err2)
		}
		xj, _ := json.Marshal(x.Record)
		yj, _ := json.Marshal(y.Record)
		if x.TipHash != y.TipHash || x.Risk != y.Risk || x.Method != y.Method || string(xj) != string(yj) {
			t.Errorf("%s: after %d kills %s %s %s; uninterrupted %s %s %s", a, kills, y.Risk, y.Method, yj, x.Risk, x.Method, xj)
		}
	}
	ref.stop()
	killed.stop()
	var stores []*store.Store
	for _, db := range dbs {
		s, err := store.Open(db, store.Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		stores = append(stores, s)
	}
	sameChain(t, stores[0], stores[1])
	if !strings.Contains(ref.stderr.String(), "serve: stopped at height") {
		t.Errorf("serve's stop line missing:\n%s", ref.stderr)
	}
}

// sameChain compares two stores' chains: state, every block, every
// transaction and where each output was spent. (The list versions, index
// generations and alert outboxes of two servers differ by design.)
func sameChain(t *testing.T, a, b *store.Store) {
	t.Helper()
	sa, sb := a.State(), b.State()
	if sa != sb {
		t.Fatalf("states differ:\n%+v\n%+v", sa, sb)
	}
	for h := sa.StartHeight; h <= sa.Height; h++ {
		x, err1 := a.BlockByHeight(h)
		y, err2 := b.BlockByHeight(h)
		if err1 != nil || err2 != nil || fmt.Sprint(x) != fmt.Sprint(y) {
			t.Fatalf("block %d: %+v %v; %+v %v", h, x, err1, y, err2)
		}
	}
	for n := store.TxNum(0); n < sa.NextTx; n++ {
		x, err1 := a.TxByNum(n)
		y, err2 := b.TxByNum(n)
		xs, err3 := a.Spenders(n)
		ys, err4 := b.Spenders(n)
		if err := errors.Join(err1, err2, err3, err4); err != nil {
			t.Fatalf("tx %d: %v", n, err)
		}
		xj, _ := json.Marshal([]any{x, xs})
		yj, _ := json.Marshal([]any{y, ys})
		if string(xj) != string(yj) {
			t.Fatalf("tx %d differs:\n%s\n%s", n, xj, yj)
		}
	}
}
