// Package testfiles finds the files that tests in several packages read: the
// hand-made fixtures in the module's top-level testdata/ directory (OFAC list
// and tag pack files), and the shared real reference data (OFAC publications,
// tag packs, mainnet blocks) kept outside the repository in ../shared/data.
//
// It lives in the lowest layer (sanctions/) and imports nothing from the
// module, so every package's tests can use it without an import that runs
// upward. It is a test helper: only _test.go files and the test helper
// packages (store/storetest) import it.
package testfiles

import (
	"os"
	"path/filepath"
	"testing"
)

// SharedEnv names the environment variable that points at the shared real
// data directory, overriding the walk up to a "shared/data" directory.
const SharedEnv = "TRACER_SHARED_DATA"

// FindShared returns the path of rel under the shared reference data
// directory ($TRACER_SHARED_DATA, or the first "shared/data" found walking up
// from the working directory), or "" and the reason when it is absent. rel ""
// names the directory itself.
func FindShared(rel string) (path, why string) {
	dir := os.Getenv(SharedEnv)
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return "", err.Error()
		}
		for d := wd; ; {
			c := filepath.Join(d, "shared", "data")
			if st, err := os.Stat(c); err == nil && st.IsDir() {
				dir = c
				break
			}
			parent := filepath.Dir(d)
			if parent == d {
				return "", "shared reference data not found (set " + SharedEnv + " or place it at ../shared/data)"
			}
			d = parent
		}
	}
	p := filepath.Join(dir, rel)
	if _, err := os.Stat(p); err != nil {
		if rel == "" {
			return "", SharedEnv + "=" + dir + " does not exist"
		}
		return "", "shared reference file " + rel + " not present: " + err.Error()
	}
	return p, ""
}

// Shared returns the path of rel under the shared reference data directory
// (see FindShared), or skips the test with the reason: a real-data test
// without its data is skipped, never passed.
func Shared(t testing.TB, rel string) string {
	t.Helper()
	p, why := FindShared(rel)
	if p == "" {
		t.Skip(why + "; real-data test skipped")
	}
	return p
}

// SharedDir returns the shared reference data directory, or skips the test.
func SharedDir(t testing.TB) string {
	t.Helper()
	return Shared(t, "")
}

// Fixture returns the path of rel under the module's top-level testdata/
// directory, relative to the working directory (../../testdata/ofac/sdn.csv
// from sanctions/ofac), so that what a parser echoes of the path is the same
// on every machine. A missing fixture fails the test: fixtures are part of
// the repository.
func Fixture(t testing.TB, rel string) string {
	t.Helper()
	for d := "."; ; d = filepath.Join(d, "..") {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			p := filepath.Join(d, "testdata", rel)
			if _, err := os.Stat(p); err != nil {
				t.Fatalf("fixture %s: %v", rel, err)
			}
			return p
		}
		abs, err := filepath.Abs(d)
		if err != nil {
			t.Fatal(err)
		}
		if abs == filepath.Dir(abs) {
			t.Fatalf("fixture %s: no go.mod above the working directory", rel)
		}
	}
}
