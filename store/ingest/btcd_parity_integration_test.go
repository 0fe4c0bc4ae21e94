//go:build integration

package ingest_test

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcjson"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/rpcclient"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"
	"golang.org/x/sync/errgroup"

	"github.com/tracer-oss/tracer/sanctions/address"
	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/ingest"
	"github.com/tracer-oss/tracer/store/storetest"
)

// TestBtcdAddrIndexParity checks our address index against btcd's
// --addrindex over the mainnet blocks 0–14131 that the btcd module ships.
//
// "The transactions of an address" means the same on both sides:
//   - btcd (blockchain/indexers/addrindex.go, indexBlock) indexes a
//     transaction under every address that txscript.ExtractPkScriptAddrs
//     finds in one of its outputs or in the previous output spent by one of
//     its inputs; addrToKey files a P2PK key under its P2PKH hash, so
//     searchrawtransactions with the P2PKH string returns both.
//   - we take the transactions that pay the address (AddressOutputs, where
//     P2PK outputs are indexed as their P2PKH) plus the transactions that
//     spend those outputs (SpentBy).
//
// The addresses compared are the union of what each side's own classifier
// finds in the outputs: address.Classify over our store and
// txscript.ExtractPkScriptAddrs over the raw blocks, so an address only one
// side recognises shows up as a difference instead of being left out.
//
// Run it with: go test -tags integration -run Parity ./store/ingest/
func TestBtcdAddrIndexParity(t *testing.T) {
	bins := btcdBinaries(t)
	file := storetest.BtcdTestdata(t, "blk_0_to_14131.dat")
	params := &chaincfg.MainNetParams
	const tip = 14131

	start := time.Now()
	rpc := startBtcd(t, bins, file, tip)
	btcdUp := time.Since(start)

	start = time.Now()
	st := storetest.Open(t)
	res, err := ingest.Run(t.Context(), st, ingest.Config{Paths: []string{file}, StartHeight: -1, ToHeight: -1})
	if err != nil {
		t.Fatalf("ingest: %v", err)
	}
	if res.ToHeight != tip {
		t.Fatalf("ingested to height %d, want %d", res.ToHeight, tip)
	}
	ours := time.Since(start)

	addrs, multisig := parityAddresses(t, st, file, params)
	if multisig > 0 {
		// btcd files each key of a bare multisig under its P2PKH; we file
		// the script under one multisig id. Those keys are in addrs (from
		// btcd's classifier) and would show up as differences below.
		t.Logf("%d bare multisig outputs", multisig)
	}
	if len(addrs) < 10000 {
		t.Fatalf("only %d addresses in %d blocks", len(addrs), tip+1)
	}

	start = time.Now()
	btcdSets, ourSets := make([][]chainhash.Hash, len(addrs)), make([][]chainhash.Hash, len(addrs))
	g, ctx := errgroup.WithContext(t.Context())
	const workers = 8
	next := make(chan int)
	g.Go(func() error {
		defer close(next)
		for i := range addrs {
			select {
			case next <- i:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	})
	for range workers {
		// rpcclient in HTTP POST mode sends one request at a time, so
		// each worker gets its own client (and keep-alive connection).
		c := rpc()
		g.Go(func() error {
			for i := range next {
				var err error
				if btcdSets[i], err = btcdTxids(c, addrs[i], params); err != nil {
					return fmt.Errorf("btcd searchrawtransactions %s: %w", addrs[i], err)
				}
				if ourSets[i], err = ourTxids(st, addrs[i], params); err != nil {
					return fmt.Errorf("our index %s: %w", addrs[i], err)
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	compare := time.Since(start)

	var txids, empty int
	var diffs []int
	for i := range addrs {
		txids += len(btcdSets[i])
		switch {
		case !slices.Equal(btcdSets[i], ourSets[i]):
			diffs = append(diffs, i)
		case len(btcdSets[i]) == 0:
			empty++ // every address comes from an output: it has a tx
		}
	}
	for _, i := range diffs[:min(len(diffs), 5)] {
		t.Errorf("%s:\n  btcd (%d): %s\n  ours (%d): %s", addrs[i],
			len(btcdSets[i]), hashList(btcdSets[i]), len(ourSets[i]), hashList(ourSets[i]))
	}
	if len(diffs) > 0 {
		t.Errorf("%d of %d addresses differ", len(diffs), len(addrs))
	}
	if empty > 0 {
		t.Errorf("%d addresses have no transaction on either side", empty)
	}
	t.Logf("btcd: addblock and start %v; our ingest %v; compared %d addresses, %d txids, in %v with %d workers",
		btcdUp.Round(time.Millisecond), ours.Round(time.Millisecond), len(addrs), txids,
		compare.Round(time.Millisecond), workers)
}

// btcdPaths are the programs the parity test runs.
type btcdPaths struct{ btcd, addblock, btcctl string }

// btcdBinaries finds btcd, addblock and btcctl (see storetest.FindBinary).
func btcdBinaries(t *testing.T) btcdPaths {
	t.Helper()
	return btcdPaths{btcd: storetest.FindBinary(t, "btcd"), addblock: storetest.FindBinary(t, "addblock"), btcctl: storetest.FindBinary(t, "btcctl")}
}

// startBtcd imports file into a fresh btcd data directory with addblock,
// starts btcd on it with RPC on a free loopback port and no peers, waits
// until it serves the tip, and stops it when the test ends. It returns a
// constructor of RPC clients.
func startBtcd(t *testing.T, bins btcdPaths, file string, tip int64) func() *rpcclient.Client {
	t.Helper()
	dir := t.TempDir()
	home := filepath.Join(dir, "home") // keep all three off the real ~/.btcd
	conf := filepath.Join(dir, "empty.conf")
	if err := os.MkdirAll(home, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(conf, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "HOME="+home)

	// addblock stops with "network mismatch -- got 0" at the zero padding
	// that ends the file, so it gets the same blocks without the padding.
	trimmed := filepath.Join(dir, "import")
	storetest.WriteBlocksDir(t, trimmed, storetest.RawBlocks(t, file), storetest.Layout{Magic: wire.MainNet})

	// addblock writes DATADIR/mainnet/blocks_ffldb, as btcd does.
	add := exec.CommandContext(t.Context(), bins.addblock, "--datadir="+dir,
		"--addrindex", "--txindex", "--progress=0", "-i", filepath.Join(trimmed, "blk00000.dat"))
	add.Env = env
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", add, err, out)
	}

	rpcAddr := "127.0.0.1:" + freePort(t)
	const user, pass = "u", "p"
	logPath := filepath.Join(dir, "btcd.out")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close() // btcd holds its own descriptor
	btcdLog := func() string { b, _ := os.ReadFile(logPath); return string(b) }
	cmd := exec.Command(bins.btcd, "--configfile="+conf, "--datadir="+dir,
		"--logdir="+filepath.Join(dir, "logs"), "--addrindex", "--txindex",
		"--rpcuser="+user, "--rpcpass="+pass, "--rpclisten="+rpcAddr, "--notls",
		"--rpcmaxclients=32", "--nolisten", "--nodnsseed", "--connect=127.0.0.1:1",
		"--norelaypriority", "--nocfilters")
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start btcd: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		// Ask politely through btcctl, then signal the process group.
		stop := exec.Command(bins.btcctl, "--configfile="+conf, "--rpcserver="+rpcAddr,
			"--notls", "--rpcuser="+user, "--rpcpass="+pass, "stop")
		stop.Env = env
		stopOut, stopErr := stop.CombinedOutput()
		for _, sig := range []syscall.Signal{0, syscall.SIGTERM, syscall.SIGKILL} {
			if sig != 0 {
				syscall.Kill(-cmd.Process.Pid, sig)
			}
			select {
			case <-exited:
				if stopErr != nil {
					t.Logf("btcctl stop: %v: %s", stopErr, stopOut)
				}
				return
			case <-time.After(15 * time.Second):
			}
		}
		t.Errorf("btcd (pid %d) did not exit", cmd.Process.Pid)
	})

	newClient := func() *rpcclient.Client {
		c, err := rpcclient.New(&rpcclient.ConnConfig{
			Host: rpcAddr, User: user, Pass: pass, HTTPPostMode: true, DisableTLS: true,
		}, nil)
		if err != nil {
			t.Fatalf("rpc client: %v", err)
		}
		t.Cleanup(c.Shutdown)
		return c
	}
	c := newClient()
	deadline := time.Now().Add(60 * time.Second)
	for {
		n, err := c.GetBlockCount()
		if err == nil && n == tip {
			break
		}
		select {
		case <-exited:
			t.Fatalf("btcd exited: %v\n%s", cmd.ProcessState, btcdLog())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("btcd not serving height %d after 60s: height %d, %v\n%s", tip, n, err, btcdLog())
		}
		time.Sleep(200 * time.Millisecond)
	}
	return newClient
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// parityAddresses returns, sorted, every address of every output as our
// classifier and btcd's see it, and the number of bare multisig outputs,
// which have no address string btcd understands.
func parityAddresses(t *testing.T, st *store.Store, file string, params *chaincfg.Params) ([]string, int) {
	t.Helper()
	set := make(map[string]struct{})
	multisig := 0
	err := st.ForEachTx(0, func(tx *store.Tx) error {
		for _, o := range tx.Outputs {
			switch o.Addr.Kind {
			case address.OpReturn, address.NonStandard:
			case address.Multisig:
				multisig++
			default:
				set[o.Addr.String(params)] = struct{}{}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ourCount := len(set)
	for _, raw := range storetest.RawBlocks(t, file) {
		var b wire.MsgBlock
		if err := b.Deserialize(bytes.NewReader(raw)); err != nil {
			t.Fatal(err)
		}
		for _, tx := range b.Transactions {
			for _, out := range tx.TxOut {
				_, as, _, _ := txscript.ExtractPkScriptAddrs(out.PkScript, params)
				for _, a := range as {
					if pk, ok := a.(*btcutil.AddressPubKey); ok {
						a = pk.AddressPubKeyHash()
					}
					set[a.EncodeAddress()] = struct{}{}
				}
			}
		}
	}
	if len(set) != ourCount {
		t.Logf("btcd's classifier adds %d addresses to our %d", len(set)-ourCount, ourCount)
	}
	addrs := make([]string, 0, len(set))
	for a := range set {
		addrs = append(addrs, a)
	}
	slices.Sort(addrs)
	return addrs, multisig
}

// btcdTxids returns the sorted txids btcd's searchrawtransactions returns
// for addr; none when btcd knows nothing of it.
func btcdTxids(c *rpcclient.Client, addr string, params *chaincfg.Params) ([]chainhash.Hash, error) {
	a, err := btcutil.DecodeAddress(addr, params)
	if err != nil {
		return nil, err
	}
	const count = 100000
	txs, err := c.SearchRawTransactions(a, 0, count, false, nil)
	var rpcErr *btcjson.RPCError
	if errors.As(err, &rpcErr) && rpcErr.Code == btcjson.ErrRPCNoTxInfo {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if len(txs) >= count {
		return nil, fmt.Errorf("%d transactions: raise the count", len(txs))
	}
	ids := make([]chainhash.Hash, len(txs))
	for i, tx := range txs {
		ids[i] = tx.TxHash()
	}
	return sortedUnique(ids), nil
}

// ourTxids returns the sorted txids of the transactions that pay addr or
// spend an output paid to it, from our index.
func ourTxids(st *store.Store, addr string, params *chaincfg.Params) ([]chainhash.Hash, error) {
	a, err := address.Parse(addr, params)
	if err != nil {
		return nil, err
	}
	var ids []chainhash.Hash
	var spenders []store.TxNum
	err = st.AddressOutputs(a, store.OutPoint{}, func(o store.AddrOutput) bool {
		ids = append(ids, o.TxID)
		if o.Spent {
			spenders = append(spenders, o.SpentBy.Tx)
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	for _, n := range spenders {
		tx, err := st.TxByNum(n)
		if err != nil {
			return nil, fmt.Errorf("spender tx %d: %w", n, err)
		}
		ids = append(ids, tx.ID)
	}
	return sortedUnique(ids), nil
}

func sortedUnique(ids []chainhash.Hash) []chainhash.Hash {
	slices.SortFunc(ids, func(a, b chainhash.Hash) int { return bytes.Compare(a[:], b[:]) })
	return slices.Compact(ids)
}

func hashList(ids []chainhash.Hash) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = id.String()
	}
	return "[" + strings.Join(s, " ") + "]"
}
