//go:build integration

package follow_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/rpcclient"
	"github.com/btcsuite/btcd/wire"

	"github.com/tracer-oss/tracer/sanctions/address"
	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/chaingen"
	"github.com/tracer-oss/tracer/store/ingest"
	"github.com/tracer-oss/tracer/store/ingest/rpcnode"
	"github.com/tracer-oss/tracer/store/storetest"
	"github.com/tracer-oss/tracer/tracer/alert"
	"github.com/tracer-oss/tracer/tracer/follow"
)

var params = &chaincfg.RegressionNetParams

// miningAddr receives the coinbases of blocks btcd's generate mines.
func miningAddr(t testing.TB) string {
	a, err := btcutil.NewAddressWitnessPubKeyHash(bytes.Repeat([]byte{7}, 20), params)
	if err != nil {
		t.Fatal(err)
	}
	return a.EncodeAddress()
}

// regtest is a generated chain loaded into a fresh btcd up to a height.
type regtest struct {
	btcd   *storetest.Btcd
	rpc    *rpcclient.Client
	blocks [][]byte // the generated main chain, genesis first
	dir    string   // its blk files
}

func startChain(t testing.TB, txs int, upTo int) *regtest {
	t.Helper()
	dir := t.TempDir()
	if _, err := chaingen.Generate(context.Background(), chaingen.Config{OutDir: dir, Txs: txs, Seed: 8, TxsPerBlock: 20}, nil); err != nil {
		t.Fatal(err)
	}
	r := &regtest{dir: filepath.Join(dir, "blocks"), blocks: storetest.RawBlocks(t, filepath.Join(dir, "blocks", "blk00000.dat"))}
	r.btcd = storetest.StartRegtestBtcd(t, miningAddr(t))
	r.rpc = r.btcd.Client()
	r.submit(t, 1, upTo)
	return r
}

func (r *regtest) submit(t testing.TB, from, to int) {
	t.Helper()
	for h := from; h <= to; h++ {
		var b wire.MsgBlock
		if err := b.Deserialize(bytes.NewReader(r.blocks[h])); err != nil {
			t.Fatal(err)
		}
		if err := r.rpc.SubmitBlock(btcutil.NewBlock(&b), nil); err != nil {
			t.Fatalf("submit block %d: %v", h, err)
		}
	}
}

func (r *regtest) tip(t testing.TB) (int32, chainhash.Hash) {
	t.Helper()
	h, n, err := r.rpc.GetBestBlock()
	if err != nil {
		t.Fatal(err)
	}
	return n, *h
}

// reorg makes btcd abandon its last depth blocks and mine depth+1 others
// (with the abandoned transactions it takes back from its mempool).
func (r *regtest) reorg(t testing.TB, depth int) {
	t.Helper()
	tip, _ := r.tip(t)
	h, err := r.rpc.GetBlockHash(int64(tip) - int64(depth) + 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.rpc.InvalidateBlock(h); err != nil {
		t.Fatalf("invalidateblock: %v", err)
	}
	if _, err := r.rpc.Generate(uint32(depth + 1)); err != nil {
		t.Fatalf("generate: %v", err)
	}
	if n, _ := r.tip(t); n != tip+1 {
		t.Fatalf("after the reorg btcd is at %d, want %d", n, tip+1)
	}
}

// freshIngest writes btcd's best chain to blk files and ingests them into a
// new store: the reference a followed store must equal.
func (r *regtest) freshIngest(t testing.TB) *store.Store {
	t.Helper()
	tip, _ := r.tip(t)
	var raws [][]byte
	for h := int32(0); h <= tip; h++ {
		hash, err := r.rpc.GetBlockHash(int64(h))
		if err != nil {
			t.Fatal(err)
		}
		b, err := r.rpc.GetBlock(hash)
		if err != nil {
			t.Fatal(err)
		}
		raws = append(raws, storetest.Serialize(t, b))
	}
	dir := filepath.Join(t.TempDir(), "blocks")
	storetest.WriteBlocksDir(t, dir, raws, storetest.Layout{Magic: wire.TestNet})
	st := storetest.Open(t)
	if _, err := ingest.Run(context.Background(), st, ingest.Config{Paths: []string{dir}, StartHeight: -1, ToHeight: -1}); err != nil {
		t.Fatal(err)
	}
	return st
}

func dial(t testing.TB, r *regtest) *rpcnode.Client {
	t.Helper()
	n, err := rpcnode.Dial(context.Background(), rpcnode.Config{URL: r.btcd.URL(), User: r.btcd.User, Pass: r.btcd.Pass})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Close)
	return n
}

// watchedAddrs picks addresses paid by the second and third transaction
// of each block from to down to from, up to n, plus the mining address: the
// last blocks, which reorganisations replace, all hold watched activity.
func watchedAddrs(t testing.TB, st *store.Store, from, to int32, n int) []string {
	t.Helper()
	seen := map[string]bool{}
	out := []string{miningAddr(t)}
	for h := to; h >= from && len(out) <= n; h-- {
		blk, err := st.BlockByHeight(h)
		if err != nil {
			t.Fatal(err)
		}
		for pos := store.TxNum(1); pos <= 2 && pos < store.TxNum(blk.NumTx); pos++ {
			tx, err := st.TxByNum(blk.FirstTx + pos)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range tx.Outputs {
				if o.Addr.Kind.HasAddress() && o.Addr.Kind != address.Multisig && o.Addr.Kind != address.NonStandard {
					if s := o.Addr.String(params); !seen[s] {
						seen[s] = true
						out = append(out, s)
					}
					break
				}
			}
		}
	}
	return out
}

// expectedEvents recomputes, from a store, the alert events the watched
// addresses must have raised in blocks above from: "block txid dir address".
func expectedEvents(t testing.TB, st *store.Store, watched []string, from int32) map[string]bool {
	t.Helper()
	w := map[address.Addr]string{}
	for _, s := range watched {
		a, err := address.Parse(s, params)
		if err != nil {
			t.Fatal(err)
		}
		a.Kind = a.Kind.Class()
		w[a] = s
	}
	class := func(a address.Addr) address.Addr { a.Kind = a.Kind.Class(); return a }
	ev := map[string]bool{}
	first, err := st.BlockByHeight(from + 1)
	if err != nil {
		t.Fatal(err)
	}
	err = st.ForEachTx(first.FirstTx, func(tx *store.Tx) error {
		blk, err := st.BlockByHeight(tx.Height)
		if err != nil {
			return err
		}
		for _, in := range tx.Inputs {
			if in.Kind != store.InputKnown {
				continue
			}
			prev, err := st.TxByNum(in.Prev.Tx)
			if err != nil {
				return err
			}
			if s, ok := w[class(prev.Outputs[in.Prev.Vout].Addr)]; ok {
				ev[fmt.Sprintf("%s %s out %s", blk.Hash, tx.ID, s)] = true
			}
		}
		for _, o := range tx.Outputs {
			if s, ok := w[class(o.Addr)]; ok && o.Addr.Kind.HasAddress() {
				ev[fmt.Sprintf("%s %s in %s", blk.Hash, tx.ID, s)] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// checkAlerts reads an alerts file and checks: every id once, every
// retraction withdraws a delivered alert once, and the alerts left standing
// are exactly the expected events.
func checkAlerts(t testing.TB, path string, want map[string]bool) (alerts, retractions int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	byID := map[string]alert.Message{}
	retracted := map[string]bool{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	var order []string
	for sc.Scan() {
		var m alert.Message
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("alert line %q: %v", sc.Text(), err)
		}
		if _, dup := byID[m.ID]; dup {
			t.Errorf("alert %s delivered twice", m.ID)
		}
		byID[m.ID] = m
		order = append(order, m.ID)
		if m.Kind == "retract" {
			retractions++
			if _, ok := byID[m.Retracts]; !ok {
				t.Errorf("retraction %s of %s, which was never delivered before it", m.ID, m.Retracts)
			}
			if retracted[m.Retracts] {
				t.Errorf("%s retracted twice", m.Retracts)
			}
			retracted[m.Retracts] = true
		} else {
			alerts++
		}
	}
	got := map[string]bool{}
	for _, id := range order {
		m := byID[id]
		if m.Kind != "alert" || retracted[id] {
			continue
		}
		k := fmt.Sprintf("%s %s %s %s", m.Block, m.TxID, m.Direction, m.Address)
		if got[k] {
			t.Errorf("event %s raised twice without a retraction", k)
		}
		got[k] = true
	}
	for k := range want {
		if !got[k] {
			t.Errorf("missing alert: %s", k)
		}
	}
	for k := range got {
		if !want[k] {
			t.Errorf("alert for no (or an undone) event: %s", k)
		}
	}
	return alerts, retractions
}

func waitFor(t testing.TB, what string, d time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func noPending(t testing.TB, st *store.Store) bool {
	p, err := st.Outbox().Pending(0, 1)
	if err != nil {
		t.Fatal(err)
	}
	return len(p) == 0
}

// TestFollowBtcd syncs a generated chain from a real btcd over RPC, then
// follows it through reorganisations of depth 1 and 6 (invalidateblock and
// generate), comparing the store with a fresh ingest of btcd's best chain
// key by key each time, and checks that alerts fire exactly once per event.
// A second store is followed by a child process that is SIGKILLed at each
// step of the depth-6 undo and right after re-applying, and restarted.
//
// Run it with: go test -tags integration -run IntegrationFollowBtcd ./tracer/follow/
func TestIntegrationFollowBtcd(t *testing.T) {
	ctx := context.Background()
	r := startChain(t, 800, 0)
	n := len(r.blocks) - 1
	watchFrom := int32(n - 12)
	r.submit(t, 1, int(watchFrom))
	node := dial(t, r)

	// Initial sync over RPC equals a blk-file ingest of the same blocks.
	st := storetest.Open(t)
	start := time.Now()
	res, err := ingest.Sync(ctx, st, node, ingest.Config{Network: node.Network(), Workers: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("RPC sync: %d blocks, %d txs in %s", res.Blocks, res.Txs, time.Since(start).Round(time.Millisecond))
	storetest.Equal(t, r.freshIngest(t), st)

	// Watches: addresses the remaining blocks pay, from a full ingest.
	full := storetest.Open(t)
	if _, err := ingest.Run(ctx, full, ingest.Config{Paths: []string{r.dir}, StartHeight: -1, ToHeight: -1}); err != nil {
		t.Fatal(err)
	}
	watched := watchedAddrs(t, full, watchFrom+1, int32(n), 8)
	for _, a := range watched {
		if _, err := st.WatchList().Add(store.Watch{Kind: store.WatchAddress, Value: a, FromHeight: watchFrom}); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("watching %d addresses", len(watched))

	// The child's store: empty, same watches; it syncs from genesis.
	childDB := t.TempDir()
	func() {
		cst, err := store.Open(childDB, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer cst.Close()
		for _, a := range watched {
			if _, err := cst.WatchList().Add(store.Watch{Kind: store.WatchAddress, Value: a, FromHeight: watchFrom}); err != nil {
				t.Fatal(err)
			}
		}
	}()
	childAlerts := filepath.Join(t.TempDir(), "child-alerts.jsonl")

	alertsPath := filepath.Join(t.TempDir(), "alerts.jsonl")
	sink, err := alert.OpenFile(alertsPath)
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	fctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	metrics := make(chan string, 1)
	go func() {
		done <- follow.Run(fctx, st, node, follow.Config{
			Sync: ingest.Config{Network: node.Network(), Workers: 3}, Poll: 100 * time.Millisecond,
			Alerts: true, Sinks: []alert.Sink{sink}, Listen: "127.0.0.1:0",
			Ready: func(a string) { metrics <- a },
		})
	}()
	listen := <-metrics
	synced := func() bool {
		h, hash := r.tip(t)
		s := st.State()
		return s.Height == h && s.Hash == hash && noPending(t, st)
	}

	r.submit(t, int(watchFrom)+1, n)
	waitFor(t, "the follower to reach the generated tip", 60*time.Second, synced)
	storetest.EqualChain(t, r.freshIngest(t), st)
	checkAlerts(t, alertsPath, expectedEvents(t, st, watched, watchFrom))

	runChild := func(pause string) (*exec.Cmd, <-chan string) {
		return startChild(t, childArgs{DB: childDB, URL: r.btcd.URL(), User: r.btcd.User, Pass: r.btcd.Pass, Alerts: childAlerts, Pause: pause})
	}
	childSynced := func(lines <-chan string) func() bool {
		return func() bool {
			h, hash := r.tip(t)
			for {
				select {
				case l := <-lines:
					if l == fmt.Sprintf("synced %d %s", h, hash) {
						return true
					}
				default:
					return false
				}
			}
		}
	}
	// The child catches up and stops on SIGTERM.
	cmd, lines := runChild("")
	waitFor(t, "the child to sync", 60*time.Second, childSynced(lines))
	terminate(t, cmd)

	for _, depth := range []int{1, 6} {
		t.Run(fmt.Sprintf("reorg%d", depth), func(t *testing.T) {
			r.reorg(t, depth)
			waitFor(t, "the follower to switch chains", 60*time.Second, synced)
			storetest.EqualChain(t, r.freshIngest(t), st)
			a, rt := checkAlerts(t, alertsPath, expectedEvents(t, st, watched, watchFrom))
			t.Logf("alerts file: %d alerts, %d retractions", a, rt)
			if rt == 0 {
				t.Errorf("a reorganisation of depth %d retracted no alert", depth)
			}
		})
	}

	t.Run("killed mid-reorg", func(t *testing.T) {
		// The follower above has moved on; the child's store is behind by
		// the two reorganisations. Kill it inside each undo step, then
		// right after it re-applied blocks, restarting it each time.
		kills := 0
		for _, pause := range []string{store.UndoStepState, store.UndoStepDerived, store.UndoStepDone, "commit"} {
			cmd, lines := runChild(pause)
			waitFor(t, "the child to pause at "+pause, 60*time.Second, func() bool {
				for {
					select {
					case l := <-lines:
						if l == "paused "+pause {
							return true
						}
					default:
						return false
					}
				}
			})
			cmd.Process.Signal(syscall.SIGKILL)
			cmd.Wait()
			kills++
		}
		cmd, lines := runChild("")
		waitFor(t, "the restarted child to sync", 60*time.Second, childSynced(lines))
		terminate(t, cmd)
		cst, err := store.Open(childDB, store.Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		defer cst.Close()
		storetest.EqualChain(t, st, cst)
		a, rt := checkAlerts(t, childAlerts, expectedEvents(t, cst, watched, watchFrom))
		t.Logf("%d kills; child alerts file: %d alerts, %d retractions", kills, a, rt)
		if vr, err := cst.Verify(ctx, params); err != nil || len(vr.Problems) > 0 {
			t.Fatalf("verify: %v %v", err, vr.Problems)
		}
	})

	t.Run("metrics", func(t *testing.T) {
		resp, err := http.Get("http://" + listen + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, want := range []string{"tracer_follow_reorgs_total 2", fmt.Sprintf("tracer_follow_tip_height %d", st.State().Height)} {
			if !strings.Contains(string(out), want) {
				t.Errorf("metrics lack %q:\n%s", want, out)
			}
		}
	})
	stop()
	if err := <-done; err != nil {
		t.Fatalf("follower: %v", err)
	}
}

func terminate(t testing.TB, cmd *exec.Cmd) {
	t.Helper()
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child on SIGTERM: %v", err)
	}
}
