package storetest

import (
	"os"
	"path/filepath"
	"testing"
)

// FindShared returns the path of rel under the shared reference data
// directory (TRACER_SHARED_DATA, or the first "shared/data" found walking up
// from the working directory), and false with the reason when it is absent.
func FindShared(rel string) (string, string) {
	dir := os.Getenv("TRACER_SHARED_DATA")
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
				return "", "shared reference data not found (set TRACER_SHARED_DATA or place it at ../shared/data)"
			}
			d = parent
		}
	}
	p := filepath.Join(dir, rel)
	if _, err := os.Stat(p); err != nil {
		return "", "shared reference file " + rel + " not present: " + err.Error()
	}
	return p, ""
}

// SharedFile returns the path of rel under the shared reference data
// directory (see FindShared), or skips the test with the reason.
func SharedFile(t testing.TB, rel string) string {
	t.Helper()
	p, why := FindShared(rel)
	if p == "" {
		t.Skip(why + "; real-data test skipped")
	}
	return p
}
