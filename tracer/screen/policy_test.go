package screen_test

import (
	"context"
	"strings"
	"testing"

	"github.com/tracer-oss/tracer/tracer/screen"
	"github.com/tracer-oss/tracer/tracer/screen/policy"
)

// TestPolicyLevels rates the generated case's seeds and deposit addresses
// under the default policy and under a custom one, by index lookup and by
// fresh walk alike: each result names the level, the rule and the policy.
func TestPolicyLevels(t *testing.T) {
	f := loadFixture(t)
	s := newScreener(t, f, screen.Options{})
	ctx := context.Background()
	custom, err := policy.Parse(strings.NewReader(`name: strict
rules:
  - {name: big, level: severe, category: sanctioned, exposure: indirect, min_share: 50%}
  - {name: small, level: low, category: sanctioned, exposure: indirect}
`), "strict.yaml")
	if err != nil {
		t.Fatal(err)
	}
	check := func(addr, wantPolicy string, want func(r *screen.Result) (string, string)) {
		t.Helper()
		for _, do := range []func(context.Context, string) (*screen.Result, error){s.Lookup, s.Fresh} {
			r, err := do(ctx, addr)
			if err != nil {
				t.Fatal(err)
			}
			level, rule := want(r)
			if r.Level != level || r.Rule != rule || r.Policy != wantPolicy {
				t.Errorf("%s (%s): level %q rule %q policy %q, want %q %q %q (exposure %+v)", addr, r.Method, r.Level, r.Rule, r.Policy, level, rule, wantPolicy, r.Sanctioned())
			}
		}
	}
	for _, sd := range f.truth.Seeds {
		check(sd.Address, "default", func(*screen.Result) (string, string) { return "severe", "listed" })
	}
	counts := map[string]int{}
	for _, d := range f.truth.Deposits {
		if d.Taint.Haircut == 0 {
			continue
		}
		check(d.Address, "default", func(r *screen.Result) (string, string) {
			if r.Sanctioned().Share >= 0.01 {
				counts["high"]++
				return "high", "sanctioned-funds-1pct"
			}
			counts["medium"]++
			return "medium", "sanctioned-funds"
		})
	}
	s.SetPolicy(custom)
	for _, d := range f.truth.Deposits {
		if d.Taint.Haircut == 0 {
			continue
		}
		check(d.Address, "strict", func(r *screen.Result) (string, string) {
			if r.Sanctioned().Share >= 0.5 {
				counts["severe"]++
				return "severe", "big"
			}
			counts["low"]++
			return "low", "small"
		})
	}
	// A listed address matches no rule of the custom policy.
	check(f.truth.Seeds[0].Address, "strict", func(*screen.Result) (string, string) { return "none", "" })
	if counts["high"] == 0 || counts["severe"] == 0 || counts["low"] == 0 {
		t.Fatalf("the case exercised too few rules: %v", counts)
	}
	t.Logf("deposit ratings (each counted twice: index and fresh): %v", counts)
}
