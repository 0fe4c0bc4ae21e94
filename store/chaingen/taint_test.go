package chaingen

import (
	"errors"
	"math/rand/v2"
	"testing"
)

func TestPropagateWorkedExample(t *testing.T) {
	ins := []Coin{{Value: 3e8, Tainted: 3e8}, {Value: 7e8}}
	outs := []int64{4e8, 6e8}
	tests := []struct {
		model TaintModel
		want  []int64
		fee   int64
	}{
		{Poison, []int64{4e8, 6e8}, 0},
		{Haircut, []int64{1.2e8, 1.8e8}, 0},
		{FIFO, []int64{3e8, 0}, 0},
		{LIFO, []int64{0, 3e8}, 0},
		{TIHO, []int64{0, 3e8}, 0},
	}
	for _, tc := range tests {
		t.Run(string(tc.model), func(t *testing.T) {
			got, fee, err := Propagate(tc.model, ins, outs)
			if err != nil {
				t.Fatal(err)
			}
			for j := range got {
				if got[j] != tc.want[j] {
					t.Fatalf("output %d: got %d, want %d", j, got[j], tc.want[j])
				}
			}
			if fee != tc.fee {
				t.Fatalf("fee share %d, want %d", fee, tc.fee)
			}
		})
	}
	// The same example in whole units (3 tainted, 7 clean → 4, 6).
	got, _, _ := Propagate(Haircut, []Coin{{3, 3}, {7, 0}}, []int64{4, 6})
	if got[0] != 1 || got[1] != 1 { // floor(1.2), floor(1.8); the 1 left is the fee's share
		t.Fatalf("haircut in units: %v", got)
	}
}

func TestPropagateCases(t *testing.T) {
	tests := []struct {
		name  string
		model TaintModel
		ins   []Coin
		outs  []int64
		want  []int64
		fee   int64
	}{
		{"fifo fee gets tail", FIFO, []Coin{{5, 0}, {5, 5}}, []int64{4, 4}, []int64{0, 3}, 2},
		{"lifo reverses inputs", LIFO, []Coin{{5, 0}, {5, 5}}, []int64{4, 4}, []int64{4, 1}, 0},
		{"fifo partial input taint first", FIFO, []Coin{{10, 4}}, []int64{3, 7}, []int64{3, 1}, 0},
		{"tiho ties lower index", TIHO, []Coin{{10, 5}}, []int64{5, 5}, []int64{5, 0}, 0},
		{"tiho rest to fee", TIHO, []Coin{{10, 10}}, []int64{3, 4}, []int64{3, 4}, 3},
		{"poison clean", Poison, []Coin{{10, 0}}, []int64{3, 4}, []int64{0, 0}, 0},
		{"poison fee", Poison, []Coin{{10, 1}}, []int64{3, 4}, []int64{3, 4}, 3},
		{"haircut big values", Haircut, []Coin{{2_000_000_000_000_000, 1_999_999_999_999_999}}, []int64{1_000_000_000_000_000, 999_999_999_999_999},
			[]int64{999_999_999_999_999, 999_999_999_999_998}, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, fee, err := Propagate(tc.model, tc.ins, tc.outs)
			if err != nil {
				t.Fatal(err)
			}
			for j := range got {
				if got[j] != tc.want[j] {
					t.Fatalf("got %v fee %d, want %v fee %d", got, fee, tc.want, tc.fee)
				}
			}
			if fee != tc.fee {
				t.Fatalf("got %v fee %d, want %v fee %d", got, fee, tc.want, tc.fee)
			}
		})
	}
}

func TestPropagateErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		m    TaintModel
		ins  []Coin
		outs []int64
		want error
	}{
		{"overspend", FIFO, []Coin{{1, 0}}, []int64{2}, ErrBadTaintInput},
		{"taint above value", FIFO, []Coin{{1, 2}}, []int64{1}, ErrBadTaintInput},
		{"negative", FIFO, []Coin{{1, 0}}, []int64{-1}, ErrBadTaintInput},
		{"model", "nope", []Coin{{1, 0}}, []int64{1}, ErrUnknownModel},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := Propagate(tc.m, tc.ins, tc.outs); !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
		})
	}
}

// Conservation holds for every model but poison, and no output gets more
// taint than its value.
func TestPropagateConservation(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := 0; n < 2000; n++ {
		ins := make([]Coin, 1+rng.IntN(5))
		var V int64
		for i := range ins {
			v := rng.Int64N(1e9)
			ins[i] = Coin{Value: v, Tainted: rng.Int64N(v + 1)}
			V += v
		}
		outs := make([]int64, 1+rng.IntN(5))
		left := V - rng.Int64N(V/10+1)
		for j := range outs {
			if j == len(outs)-1 {
				outs[j] = left
			} else {
				outs[j] = rng.Int64N(left + 1)
				left -= outs[j]
			}
		}
		var T int64
		for _, c := range ins {
			T += c.Tainted
		}
		for _, m := range TaintModels {
			got, fee, err := Propagate(m, ins, outs)
			if err != nil {
				t.Fatal(err)
			}
			var s int64
			for j, x := range got {
				if x < 0 || x > outs[j] {
					t.Fatalf("%s: output %d taint %d of %d", m, j, x, outs[j])
				}
				s += x
			}
			if m != Poison && (s+fee != T || fee < 0) {
				t.Fatalf("%s: Σout %d + fee %d != T %d (ins %v outs %v)", m, s, fee, T, ins, outs)
			}
		}
	}
}
