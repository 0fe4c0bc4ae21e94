package screen_test

import (
	"context"
	"testing"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/tracer/screen"
)

// TestReceivedIsTheAddressTotal is issue 17 #5: a screen from the index of
// an address the index holds no record of (it is clear) said "received 0",
// and direct hits always did; received must be the address's real total in
// every method, the same as a fresh walk's.
func TestReceivedIsTheAddressTotal(t *testing.T) {
	f := loadFixture(t)
	s := newScreener(t, f, screen.Options{})
	if !s.IndexUsable() {
		t.Fatal("the fixture's index is not usable")
	}
	total := func(a string) int64 {
		ad, err := parse(a)
		if err != nil {
			t.Fatal(err)
		}
		var sum int64
		if err := f.st.AddressOutputs(ad, store.OutPoint{}, func(o store.AddrOutput) bool { sum += o.Value; return true }); err != nil {
			t.Fatal(err)
		}
		return sum
	}
	var addrs []string
	for a := range truthAddresses(f.truth) {
		addrs = append(addrs, a)
	}
	for _, c := range f.truth.Clean[:min(10, len(f.truth.Clean))] {
		addrs = append(addrs, c.Address)
	}
	for _, sd := range f.truth.Seeds {
		if len(sd.Funding) > 0 {
			addrs = append(addrs, sd.Address)
		}
	}
	ctx := context.Background()
	methods := map[string]bool{}
	for _, a := range addrs {
		want := total(a)
		if want == 0 {
			continue
		}
		for name, do := range map[string]func(context.Context, string) (*screen.Result, error){"index": s.Lookup, "fresh": s.Fresh} {
			r, err := do(ctx, a)
			if err != nil {
				t.Fatal(err)
			}
			methods[r.Method] = true
			if r.Received != want {
				t.Errorf("%s %s (%s, %s): received %d, want %d", name, a, r.Method, r.Risk, r.Received, want)
			}
		}
	}
	for _, m := range []string{screen.MethodIndex, screen.MethodFresh, screen.MethodDirect} {
		if !methods[m] {
			t.Errorf("no address screened by method %s", m)
		}
	}
}
