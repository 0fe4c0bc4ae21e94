package ofac

import (
	"bytes"
	"compress/bzip2"
	"context"
	"io"
	"os"
	"testing"

	"github.com/tracer-oss/tracer/sanctions/testfiles"
)

// BenchmarkParseAdvancedReal parses the real 121 MB sdn_advanced.xml
// (decompressed into memory first, so the figure is the parser's).
func BenchmarkParseAdvancedReal(b *testing.B) {
	f, err := os.Open(testfiles.Shared(b, "ofac/sdn_advanced_2025-11-19.xml.bz2"))
	if err != nil {
		b.Fatal(err)
	}
	data, err := io.ReadAll(bzip2.NewReader(f))
	f.Close()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	var entries int
	for b.Loop() {
		l, err := ParseAdvanced(context.Background(), bytes.NewReader(data), "sdn_advanced.xml")
		if err != nil {
			b.Fatal(err)
		}
		entries = len(l.Entries)
	}
	b.ReportMetric(float64(entries), "entries")
	b.ReportMetric(float64(len(data))/1e6, "MB/file")
}
