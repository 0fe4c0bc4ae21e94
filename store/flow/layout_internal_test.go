package flow

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/tracer-oss/tracer/store"
)

// TestFeeField: tx.dat holds a fee in 4 bytes; fees beyond ±(2³¹−1) and
// unknown fees read back as unknown.
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
		{"negative (a coinbase claiming less than the subsidy)", -2_000_000_000, true, -2_000_000_000, true},
		{"largest", maxFee, true, maxFee, true},
		{"smallest", -maxFee, true, -maxFee, true},
		{"beyond the largest", maxFee + 1, true, 0, false},
		{"beyond the smallest", -maxFee - 1, true, 0, false},
		{"the whole supply", 21e14, true, 0, false},
		{"int64 extremes", math.MinInt64, true, 0, false},
		{"unknown", 777, false, 0, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := appendLE(nil, feeField(c.fee, c.known), 4)
			if len(b) != 4 {
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

// TestFieldWidths: le40 reads back what appendLE wrote, and only the bytes
// of its width.
func TestFieldWidths(t *testing.T) {
	for _, v := range []uint64{0, 1, 0xff, 1<<40 - 1, 0x0123456789} {
		b := appendLE(nil, v, 5)
		b = append(b, 0xee, 0xee, 0xee)
		if got := le40(b); got != v {
			t.Errorf("le40(%x) = %x, want %x", b, got, v)
		}
	}
}

// TestOutRecord: an out.dat record gives back its value, key and spender
// at the extremes of each field, and a patch of the spender bits keeps the
// value and key; an input index of 15 or more is found among the
// spender's inputs.
func TestOutRecord(t *testing.T) {
	for _, c := range []struct {
		name  string
		value int64
		key   uint64
		by    store.InPoint
	}{
		{"zero", 0, 0, store.InPoint{Tx: 1}},
		{"largest value and key", maxValue - 1, 1<<32 - 1, store.InPoint{Tx: 1, Vin: 14}},
		{"the whole supply", 21e14, 0x89abcdef, store.InPoint{Tx: 2, Vin: 3}},
		{"input index found by search", 1<<19 - 1, 1, store.InPoint{Tx: 2, Vin: 17}},
	} {
		t.Run(c.name, func(t *testing.T) {
			// Three transactions: the output is tx 0's only one; txs 1
			// and 2 have 20 inputs each, all spending output 0.
			x := Index{hdr: header{Txs: 3, Outs: 1, Ins: 40}}
			for n := uint64(0); n < 3; n++ {
				x.tx = appendLE(x.tx, min(n, 1), 5)
				x.tx = appendLE(x.tx, 20*max(n, 1)-20, 5)
				x.tx = appendLE(x.tx, 0, 4)
			}
			for j := 0; j < 40; j++ {
				x.in = appendLE(x.in, 1<<39, 5) // another output
			}
			first := (uint64(c.by.Tx) - 1) * 20
			binary.LittleEndian.PutUint32(x.in[(first+uint64(c.by.Vin))*inSize:], 0) // spends output 0
			x.in[(first+uint64(c.by.Vin))*inSize+4] = 0
			x.out = outRecord(nil, c.value, c.key)
			if o := x.Out(0); o.Value != c.value || o.Key != c.key || o.Spent {
				t.Fatalf("unspent: %+v", o)
			}
			patch := binary.LittleEndian.Uint64(x.out)&^spMask | spField(c.by)
			binary.LittleEndian.PutUint64(x.out, patch)
			if o := x.Out(0); o.Value != c.value || o.Key != c.key || !o.Spent || o.By != c.by {
				t.Fatalf("spent by %+v: %+v", c.by, o)
			}
			if p := x.OutPoint(0); p != (store.OutPoint{Tx: 0, Vout: 0}) {
				t.Fatalf("OutPoint(0) = %+v", p)
			}
		})
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

// TestFeeBeyondField: a fee beyond the field's 32 bits is added up from the
// values in the index, unless an input is a coinbase or from before the
// store's range.
func TestFeeBeyondField(t *testing.T) {
	// tx 0: a coinbase paying 30 BTC; tx 1 spends it, paying 1 BTC (a 29
	// BTC fee); tx 2 spends from before the store's range.
	x := Index{hdr: header{Txs: 3, Outs: 3, Ins: 3}}
	for n, r := range []struct{ out, in uint64 }{{0, 0}, {1, 1}, {2, 2}} {
		x.tx = appendLE(x.tx, r.out, 5)
		x.tx = appendLE(x.tx, r.in, 5)
		x.tx = appendLE(x.tx, feeField(0, n == 0), 4) // the coinbase's fee 0; the others beyond the field
	}
	x.in = appendLE(x.in, inCoinbase, 5)
	x.in = appendLE(x.in, 0, 5)
	x.in = appendLE(x.in, inExternal, 5)
	x.out = outRecord(x.out, 30e8, 1)
	x.out = outRecord(x.out, 1e8, 2)
	x.out = outRecord(x.out, 5e8, 3)
	for n, want := range []struct {
		fee   int64
		known bool
	}{{0, true}, {29e8, true}, {0, false}} {
		if fee, known := x.Fee(store.TxNum(n)); fee != want.fee || known != want.known {
			t.Errorf("tx %d: Fee = %d, %v; want %d, %v", n, fee, known, want.fee, want.known)
		}
	}
	// The coinbase's fee beyond the field too: unknown.
	binary.LittleEndian.PutUint32(x.tx[txFee:], uint32(feeField(0, false)))
	if fee, known := x.Fee(0); known {
		t.Errorf("coinbase beyond the field: Fee = %d, known", fee)
	}
}
