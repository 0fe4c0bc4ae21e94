package storetest

import (
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

	"github.com/btcsuite/btcd/rpcclient"
)

// BtcdInstall is how to get the programs the integration tests start.
const BtcdInstall = "go install github.com/btcsuite/btcd@v0.24.2 " +
	"github.com/btcsuite/btcd/cmd/addblock@v0.24.2 github.com/btcsuite/btcd/cmd/btcctl@v0.24.2"

// FindBinary finds a program on PATH, then in GOBIN and GOPATH/bin, where go
// install puts it, and fails the test with the install hint otherwise.
func FindBinary(t testing.TB, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	var dirs []string
	for _, v := range []string{"GOBIN", "GOPATH"} {
		out, err := exec.Command("go", "env", v).Output()
		if err != nil {
			t.Fatalf("go env %s: %v", v, err)
		}
		for _, d := range filepath.SplitList(strings.TrimSpace(string(out))) {
			if v == "GOPATH" {
				d = filepath.Join(d, "bin")
			}
			if d != "" {
				dirs = append(dirs, d)
			}
		}
	}
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	t.Fatalf("%s not found on PATH or in %s; install with:\n  %s", name, strings.Join(dirs, ", "), BtcdInstall)
	return ""
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close() //nolint:errcheck // a listener that accepted nothing
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// Btcd is a btcd process in regtest mode that a test started.
type Btcd struct {
	RPC        string // host:port, plain HTTP
	User, Pass string
	t          testing.TB
}

// StartRegtestBtcd starts btcd --regtest with a temporary data directory,
// RPC on a free loopback port without TLS, no peers, and miningAddr for the
// generate RPC; it stops btcd when the test ends.
func StartRegtestBtcd(t testing.TB, miningAddr string, extra ...string) *Btcd {
	t.Helper()
	bin := FindBinary(t, "btcd")
	dir := t.TempDir()
	home := filepath.Join(dir, "home") // keep off the real ~/.btcd
	conf := filepath.Join(dir, "empty.conf")
	if err := os.MkdirAll(home, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(conf, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	b := &Btcd{RPC: "127.0.0.1:" + FreePort(t), User: "u", Pass: "p", t: t}
	logPath := filepath.Join(dir, "btcd.out")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close() //nolint:errcheck // only btcd writes it, through its own descriptor
	args := append([]string{"--regtest", "--configfile=" + conf, "--datadir=" + filepath.Join(dir, "data"),
		"--logdir=" + filepath.Join(dir, "logs"), "--rpcuser=" + b.User, "--rpcpass=" + b.Pass,
		"--rpclisten=" + b.RPC, "--notls", "--listen=127.0.0.1:" + FreePort(t), "--nodnsseed",
		"--connect=127.0.0.1:1", "--rpcmaxclients=32", "--debuglevel=warn", "--miningaddr=" + miningAddr}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "HOME="+home)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start btcd: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }() //nolint:errcheck // btcd is stopped by a signal: Wait's error is expected
	t.Cleanup(func() {
		for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGKILL} {
			syscall.Kill(-cmd.Process.Pid, sig) //nolint:errcheck // ESRCH once btcd has exited, which the select sees
			select {
			case <-exited:
				return
			case <-time.After(15 * time.Second):
			}
		}
		t.Errorf("btcd (pid %d) did not exit", cmd.Process.Pid)
	})
	c := b.Client()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := c.GetBlockCount(); err == nil {
			return b
		} else if time.Now().After(deadline) {
			log, _ := os.ReadFile(logPath)
			t.Fatalf("btcd RPC not up after 60s: %v\n%s", err, log)
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(logPath)
			t.Fatalf("btcd exited: %v\n%s", cmd.ProcessState, log)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Client returns a new RPC client (HTTP POST mode: one request at a time),
// shut down when the test ends.
func (b *Btcd) Client() *rpcclient.Client {
	c, err := rpcclient.New(&rpcclient.ConnConfig{Host: b.RPC, User: b.User, Pass: b.Pass, HTTPPostMode: true, DisableTLS: true}, nil)
	if err != nil {
		b.t.Fatalf("rpc client: %v", err)
	}
	b.t.Cleanup(c.Shutdown)
	return c
}

// URL is the RPC address as tracer --rpc takes it.
func (b *Btcd) URL() string { return fmt.Sprintf("http://%s", b.RPC) }

var _ = slices.Sort[[]string]
