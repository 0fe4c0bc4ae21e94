package storetest

import (
	"os"
	"path/filepath"
	"testing"
)

// SharedFile returns the path of rel under the shared reference data
// directory (TRACER_SHARED_DATA, or the first "shared/data" found walking up
// from the working directory), or skips the test with the reason.
func SharedFile(t testing.TB, rel string) string {
	t.Helper()
	dir := os.Getenv("TRACER_SHARED_DATA")
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			t.Fatal(err)
		}
		for d := wd; ; {
			c := filepath.Join(d, "shared", "data")
			if st, err := os.Stat(c); err == nil && st.IsDir() {
				dir = c
				break
			}
			parent := filepath.Dir(d)
			if parent == d {
				t.Skip("shared reference data not found (set TRACER_SHARED_DATA or place it at ../shared/data); real-data test skipped")
			}
			d = parent
		}
	}
	p := filepath.Join(dir, rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared reference file %s not present: %v", rel, err)
	}
	return p
}
