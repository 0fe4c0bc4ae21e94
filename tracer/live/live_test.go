package live_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/tracer-oss/tracer/sanctions/ofac"
	"github.com/tracer-oss/tracer/sanctions/tags"
	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/chaingen"
	"github.com/tracer-oss/tracer/store/ingest"
	"github.com/tracer-oss/tracer/store/storetest"
	"github.com/tracer-oss/tracer/tracer/follow"
	"github.com/tracer-oss/tracer/tracer/live"
	"github.com/tracer-oss/tracer/tracer/screen"
	"github.com/tracer-oss/tracer/tracer/screen/api"
	"github.com/tracer-oss/tracer/tracer/screen/screentest"
)

// chainFix is a generated chain: its blocks (genesis first) and truth.
type chainFix struct {
	dir    string
	blocks [][]byte
	hashes []chainhash.Hash
	truth  *chaingen.Truth
}

var (
	chainOnce sync.Once
	chain     chainFix
	chainErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if chain.dir != "" {
		os.RemoveAll(chain.dir)
	}
	os.Exit(code)
}

// genChain generates the tests' chain once per test binary.
func genChain(t testing.TB) *chainFix {
	t.Helper()
	chainOnce.Do(func() {
		if chain.dir, chainErr = os.MkdirTemp("", "tracer-live-"); chainErr != nil {
			return
		}
		if _, chainErr = chaingen.Generate(context.Background(), chaingen.Config{OutDir: chain.dir, Txs: 1500, Seed: 8, TxsPerBlock: 50}, nil); chainErr != nil {
			return
		}
		chain.truth, chainErr = chaingen.ReadTruth(filepath.Join(chain.dir, "truth.json"))
	})
	if chainErr != nil {
		t.Fatal(chainErr)
	}
	if chain.blocks == nil {
		chain.blocks = storetest.RawBlocks(t, filepath.Join(chain.dir, "blocks", "blk00000.dat"))
		for _, raw := range chain.blocks {
			chain.hashes = append(chain.hashes, headerHash(t, raw))
		}
	}
	return &chain
}

func headerHash(t testing.TB, raw []byte) chainhash.Hash {
	var h wire.BlockHeader
	if err := h.Deserialize(bytes.NewReader(raw)); err != nil {
		t.Fatal(err)
	}
	return h.BlockHash()
}

// want is the truth's haircut exposure of each deposit address of blocks
// up to height h.
func (c *chainFix) want(h int32) map[string]int64 {
	out := map[string]int64{}
	for _, d := range c.truth.Deposits {
		if _, ok := out[d.Address]; !ok {
			out[d.Address] = 0
		}
		if d.Height <= h {
			out[d.Address] += d.Taint.Haircut
		}
	}
	return out
}

// branch is the chain up to height fork followed by a branch of
// coinbase-only blocks up to height tip.
func (c *chainFix) branch(t testing.TB, fork, tip int32) ([][]byte, []chainhash.Hash) {
	t.Helper()
	blocks, hashes := append([][]byte{}, c.blocks[:fork+1]...), append([]chainhash.Hash{}, c.hashes[:fork+1]...)
	var prev wire.BlockHeader
	if err := prev.Deserialize(bytes.NewReader(c.blocks[fork])); err != nil {
		t.Fatal(err)
	}
	for h := fork + 1; h <= tip; h++ {
		b := storetest.CoinbaseBlock(prev.BlockHash(), prev.Timestamp, h, []byte(fmt.Sprintf("branch %d", h)))
		blocks, hashes = append(blocks, storetest.Serialize(t, b)), append(hashes, b.BlockHash())
		prev = b.Header
	}
	return blocks, hashes
}

// memNode is an ingest.Node serving a chain the test replaces.
type memNode struct {
	mu     sync.Mutex
	chain  [][]byte
	hashes []chainhash.Hash
}

func (m *memNode) set(blocks [][]byte, hashes []chainhash.Hash) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.chain, m.hashes = blocks, hashes
}

func (m *memNode) Tip(context.Context) (int32, chainhash.Hash, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return int32(len(m.chain) - 1), m.hashes[len(m.hashes)-1], nil
}

func (m *memNode) BlockHash(_ context.Context, h int32) (chainhash.Hash, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if h < 0 || int(h) >= len(m.hashes) {
		return chainhash.Hash{}, fmt.Errorf("no block at %d", h)
	}
	return m.hashes[h], nil
}

func (m *memNode) Block(_ context.Context, hash chainhash.Hash) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, h := range m.hashes {
		if h == hash {
			return m.chain[i], nil
		}
	}
	return nil, fmt.Errorf("no block %s", hash)
}

// listStore is a store with the chain's sanctions list and exchange tags
// loaded, and no block.
func listStore(t testing.TB, c *chainFix) *store.Store {
	t.Helper()
	ctx := context.Background()
	st := storetest.Open(t)
	l, err := ofac.ParseFiles(ctx, filepath.Join(c.dir, "sanctions", "sdn_advanced.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Lists().Save(ctx, l); err != nil {
		t.Fatal(err)
	}
	p, err := tags.ParsePackFile(ctx, filepath.Join(c.dir, "tags", "exchanges.yaml"), tags.Options{Network: screentest.Params})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Tags().SavePack(ctx, p); err != nil {
		t.Fatal(err)
	}
	return st
}

// running is a live service following a memNode, with its API.
type running struct {
	svc  *live.Service
	srv  *httptest.Server
	stop func()
}

const adminKey = "admin-key-0123456789abcdef"

func start(t testing.TB, st *store.Store, node *memNode) *running {
	return startWith(t, st, node, nil)
}

// startWith is start with the service's configuration changed by edit.
func startWith(t testing.TB, st *store.Store, node ingest.Node, edit func(*live.Config)) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cfg := live.Config{
		Follow: follow.Config{Sync: ingest.Config{Network: "regtest", StartHeight: -1, ToHeight: -1}, Poll: 5 * time.Millisecond},
		Screen: screen.Options{Params: screentest.Params, MaxHops: 200},
	}
	if edit != nil {
		edit(&cfg)
	}
	svc, err := live.New(ctx, st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx, node) }()
	h, err := api.New(api.Config{Views: svc.View, Admin: svc, AdminKeys: []api.Key{{Name: "ops", Secret: adminKey}}})
	if err != nil {
		t.Fatal(err)
	}
	r := &running{svc: svc, srv: httptest.NewServer(h)}
	var once sync.Once
	r.stop = func() {
		once.Do(func() {
			r.srv.Close()
			cancel()
			if err := <-done; err != nil {
				t.Errorf("live: %v", err)
			}
			svc.Close()
		})
	}
	t.Cleanup(r.stop)
	return r
}

// screened is one answer of GET /v1/address.
type screened struct {
	api.AddressResponse
	Code int
	Err  error
}

func (r *running) screen(addr string) screened {
	resp, err := http.Get(r.srv.URL + "/v1/address/" + addr)
	if err != nil {
		return screened{Err: err}
	}
	defer resp.Body.Close()
	var s screened
	s.Code = resp.StatusCode
	if err := json.NewDecoder(resp.Body).Decode(&s.AddressResponse); err != nil {
		s.Err = err
	}
	return s
}

// waitTip waits until the published view is at hash with a usable index.
func (r *running) waitTip(t testing.TB, hash chainhash.Hash) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		v, release := r.svc.View()
		ok := v.Screener.Status().TipHash == hash.String() && v.Screener.IndexUsable()
		release()
		if ok {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	v, release := r.svc.View()
	defer release()
	t.Fatalf("the view did not reach %s with a usable index: %+v", hash, v.Screener.Status())
}

// checkExposures screens every deposit address and compares with want.
func (r *running) checkExposures(t *testing.T, want map[string]int64, tip chainhash.Hash) {
	t.Helper()
	exposed := 0
	for addr, amount := range want {
		s := r.screen(addr)
		if s.Err != nil || s.Code != 200 {
			t.Fatalf("screen %s: %d %v", addr, s.Code, s.Err)
		}
		if s.TipHash != tip.String() {
			t.Errorf("screen %s answered from tip %s; want %s", addr, s.TipHash, tip)
		}
		got := s.Sanctioned().Amount
		if got != amount || (amount > 0) != (s.Risk == screen.RiskExposed || s.Risk == screen.RiskSanctioned) {
			t.Errorf("at %d, %s: %s with %d sat sanctioned exposure; want %d", s.TipHeight, addr, s.Risk, got, amount)
		}
		if amount > 0 {
			exposed++
		}
	}
	if exposed == 0 {
		t.Fatal("no deposit is exposed at this tip: the test would show nothing")
	}
}

// TestFollowExposure: blocks arrive at a live service; after each, every
// truth deposit address screens exposed with the truth's haircut amount
// of the deposits made so far — answered from the new tip; a
// reorganisation takes the abandoned blocks' exposure back. A client
// screening all the while gets no error, and every answer's amount is the
// one of the tip it names (never half a block).
func TestFollowExposure(t *testing.T) {
	c := genChain(t)
	st := listStore(t, c)
	n := int32(len(c.blocks) - 1)
	node := &memNode{}
	node.set(c.blocks[:1], c.hashes[:1])
	r := start(t, st, node)

	// Expected answers by tip hash: the main chain's, and the branch's.
	var mu sync.Mutex
	expect := map[string]map[string]int64{}
	for h := int32(0); h <= n; h++ {
		expect[c.hashes[h].String()] = c.want(h)
	}
	var deposit string
	for _, d := range c.truth.Deposits {
		if d.Taint.Haircut > 0 && (deposit == "" || d.Height > n/2) {
			deposit = d.Address
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var stopOnce sync.Once
	halt := func() { stopOnce.Do(func() { close(stop) }); wg.Wait() }
	defer halt()
	var answers, failures atomic.Int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			s := r.screen(deposit)
			answers.Add(1)
			if s.Err != nil || s.Code != 200 {
				failures.Add(1)
				t.Errorf("screen during following: %d %v", s.Code, s.Err)
				continue
			}
			mu.Lock()
			want, ok := expect[s.TipHash]
			mu.Unlock()
			if !ok && s.TipHeight > 0 {
				t.Errorf("an answer from tip %d %s, which no chain of the test has", s.TipHeight, s.TipHash)
			} else if ok && s.Method == screen.MethodIndex && s.Sanctioned().Amount != want[deposit] {
				t.Errorf("at tip %d: %d sat; want %d (the tip's own)", s.TipHeight, s.Sanctioned().Amount, want[deposit])
			}
		}
	}()

	first, last := n, int32(0) // heights of the first and last tainted deposits
	for _, d := range c.truth.Deposits {
		if d.Taint.Haircut > 0 {
			first, last = min(first, d.Height), max(last, d.Height)
		}
	}
	if first >= last {
		t.Fatalf("tainted deposits at heights %d–%d: the chain is too small for the test", first, last)
	}
	for _, h := range []int32{first, (first + last) / 2, n} {
		node.set(c.blocks[:h+1], c.hashes[:h+1])
		r.waitTip(t, c.hashes[h])
		r.checkExposures(t, c.want(h), c.hashes[h])
	}

	// A reorganisation below the last tainted deposit: a branch of
	// coinbase-only blocks, one longer than what it replaces.
	fork := last - 1
	blocks, hashes := c.branch(t, fork, n+1)
	mu.Lock()
	for _, h := range hashes[fork+1:] {
		expect[h.String()] = c.want(fork)
	}
	mu.Unlock()
	node.set(blocks, hashes)
	r.waitTip(t, hashes[len(hashes)-1])
	want := c.want(fork)
	r.checkExposures(t, want, hashes[len(hashes)-1])
	lost := 0
	for a, v := range c.want(n) {
		if v != want[a] {
			lost++
		}
	}
	if lost == 0 {
		t.Error("the reorganisation took no exposure back: the test would show nothing")
	}
	halt()
	if answers.Load() < 10 || failures.Load() > 0 {
		t.Errorf("%d screens during following, %d failed", answers.Load(), failures.Load())
	}
}

// TestAdminSanctionsSwitch: a list posted to the admin route becomes the
// version screens answer from, while a client screening all the while
// gets no error and never an answer other than the truth's; /v1/status
// shows the build while it runs.
func TestAdminSanctionsSwitch(t *testing.T) {
	c := genChain(t)
	st := listStore(t, c)
	n := int32(len(c.blocks) - 1)
	node := &memNode{}
	node.set(c.blocks, c.hashes)
	r := start(t, st, node)
	r.waitTip(t, c.hashes[n])
	want := c.want(n)
	var deposit string
	for a, v := range want {
		if v > 0 {
			deposit = a
			break
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var stopOnce sync.Once
	halt := func() { stopOnce.Do(func() { close(stop) }); wg.Wait() }
	defer halt()
	var answers atomic.Int64
	var versions sync.Map
	wg.Add(1)
	go func() {
		defer wg.Done()
		last := uint32(0)
		for {
			select {
			case <-stop:
				return
			default:
			}
			s := r.screen(deposit)
			answers.Add(1)
			switch {
			case s.Err != nil || s.Code != 200:
				t.Errorf("screen during the switch: %d %v", s.Code, s.Err)
			case s.Method != screen.MethodIndex || s.Sanctioned().Amount != want[deposit]:
				t.Errorf("screen during the switch (list %d): %s %s %d sat; want %d from the index", s.ListVersion, s.Risk, s.Method, s.Sanctioned().Amount, want[deposit])
			case s.ListVersion < last:
				t.Errorf("list version went back from %d to %d", last, s.ListVersion)
			}
			last = max(last, s.ListVersion)
			versions.Store(s.ListVersion, true)
		}
	}()
	body, err := os.ReadFile(filepath.Join(c.dir, "sanctions", "sdn_advanced.xml"))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", r.srv.URL+"/v1/admin/sanctions?name=sdn_advanced.xml", bytes.NewReader(body))
	req.Header.Set("X-Admin-Key", adminKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var ans live.SanctionsAnswer
	if err := json.NewDecoder(resp.Body).Decode(&ans); err != nil || resp.StatusCode != 200 || ans.Version != 2 || ans.Serving != 1 {
		t.Fatalf("POST /v1/admin/sanctions: %d %+v %v; want version 2, serving 1", resp.StatusCode, ans, err)
	}
	resp.Body.Close()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var status api.StatusResponse
		resp, err := http.Get(r.srv.URL + "/v1/status")
		if err != nil {
			t.Fatal(err)
		}
		err = json.NewDecoder(resp.Body).Decode(&status)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if status.ListVersion == 2 && status.Index != nil && status.Index.ListVersion == 2 && len(status.Index.Stale) == 0 && status.Pending == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("list version 2 not in force after 60 s: %+v", status)
		}
		time.Sleep(10 * time.Millisecond)
	}
	for {
		if _, ok := versions.Load(uint32(2)); ok || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	halt()
	if _, ok := versions.Load(uint32(2)); !ok {
		t.Error("no screen answered from list version 2")
	}
	if answers.Load() < 10 {
		t.Errorf("only %d screens during the switch", answers.Load())
	}
	if !strings.Contains(fmt.Sprint(ans.State), "version 1") {
		t.Errorf("answer's state %q does not say which version serves meanwhile", ans.State)
	}
}

// admin sends an admin request and decodes its answer into out.
func (r *running) admin(t *testing.T, method, path, body string, out any) int {
	t.Helper()
	return r.send(t, method, path, body, adminKey, out)
}

// TestAdminTagsAndWatches: a tag pack posted to the admin route shows in
// screens once the index is rebuilt (before, the previous tags answer); a
// watch posted and deleted is stored and removed; bad input is 400 and
// changes nothing.
func TestAdminTagsAndWatches(t *testing.T) {
	c := genChain(t)
	st := listStore(t, c)
	n := int32(len(c.blocks) - 1)
	node := &memNode{}
	node.set(c.blocks, c.hashes)
	r := start(t, st, node)
	r.waitTip(t, c.hashes[n])
	var deposit string
	for _, d := range c.truth.Deposits {
		if !d.Tagged {
			deposit = d.Address
			break
		}
	}
	before := r.screen(deposit)
	for _, tg := range before.Tags {
		if tg.Pack == "ops-pack.csv" {
			t.Fatalf("tagged before the load: %+v", before.Tags)
		}
	}
	var tans live.TagsAnswer
	csv := "address,label,category,source\n" + deposit + ",Ops Desk,exchange,https://example.org\n"
	if code := r.admin(t, "POST", "/v1/admin/tags?name=ops-pack.csv", csv, &tans); code != 200 || tans.Pack != "ops-pack.csv" || tans.Tags != 1 {
		t.Fatalf("POST tags: %d %+v", code, tans)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		s := r.screen(deposit)
		if s.Code != 200 {
			t.Fatalf("screen: %d %v", s.Code, s.Err)
		}
		found := false
		for _, tg := range s.Tags {
			found = found || tg.Pack == "ops-pack.csv" && tg.Label == "Ops Desk"
		}
		if found && s.Method == screen.MethodIndex {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the new tag never showed: %+v", s)
		}
		time.Sleep(10 * time.Millisecond)
	}
	var bad map[string]any
	if code := r.admin(t, "POST", "/v1/admin/tags?name=broken.csv", "address,label\nnot-an-address,x\n", &bad); code != 400 {
		t.Errorf("a bad tag file: %d %v; want 400", code, bad)
	}
	var wans live.WatchAnswer
	if code := r.admin(t, "POST", "/v1/admin/watches", `{"address":"`+strings.ToUpper(deposit)+`"}`, &wans); code != 200 || !wans.Changed || wans.Watch.Value != deposit {
		t.Fatalf("POST watch: %d %+v", code, wans)
	}
	if code := r.admin(t, "POST", "/v1/admin/watches", `{"address":"1NotAnAddress"}`, &bad); code != 400 {
		t.Errorf("watch of a bad address: %d %v; want 400", code, bad)
	}
	ws, err := st.WatchList().All()
	if err != nil || len(ws) != 1 || ws[0].Value != deposit || ws[0].FromHeight != n {
		t.Fatalf("watches after POST: %+v %v; want %s from %d", ws, err, deposit, n)
	}
	if code := r.admin(t, "DELETE", "/v1/admin/watches/"+deposit, "", &wans); code != 200 || !wans.Changed {
		t.Fatalf("DELETE watch: %d %+v", code, wans)
	}
	if ws, err := st.WatchList().All(); err != nil || len(ws) != 0 {
		t.Fatalf("watches after DELETE: %+v %v", ws, err)
	}
}

// TestAdminBackup: GET /v1/admin/backup sends a backup of the store while
// the service runs; it restores into a read replica at the service's tip,
// whose exposure answers equal the primary's.
func TestAdminBackup(t *testing.T) {
	c := genChain(t)
	st := listStore(t, c)
	n := int32(len(c.blocks) - 1)
	node := &memNode{}
	node.set(c.blocks, c.hashes)
	r := start(t, st, node)
	r.waitTip(t, c.hashes[n])
	req, _ := http.NewRequest("GET", r.srv.URL+"/v1/admin/backup", nil)
	req.Header.Set("X-Admin-Key", adminKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "store.backup")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	_, cerr := io.Copy(f, resp.Body)
	if err := errors.Join(cerr, resp.Body.Close(), f.Close()); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /v1/admin/backup: %d %v", resp.StatusCode, err)
	}
	replica := filepath.Join(t.TempDir(), "replica")
	bs, err := store.Restore(context.Background(), file, replica, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if bs.Height != n || bs.Hash != c.hashes[n].String() {
		t.Fatalf("replica at %d %s; want %d %s", bs.Height, bs.Hash, n, c.hashes[n])
	}
	rst, err := store.Open(replica, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer rst.Close()
	scr, err := screen.New(rst, screen.Options{Params: screentest.Params, MaxHops: 200})
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for addr, amount := range c.want(n) {
		got, err := scr.Screen(context.Background(), addr)
		if err != nil {
			t.Fatal(err)
		}
		primary := r.screen(addr)
		if got.Method != screen.MethodIndex || got.Sanctioned().Amount != amount || primary.Sanctioned().Amount != amount {
			t.Errorf("%s: replica %d by %s, primary %d; the truth says %d", addr, got.Sanctioned().Amount, got.Method, primary.Sanctioned().Amount, amount)
		}
		checked++
	}
	if checked == 0 {
		t.Fatal("no truth deposits to compare")
	}
}
