package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tracer-oss/tracer/store/chaingen"
	"github.com/tracer-oss/tracer/store/storetest"
)

// TestReadReplica: a store with sanctions, tags, clusters and the exposure
// index is backed up with tracer backup, restored into another directory
// with tracer restore, and both are served with serve --read-only: the
// replica answers every screening request (112 addresses and a batch)
// byte for byte as the primary does, and restore prints the digest backup
// printed. Bad input exits 2 and leaves nothing behind.
func TestReadReplica(t *testing.T) {
	gen := filepath.Dir(storetest.GenerateChain(t, chaingen.Config{Txs: 1500, Seed: 7, TxsPerBlock: 60}))
	dir := t.TempDir()
	db := filepath.Join(dir, "primary")
	for _, args := range [][]string{
		{"ingest", "--blocks", filepath.Join(gen, "blocks")},
		{"sanctions", "load", filepath.Join(gen, "sanctions", "sdn_advanced.xml")},
		{"tags", "load", filepath.Join(gen, "tags", "exchanges.yaml")},
		{"cluster"},
		{"screen", "--rebuild-index"},
	} {
		if code, _, errs := runCLI(t, append([]string{"--db", db}, args...)...); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errs)
		}
	}
	file := filepath.Join(dir, "store.backup")
	code, out, errs := runCLI(t, "--db", db, "backup", "--out", file, "--json")
	if code != 0 {
		t.Fatalf("backup: exit %d: %s", code, errs)
	}
	var b, r struct {
		Digest string `json:"digest"`
		Keys   int64  `json:"keys"`
		Height int32  `json:"height"`
	}
	if err := json.Unmarshal([]byte(out), &b); err != nil || b.Digest == "" || b.Keys == 0 {
		t.Fatalf("backup output %q: %v", out, err)
	}
	replica := filepath.Join(dir, "replica")
	code, out, errs = runCLI(t, "--db", replica, "restore", "--in", file, "--json")
	if code != 0 {
		t.Fatalf("restore: exit %d: %s", code, errs)
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil || r != b {
		t.Fatalf("restore printed %+v, backup %+v (%v)", r, b, err)
	}

	tr, err := chaingen.ReadTruth(filepath.Join(gen, "truth.json"))
	if err != nil {
		t.Fatal(err)
	}
	var addrs []string
	for _, s := range tr.Seeds {
		addrs = append(addrs, s.Address)
	}
	for _, d := range tr.Deposits {
		addrs = append(addrs, d.Address)
	}
	for _, c := range tr.Clean {
		addrs = append(addrs, c.Address)
	}
	if len(addrs) < 20 {
		t.Fatalf("only %d addresses to screen", len(addrs))
	}
	batch, _ := json.Marshal(map[string]any{"addresses": addrs})
	primary, replicaURL := serveReadOnly(t, db), serveReadOnly(t, replica)
	get := func(base, method, path string, body []byte) string {
		req, err := http.NewRequest(method, base+path, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := (&http.Client{Timeout: 20 * time.Second}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 {
			t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, data)
		}
		return string(data)
	}
	listed, exposed := 0, 0
	for _, a := range addrs {
		p, q := get(primary, "GET", "/v1/address/"+a, nil), get(replicaURL, "GET", "/v1/address/"+a, nil)
		if p != q {
			t.Fatalf("address %s: primary %s, replica %s", a, p, q)
		}
		if strings.Contains(p, `"risk":"sanctioned"`) {
			listed++
		}
		if strings.Contains(p, `"exposures":[{`) {
			exposed++
		}
	}
	if p, q := get(primary, "POST", "/v1/screen", batch), get(replicaURL, "POST", "/v1/screen", batch); p != q {
		t.Fatalf("batch: primary %s, replica %s", p, q)
	}
	if listed == 0 || exposed == 0 {
		t.Fatalf("%d screened addresses sanctioned, %d exposed: the comparison proves little", listed, exposed)
	}
	t.Logf("%d addresses answered alike: %d sanctioned, %d exposed", len(addrs), listed, exposed)

	// Bad input: exit 2, nothing written.
	trunc := filepath.Join(dir, "truncated.backup")
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(trunc, data[:len(data)-100], 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--db", filepath.Join(dir, "r2"), "restore", "--in", trunc}, "truncated"},
		{[]string{"--db", replica, "restore", "--in", file}, "not empty"},
		{[]string{"--db", filepath.Join(dir, "r3"), "restore"}, "--in FILE"},
		{[]string{"--db", filepath.Join(dir, "missing"), "backup", "--out", filepath.Join(dir, "x.backup")}, "no store"},
		{[]string{"--db", db, "backup"}, "--out FILE"},
	} {
		code, _, errs := runCLI(t, tc.args...)
		if code != 2 || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d, want 2 and %q: %s", tc.args, code, tc.want, errs)
		}
	}
	for _, p := range []string{filepath.Join(dir, "r2"), filepath.Join(dir, "missing"), filepath.Join(dir, "x.backup")} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s exists after a refused command", p)
		}
	}
}

// serveReadOnly runs serve --read-only on db until the test ends and
// returns its base URL.
func serveReadOnly(t *testing.T, db string) string {
	t.Helper()
	listen := "127.0.0.1:" + storetest.FreePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb lockedBuffer
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"tracer", "--db", db, "serve", "--read-only", "--listen", listen}, &out, &errb)
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("serve %s: exit %d: %s", db, code, errb.String())
		}
	})
	base := "http://" + listen
	for start := time.Now(); time.Since(start) < 30*time.Second; time.Sleep(100 * time.Millisecond) {
		if resp, err := http.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			return base
		}
	}
	t.Fatalf("serve %s did not answer: %s", db, errb.String())
	return ""
}
