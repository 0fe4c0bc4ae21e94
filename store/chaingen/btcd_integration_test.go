//go:build integration

package chaingen

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/rpcclient"
)

const installHint = "install it with: go install github.com/btcsuite/btcd@v0.24.2 github.com/btcsuite/btcd/cmd/btcctl@v0.24.2 (and put $(go env GOPATH)/bin on PATH)"

// findBinary looks on PATH, then in $GOPATH/bin.
func findBinary(t *testing.T, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
			gopath = string(out[:len(out)-1])
		}
	}
	if gopath != "" {
		p := filepath.Join(gopath, "bin", name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Fatalf("%s binary not found on PATH or in $GOPATH/bin; %s", name, installHint)
	return ""
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestBtcdNodeAcceptsChain submits every generated block to a real btcd
// in regtest mode and compares its tip with the generator's.
func TestBtcdNodeAcceptsChain(t *testing.T) {
	btcd := findBinary(t, "btcd")
	findBinary(t, "btcctl") // CI installs both; fail early with the hint if not

	dir := t.TempDir()
	sum, err := Generate(context.Background(), Config{OutDir: dir, Txs: 6000, Seed: 2024, XOR: true,
		Shuffle: true, Forks: 5, MaxFileSize: 1 << 20}, nil)
	if err != nil {
		t.Fatal(err)
	}
	blocks := readBlocks(t, dir)
	chain, forks, err := mainChain(blocks, sum.TipHash)
	if err != nil {
		t.Fatal(err)
	}

	data := t.TempDir()
	p2p, rpc := freePort(t), freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, btcd, "--regtest", "--datadir="+filepath.Join(data, "data"),
		"--logdir="+filepath.Join(data, "logs"), fmt.Sprintf("--listen=127.0.0.1:%d", p2p),
		fmt.Sprintf("--rpclisten=127.0.0.1:%d", rpc), "--rpcuser=u", "--rpcpass=p", "--notls", "--txindex", "--debuglevel=warn")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start btcd: %v", err)
	}
	defer func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
		}
	}()
	client, err := rpcclient.New(&rpcclient.ConnConfig{Host: fmt.Sprintf("127.0.0.1:%d", rpc), User: "u", Pass: "p",
		HTTPPostMode: true, DisableTLS: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Shutdown()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := client.GetBlockCount(); err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("btcd RPC not up: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	for i, b := range chain[1:] {
		if err := client.SubmitBlock(btcutil.NewBlock(b), nil); err != nil {
			t.Fatalf("submit block %d %s: %v", i+1, b.BlockHash(), err)
		}
	}
	for _, b := range parentsFirst(chain, forks) {
		if err := client.SubmitBlock(btcutil.NewBlock(b), nil); err != nil {
			t.Fatalf("submit fork block %s: %v", b.BlockHash(), err)
		}
	}
	best, err := client.GetBestBlockHash()
	if err != nil {
		t.Fatal(err)
	}
	count, err := client.GetBlockCount()
	if err != nil {
		t.Fatal(err)
	}
	if best.String() != sum.TipHash || count != int64(sum.TipHeight) {
		t.Fatalf("btcd tip %d %s, generator %d %s", count, best, sum.TipHeight, sum.TipHash)
	}
	t.Logf("btcd accepted %d blocks and %d fork blocks; tip %d %s", len(chain)-1, len(forks), count, best)
}
