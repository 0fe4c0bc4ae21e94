package taint

import (
	"math/rand"
	"reflect"
	"slices"
	"testing"
)

func TestWorkedExample(t *testing.T) {
	ins := []Coin{{3e8, 3e8}, {7e8, 0}}
	outs := []int64{4e8, 6e8}
	want := map[Model][]int64{
		Poison:  {4e8, 6e8},
		Haircut: {1.2e8, 1.8e8},
		FIFO:    {3e8, 0},
		LIFO:    {0, 3e8},
		TIHO:    {0, 3e8},
	}
	for _, m := range Models {
		t.Run(m.String(), func(t *testing.T) {
			got, fee, err := Propagate(m, ins, outs, false, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want[m]) || fee != 0 {
				t.Fatalf("got %v fee %d, want %v", got, fee, want[m])
			}
		})
	}
}

func TestFees(t *testing.T) {
	// inputs [5 tainted, 5 clean] → outputs [6, 2], fee 2.
	ins := []Coin{{5, 5}, {5, 0}}
	outs := []int64{6, 2}
	tests := []struct {
		m           Model
		feesTainted bool
		want        []int64
		fee         int64
	}{
		{Haircut, false, []int64{3, 1}, 1},
		{Haircut, true, []int64{2, 0}, 3}, // T'=3 over W=8: floor(18/8)=2, floor(6/8)=0, remainder 1 to fee
		{FIFO, false, []int64{5, 0}, 0},
		{FIFO, true, []int64{3, 0}, 2},
		{LIFO, false, []int64{1, 2}, 2},
		{LIFO, true, []int64{1, 2}, 2}, // fee from input 0's taint: [3t, 5c] reversed: clean [0,5), tainted [5,8)
		{TIHO, false, []int64{5, 0}, 0},
		{TIHO, true, []int64{3, 0}, 2},
		{Poison, true, []int64{6, 2}, 2},
	}
	for _, tc := range tests {
		got, fee, err := Propagate(tc.m, ins, outs, tc.feesTainted, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, tc.want) || fee != tc.fee {
			t.Errorf("%v feesTainted=%v: got %v fee %d, want %v fee %d", tc.m, tc.feesTainted, got, fee, tc.want, tc.fee)
		}
	}
}

// TestConservation is the property every model but poison must hold on
// random transactions: Σ output taint + fee share = Σ input taint, and no
// output carries more taint than its value.
func TestConservation(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for n := 0; n < 20000; n++ {
		ins := make([]Coin, 1+r.Intn(6))
		var V int64
		for i := range ins {
			v := r.Int63n(1e10)
			ins[i] = Coin{Value: v, Tainted: r.Int63n(v + 1)}
			if r.Intn(3) == 0 {
				ins[i].Tainted = 0
			}
			V += v
		}
		W := V - r.Int63n(V/10+1)
		outs := make([]int64, 1+r.Intn(6))
		left := W
		for j := range outs {
			if j == len(outs)-1 {
				outs[j] = left
			} else {
				outs[j] = r.Int63n(left + 1)
				left -= outs[j]
			}
		}
		var T int64
		for _, c := range ins {
			T += c.Tainted
		}
		for _, m := range Models[1:] {
			for _, ft := range []bool{false, true} {
				got, fee, err := Propagate(m, ins, outs, ft, nil)
				if err != nil {
					t.Fatal(err)
				}
				sum := fee
				for j, g := range got {
					if g < 0 || g > outs[j] {
						t.Fatalf("%v: output %d taint %d of value %d", m, j, g, outs[j])
					}
					sum += g
				}
				if sum != T || fee < 0 || fee > V-W+int64(len(outs)) {
					t.Fatalf("%v feesTainted=%v: ins %v outs %v: outputs+fee = %d, T = %d (fee %d)", m, ft, ins, outs, sum, T, fee)
				}
			}
		}
	}
}

func TestParse(t *testing.T) {
	for _, s := range []string{"poison", "HAIRCUT", "proportional", "fifo", "lifo", "tiho"} {
		if _, err := Parse(s); err != nil {
			t.Errorf("Parse(%q): %v", s, err)
		}
	}
	if _, err := Parse("magic"); err == nil {
		t.Error("Parse(magic) succeeded")
	}
	if _, _, err := Propagate(FIFO, []Coin{{1, 2}}, []int64{1}, false, nil); err == nil {
		t.Error("tainted > value accepted")
	}
	if _, _, err := Propagate(FIFO, []Coin{{1, 1}}, []int64{2}, false, nil); err == nil {
		t.Error("outputs > inputs accepted")
	}
}

// TestHaircutSpread: HaircutSpread gives what Propagate gives for the
// same inputs, satoshi for satoshi: one tainted coin of some value and the
// rest clean, outputs of every size up to the inputs (fee zero or not),
// taint of none, some or all of the coin, amounts near the int64 limit.
func TestHaircutSpread(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	for i := range 20000 {
		scale := int64(1) << rng.Intn(62)
		n := 1 + rng.Intn(5)
		outs := make([]int64, n)
		var W int64
		for j := range outs {
			outs[j] = rng.Int63n(scale/int64(n) + 1)
			W += outs[j]
		}
		fee := int64(0)
		if rng.Intn(2) == 0 {
			fee = rng.Int63n(scale/8 + 1)
		}
		coinV := rng.Int63n(W + fee + 1)
		if rng.Intn(4) == 0 {
			coinV = W + fee // every input tainted
		}
		T := []int64{0, coinV, rng.Int63n(coinV + 1)}[rng.Intn(3)]
		ins := []Coin{{Value: coinV, Tainted: T}}
		if rest := W + fee - coinV; rest > 0 {
			ins = append(ins, Coin{Value: rest})
		}
		want, _, err := Propagate(Haircut, ins, outs, false, nil)
		if err != nil {
			t.Fatal(err)
		}
		V := max(W+fee, coinV)
		reused := make([]int64, n+i%2) // a reused slice of the wrong length too
		for j := range reused {
			reused[j] = -1 // the last transaction's taint: none of it may stay
		}
		got := HaircutSpread(reused, outs, T, V)
		if !slices.Equal(got, want) {
			t.Fatalf("case %d: outs %v, coin %d tainted %d, fee %d: %v, Propagate gives %v", i, outs, coinV, T, fee, got, want)
		}
	}
}
