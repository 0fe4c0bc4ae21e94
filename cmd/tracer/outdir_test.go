package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/chaincfg"

	"github.com/tracer-oss/tracer/tracer/jobs"
)

// TestOutSymlinks: every command that writes under an output folder
// refuses a symbolic link planted there (exit 1 naming it) and writes
// nothing through it.
func TestOutSymlinks(t *testing.T) {
	db, jobFile := study(t)
	plan, err := jobs.ParseFile(context.Background(), jobFile, &chaincfg.RegressionNetParams)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		link string // relative to out
		args func(out string) []string
	}{
		{"jobs run: out/<job>", plan.Jobs[0].Name, func(out string) []string {
			return []string{"--db", db, "jobs", "run", jobFile, "--out", out}
		}},
		{"gen: out/blocks", "blocks", func(out string) []string { return []string{"gen", "--out", out, "--txs", "50"} }},
		{"gen: out/sanctions", "sanctions", func(out string) []string { return []string{"gen", "--out", out, "--txs", "50"} }},
		{"gen: out/truth.json", "truth.json", func(out string) []string { return []string{"gen", "--out", out, "--txs", "50"} }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, victim := filepath.Join(t.TempDir(), "out"), t.TempDir()
			if err := os.MkdirAll(filepath.Dir(filepath.Join(out, tc.link)), 0o755); err != nil {
				t.Fatal(err)
			}
			target := victim
			if strings.Contains(tc.link, ".") {
				target = filepath.Join(victim, "file")
				if err := os.WriteFile(target, []byte("keep"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.Symlink(target, filepath.Join(out, tc.link)); err != nil {
				t.Fatal(err)
			}
			code, _, errs := runCLI(t, tc.args(out)...)
			if code == 0 || !strings.Contains(errs, "symbolic link") {
				t.Errorf("exit %d: %s", code, errs)
			}
			es, _ := os.ReadDir(victim)
			if b, _ := os.ReadFile(filepath.Join(victim, "file")); len(es) > 1 || len(es) == 1 && string(b) != "keep" {
				t.Errorf("wrote through the link: %v", es)
			}
		})
	}
}
