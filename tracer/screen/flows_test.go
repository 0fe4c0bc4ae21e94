package screen_test

import (
	"context"
	"testing"

	"github.com/tracer-oss/tracer/tracer/screen"
)

// TestFlowsScreen screens every address of the scenario's economy flows
// (each receives one flow output and nothing else): its sanctioned
// exposure must be the truth's haircut taint, to the satoshi, so an
// address the truth calls clean scores zero (no false positive) and a
// tainted one is exposed (no false negative). Under poison (a fresh walk)
// the same holds for the truth's poison taint.
func TestFlowsScreen(t *testing.T) {
	t.Run("poison", func(t *testing.T) {
		f := loadFixture(t)
		s := newScreener(t, f, screen.Options{Poison: true})
		var fp, fn int
		for _, fl := range f.truth.Flows {
			r, err := s.Fresh(context.Background(), fl.Address)
			if err != nil {
				t.Fatal(err)
			}
			got, want := r.Sanctioned().Amount, fl.Taint.Poison
			if want == 0 && got > 0 {
				fp++
				t.Errorf("%s %s: clean under poison in the truth, exposure %d sat", fl.Kind, fl.Address, got)
			}
			if want > 0 && got == 0 {
				fn++
				t.Errorf("%s %s: tainted %d sat under poison in the truth, not exposed", fl.Kind, fl.Address, want)
			}
		}
		t.Logf("poison: %d flow addresses: %d false positives, %d false negatives", len(f.truth.Flows), fp, fn)
	})
	f := loadFixture(t)
	s := newScreener(t, f, screen.Options{})
	ctx := context.Background()
	var fp, fn, clean, tainted int
	for _, fl := range f.truth.Flows {
		r, err := s.Lookup(ctx, fl.Address)
		if err != nil {
			t.Fatal(err)
		}
		got, want := r.Sanctioned().Amount, fl.Taint.Haircut
		switch {
		case want == 0 && got > 0:
			fp++
		case want > 0 && got == 0:
			fn++
		}
		if got != want {
			t.Errorf("%s %s: exposure %d sat, truth %d (risk %s)", fl.Kind, fl.Address, got, want, r.Risk)
		}
		if want == 0 {
			clean++
			if r.Risk != screen.RiskNone {
				t.Errorf("%s %s: clean in the truth, risk %s", fl.Kind, fl.Address, r.Risk)
			}
		} else {
			tainted++
		}
	}
	t.Logf("%d flow addresses (%d clean, %d tainted under haircut): %d false positives, %d false negatives", len(f.truth.Flows), clean, tainted, fp, fn)
	if clean == 0 || tainted == 0 {
		t.Fatalf("flows need clean and tainted addresses: %d and %d", clean, tainted)
	}
}
