package spec_test

import (
	"fmt"
	"net/url"
	"sort"

	"github.com/tracer-oss/tracer/tracer/spec"
)

// A specification decoded from query parameters, as GET /v1/trace does;
// CLI flags and job files go through the same Set and SetSeed.
func ExampleSpec_Set() {
	q, _ := url.ParseQuery("seed=bcrt1qexample&model=fifo&max_hops=10&stop=exchange,mixing_service&since=2025-01-01")
	s := spec.Default()
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		var err error
		if k == "seed" {
			err = s.SetSeed(k, q[k]...)
		} else {
			err = s.Set(k, q[k]...)
		}
		if err != nil {
			fmt.Println(err)
		}
	}
	fmt.Println(s.Seeds.Addresses, s.Model, s.MaxHops, s.MinValue, s.Stop, s.SinceDate, s.Validate())

	bad := spec.Default()
	fmt.Println(bad.Set("stop", "mixer") != nil)
	// Output:
	// [bcrt1qexample] fifo 10 546 [exchange mixing_service] 2025-01-01 <nil>
	// true
}
