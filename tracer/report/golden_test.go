package report

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tracer-oss/tracer/tracer"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// fixedClock makes the HTML's "generated at" line reproducible.
var testRenderer = Renderer{Now: func() time.Time { return time.Date(2025, 11, 20, 10, 0, 0, 0, time.UTC) }}

var goldenExt = map[string]string{"text": "txt", "json": "json", "csv": "csv", "dot": "dot", "svg": "svg", "html": "html"}

func render(t testing.TB, format string, r *tracer.Result) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := testRenderer.Write(&b, format, r); err != nil {
		t.Fatalf("Write(%s): %v", format, err)
	}
	return b.Bytes()
}

func TestGolden(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    *tracer.Result
	}{
		{"full", fixture(false)},
		{"partial", fixture(true)},
	} {
		for _, format := range Formats() {
			t.Run(tc.name+"/"+format, func(t *testing.T) {
				got := render(t, format, tc.r)
				if again := render(t, format, tc.r); !bytes.Equal(got, again) {
					t.Fatalf("two renderings differ")
				}
				path := filepath.Join("testdata", "golden", tc.name+"."+goldenExt[format])
				if *update {
					if err := os.WriteFile(path, got, 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run go test -update to create it)", err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%s differs from %s; rerun with -update if the change is intended\n--- got:\n%s", format, path, got)
				}
			})
		}
	}
}
