package main

import (
	"archive/zip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCaseCLI runs tracer case on the demo's store: every subcommand, its
// --json, and bad input (exit 2), a tampered bundle (exit 1).
func TestCaseCLI(t *testing.T) {
	dir := t.TempDir()
	if code, _, errs := runCLI(t, "demo", "--out", dir, "--txs", "3000"); code != 0 {
		t.Fatalf("demo: exit %d: %s", code, errs)
	}
	db := filepath.Join(dir, "store")
	bundle := filepath.Join(dir, "case.zip")

	// A copy of the bundle with one file changed.
	tampered := filepath.Join(dir, "tampered.zip")
	rewriteZip(t, bundle, tampered, "hits.csv", func(b []byte) []byte { return append(b, "extra,row\n"...) })
	notZip := filepath.Join(dir, "not.zip")
	if err := os.WriteFile(notZip, []byte("not a zip"), 0o644); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"list", []string{"case", "list"}, 0, "demo: program CYBER2"},
		{"show", []string{"case", "show", "1"}, 0, "reproduce:  tracer --db STORE trace --direction forward --model haircut"},
		{"show json after args", []string{"case", "show", "1", "--json"}, 0, `"action": "create"`},
		{"verify", []string{"case", "verify", bundle}, 0, "trace: matches"},
		{"verify tampered", []string{"case", "verify", tampered}, 1, "changed since export (hash differs): hits.csv"},
		{"show unknown", []string{"case", "show", "9"}, 2, "not found"},
		{"show bad id", []string{"case", "show", "x"}, 2, "bad case ID"},
		{"show no id", []string{"case", "show"}, 2, "want one case ID"},
		{"export unknown", []string{"case", "export", "9", "--out", filepath.Join(dir, "x.zip")}, 2, "not found"},
		{"verify missing file", []string{"case", "verify", filepath.Join(dir, "nope.zip")}, 2, "open bundle"},
		{"verify not a zip", []string{"case", "verify", notZip}, 2, "open bundle"},
		{"new without seeds", []string{"case", "new"}, 2, "seed addresses"},
		{"new bad seed", []string{"case", "new", "nonsense"}, 2, "nonsense"},
		{"new bad direction", []string{"case", "new", "--direction", "up", "mzHsecWSzCAzdNZKzuvNpiL5P76MXPQ3se"}, 2, "direction"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runCLI(t, append([]string{"--db", db}, tc.args...)...)
			if code != tc.code || !strings.Contains(out+errs, tc.want) {
				t.Errorf("exit %d (want %d), output lacks %q:\n%s%s", code, tc.code, tc.want, out, errs)
			}
		})
	}
	code, out, errs := runCLI(t, "--db", db, "case", "list", "--json")
	var list struct {
		Cases []struct {
			ID   uint64 `json:"id"`
			Hits int    `json:"hits"`
		} `json:"cases"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &list) != nil || len(list.Cases) != 1 || list.Cases[0].Hits == 0 {
		t.Errorf("case list --json: exit %d: %s%s", code, out, errs)
	}
}

func rewriteZip(t *testing.T, from, to, name string, fn func([]byte) []byte) {
	t.Helper()
	zr, err := zip.OpenReader(from)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	f, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zw := zip.NewWriter(f)
	for _, zf := range zr.File {
		rc, err := zf.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		if zf.Name == name {
			b = fn(b)
		}
		w, _ := zw.Create(zf.Name)
		if _, err := w.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
}
