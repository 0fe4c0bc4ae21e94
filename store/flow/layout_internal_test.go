package flow

import (
	"math"
	"testing"
)

// TestFeeField: tx.dat holds a fee in 7 bytes; fees beyond ±2⁵⁵ (no valid
// chain has one) and unknown fees read back as unknown.
func TestFeeField(t *testing.T) {
	for _, c := range []struct {
		name      string
		fee       int64
		known     bool
		want      int64
		wantKnown bool
	}{
		{"zero", 0, true, 0, true},
		{"typical", 12_345, true, 12_345, true},
		{"negative (a coinbase claiming less than the subsidy)", -5_000_000_000, true, -5_000_000_000, true},
		{"the whole supply", 21e14, true, 21e14, true},
		{"largest", maxFee, true, maxFee, true},
		{"smallest", -maxFee, true, -maxFee, true},
		{"beyond the largest", maxFee + 1, true, 0, false},
		{"beyond the smallest", -maxFee - 1, true, 0, false},
		{"int64 extremes", math.MinInt64, true, 0, false},
		{"unknown", 777, false, 0, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := appendLE(nil, feeField(c.fee, c.known), 7)
			if len(b) != 7 {
				t.Fatalf("%d bytes", len(b))
			}
			x := Index{tx: append(make([]byte, txFee), b...)}
			got, known := x.Fee(0)
			if got != c.want || known != c.wantKnown {
				t.Fatalf("Fee = %d, %v; want %d, %v", got, known, c.want, c.wantKnown)
			}
		})
	}
}

// TestFieldWidths: le40 and le56 read back what appendLE wrote, and only
// the bytes of their width.
func TestFieldWidths(t *testing.T) {
	for _, v := range []uint64{0, 1, 0xff, 1<<40 - 1, 0x0123456789} {
		b := appendLE(nil, v, 5)
		b = append(b, 0xee, 0xee, 0xee)
		if got := le40(b); got != v {
			t.Errorf("le40(%x) = %x, want %x", b, got, v)
		}
	}
	for _, v := range []uint64{0, 21e14, 1<<56 - 1} {
		b := appendLE(nil, v, 7)
		b = append(b, 0xee)
		if got := le56(b); got != v {
			t.Errorf("le56(%x) = %x, want %x", b, got, v)
		}
	}
}

// TestKeyOf: the short key is 32 bits and tells apart addresses whose full
// keys differ in any byte.
func TestKeyOf(t *testing.T) {
	base := uint64(0x01_23456789abcdef)
	seen := map[uint64]bool{KeyOf(base): true}
	for i := 0; i < 64; i++ {
		k := KeyOf(base ^ 1<<i)
		if k >= 1<<32 {
			t.Fatalf("KeyOf = %x: more than 32 bits", k)
		}
		if seen[k] {
			t.Errorf("flipping bit %d of the key keeps the short key %x", i, k)
		}
		seen[k] = true
	}
}
