package testfiles

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFindShared(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "ofac"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ofac", "x.csv"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(SharedEnv, dir)
	tests := []struct {
		rel, want, why string
	}{
		{"ofac/x.csv", filepath.Join(dir, "ofac", "x.csv"), ""},
		{"", dir, ""},
		{"ofac/missing.csv", "", "shared reference file ofac/missing.csv not present"},
	}
	for _, tt := range tests {
		got, why := FindShared(tt.rel)
		if got != tt.want || !strings.HasPrefix(why, tt.why) || (tt.why == "") != (why == "") {
			t.Errorf("FindShared(%q) = %q, %q; want %q, %q...", tt.rel, got, why, tt.want, tt.why)
		}
	}
	t.Setenv(SharedEnv, filepath.Join(dir, "absent"))
	if got, why := FindShared(""); got != "" || !strings.Contains(why, "does not exist") {
		t.Errorf("FindShared with a missing %s = %q, %q", SharedEnv, got, why)
	}
}

func TestFixture(t *testing.T) {
	got := Fixture(t, "ofac/sdn.csv")
	if want := filepath.Join("..", "..", "testdata", "ofac", "sdn.csv"); got != want {
		t.Errorf("Fixture = %q, want %q (relative, so parsers echo the same path everywhere)", got, want)
	}
}
