package chaingen

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzPropagate: no panics, taint within each output, conservation for
// every model but poison.
func FuzzPropagate(f *testing.F) {
	f.Add(int64(3), int64(3), int64(7), int64(0), int64(4), int64(6))
	f.Add(int64(10), int64(4), int64(5), int64(5), int64(3), int64(7))
	f.Fuzz(func(t *testing.T, v1, t1, v2, t2, w1, w2 int64) {
		ins := []Coin{{v1, t1}, {v2, t2}}
		outs := []int64{w1, w2}
		for _, m := range TaintModels {
			got, fee, err := Propagate(m, ins, outs)
			if err != nil {
				return // inconsistent input is rejected, not mis-computed
			}
			var s int64
			for j, x := range got {
				if x < 0 || x > outs[j] {
					t.Fatalf("%s: output %d taint %d of %d", m, j, x, outs[j])
				}
				s += x
			}
			if m != Poison && s+fee != t1+t2 {
				t.Fatalf("%s: not conserved", m)
			}
		}
	})
}

// FuzzReadTruth: arbitrary bytes give a truth or an error, never a panic.
func FuzzReadTruth(f *testing.F) {
	f.Add([]byte(`{"version":1,"deposits":[{"txid":"00","taint":{"fifo":1}}]}`))
	f.Add([]byte(`{"version":2}`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(t.TempDir(), "truth.json")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if tr, err := ReadTruth(p); err == nil && tr.Version != TruthVersion {
			t.Fatalf("accepted version %d", tr.Version)
		}
	})
}
