package store_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tracer-oss/tracer/sanctions"
	"github.com/tracer-oss/tracer/sanctions/ofac"
	"github.com/tracer-oss/tracer/sanctions/testfiles"
	"github.com/tracer-oss/tracer/store/storetest"
)

var benchList struct {
	once sync.Once
	list *sanctions.List
	err  error
}

// BenchmarkSanctionsCheck looks up addresses in the current sanctions list
// of a store holding the real OFAC list of 2025-11-19 (the small fixture
// when the shared data is absent): half listed XBT addresses, half not.
func BenchmarkSanctionsCheck(b *testing.B) {
	benchList.once.Do(func() {
		path, why := testfiles.FindShared("ofac/sdn_advanced_2025-11-19.xml.bz2")
		if path == "" {
			b.Logf("%s; using the fixture", why)
			path = testfiles.Fixture(b, "ofac/sdn_advanced.xml")
		}
		benchList.list, benchList.err = ofac.ParseFiles(context.Background(), path)
	})
	if benchList.err != nil {
		b.Fatal(benchList.err)
	}
	l := benchList.list
	st := storetest.Open(b)
	if _, err := st.Lists().Save(context.Background(), l); err != nil {
		b.Fatal(err)
	}
	listed := l.Addresses(sanctions.AssetXBT)
	queries := slices.Clone(listed)
	for _, a := range listed {
		queries = append(queries, a[:len(a)-1]+"x") // not listed, shares the prefix
	}
	lat := make([]time.Duration, 0, b.N)
	hits := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		es, err := st.Lists().Hits("", queries[i%len(queries)])
		lat = append(lat, time.Since(t0))
		if err != nil {
			b.Fatal(err)
		}
		if len(es) > 0 {
			hits++
		}
	}
	b.StopTimer()
	if want := (b.N + 1) / 2; len(listed) > 0 && b.N >= len(queries) && (hits < want-len(listed) || hits > want+len(listed)) {
		b.Fatalf("%d hits in %d lookups, want about half", hits, b.N)
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "p99-µs")
	b.ReportMetric(float64(len(l.Entries)), "entries")
}
