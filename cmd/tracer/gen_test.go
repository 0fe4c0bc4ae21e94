package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestGenUsageErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string
		want string // in stderr
	}{
		{"missing out", []string{"gen", "--txs", "10"}, "--out"},
		{"negative txs", []string{"gen", "--out", dir, "--txs", "-5"}, "--txs"},
		{"negative forks", []string{"gen", "--out", dir, "--forks", "-1"}, "--forks"},
		{"unknown scenario", []string{"gen", "--out", dir, "--scenario", "heist"}, "--scenario"},
		{"bad file size", []string{"gen", "--out", dir, "--max-file-size", "10"}, "--max-file-size"},
		{"not a number", []string{"gen", "--out", dir, "--txs", "many"}, "txs"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), append([]string{"tracer"}, tc.args...), &stdout, &stderr)
			if code != exitUsage {
				t.Fatalf("exit %d, want %d; stderr: %s", code, exitUsage, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.want) {
				t.Fatalf("stderr %q does not name %q", stderr.String(), tc.want)
			}
		})
	}
}

func TestGenJSON(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "chain")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"tracer", "gen", "--out", dir, "--txs", "300", "--seed", "9",
		"--scenario", "exchange", "--xor", "--shuffle", "--forks", "2", "--json"}, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var sum struct {
		Txs        int64            `json:"txs"`
		ForkBlocks int              `json:"fork_blocks"`
		ScriptMix  map[string]int64 `json:"script_mix"`
		Scenarios  []string         `json:"scenarios"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &sum); err != nil {
		t.Fatalf("summary is not JSON: %v\n%s", err, stdout.String())
	}
	if sum.Txs != 300 || sum.ForkBlocks != 2 || sum.ScriptMix["p2wpkh"] == 0 || len(sum.Scenarios) != 1 {
		t.Fatalf("summary %+v", sum)
	}
	for _, f := range []string{"blocks/blk00000.dat", "blocks/xor.dat", "truth.json", "tags/exchanges.yaml"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "sanctions", "sdn_advanced.xml")); err == nil {
		t.Fatal("exchange-only run wrote a sanctions list")
	}
}
