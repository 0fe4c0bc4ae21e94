package screen

import (
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/tracer-oss/tracer/store"
)

func sampleTxShares() txShares {
	return txShares{
		preds: []predEntry{{slot: 0, pred: 0}, {slot: 3, pred: 1234}},
		outs: []outShares{
			{vout: 0, value: 5000, shares: []taintShare{{slot: 0, hops: 2, tainted: 4000}, {slot: 3, hops: 7, tainted: 1}}},
			{vout: 9, value: 1 << 40, shares: []taintShare{{slot: 3, hops: 50, tainted: 1 << 39}}},
		},
	}
}

func sampleAcc() []accEntry {
	return []accEntry{{slot: 1, hops: 3, amount: 900, best: 500, bestOut: store.OutPoint{Tx: 77, Vout: 2}},
		{slot: 4, hops: 1, amount: 1, best: 1, bestOut: store.OutPoint{Tx: 1 << 33, Vout: 0}}}
}

func sampleUndo() undoRecord {
	return undoRecord{hash: [32]byte{1, 2}, prev: [32]byte{3}, first: 10, end: 25,
		addrs: []string{"bcrt1qexample", "2Mexample"}, old: [][]byte{nil, encodeAcc(sampleAcc(), nil)},
		spent: []spentOut{{tx: 3, out: outShares{vout: 1, value: 70, shares: []taintShare{{slot: 2, hops: 4, tainted: 60}}}},
			{tx: 9, out: outShares{vout: 0, value: 1 << 40, shares: []taintShare{{slot: 0, hops: 0, tainted: 1 << 40}, {slot: 7, hops: 50, tainted: 1}}}}}}
}

func TestSharesRoundTrip(t *testing.T) {
	r := sampleTxShares()
	got, err := decodeTxShares(r.encode(nil), 5)
	if err != nil || !reflect.DeepEqual(got, r) {
		t.Fatalf("tx shares: got %+v %v, want %+v", got, err, r)
	}
	acc := sampleAcc()
	gacc, err := decodeAcc(encodeAcc(acc, nil), 5)
	if err != nil || !reflect.DeepEqual(gacc, acc) {
		t.Fatalf("accumulator: got %+v %v, want %+v", gacc, err, acc)
	}
	u := sampleUndo()
	gu, err := decodeUndo(u.encode())
	if err != nil || !reflect.DeepEqual(gu, u) {
		t.Fatalf("undo: got %+v %v, want %+v", gu, err, u)
	}
	// A version 1 record (no spent outputs) still decodes.
	u.spent = nil
	v1 := u.encode()
	gu, err = decodeUndo(append([]byte{1}, v1[1:len(v1)-1]...))
	if err != nil || !reflect.DeepEqual(gu, u) {
		t.Fatalf("undo version 1: got %+v %v, want %+v", gu, err, u)
	}
}

// TestSharesDamaged: every kind of damage is store.ErrCorrupt.
func TestSharesDamaged(t *testing.T) {
	sr, su := sampleTxShares(), sampleUndo()
	good := sr.encode(nil)
	acc := encodeAcc(sampleAcc(), nil)
	undo := su.encode()
	for _, tc := range []struct {
		name   string
		decode func() error
	}{
		{"tx shares slot in two predecessor groups", func() error {
			// two groups (pred 1: slot 2; pred 3: slot 2), no outputs
			_, err := decodeTxShares([]byte{2, 1, 1, 2, 3, 1, 2, 0}, 5)
			return err
		}},
		{"tx shares predecessor slots not increasing", func() error {
			_, err := decodeTxShares([]byte{1, 1, 2, 2, 0, 0}, 5)
			return err
		}},
		{"tx shares truncated", func() error { _, err := decodeTxShares(good[:len(good)-1], 5); return err }},
		{"tx shares trailing byte", func() error { _, err := decodeTxShares(append(good[:len(good):len(good)], 0), 5); return err }},
		{"tx shares slot out of range", func() error { _, err := decodeTxShares(good, 3); return err }},
		{"tx shares huge count", func() error { _, err := decodeTxShares([]byte{0xff, 0xff, 0xff, 0x7f}, 5); return err }},
		{"tx shares overlong number", func() error { _, err := decodeTxShares(bytes11(), 5); return err }},
		{"tx shares tainted over value", func() error {
			r := sampleTxShares()
			r.outs[0].shares[0].tainted = 6000
			_, err := decodeTxShares(r.encode(nil), 5)
			return err
		}},
		{"empty", func() error { _, err := decodeTxShares(nil, 5); return err }},
		{"accumulator truncated", func() error { _, err := decodeAcc(acc[:len(acc)-2], 5); return err }},
		{"accumulator slots out of order", func() error {
			a := sampleAcc()
			a[0].slot, a[1].slot = 4, 1
			_, err := decodeAcc(encodeAcc(a, nil), 5)
			return err
		}},
		{"accumulator slot delta wrapping back below the previous slot", func() error {
			// slot 3, then a delta of 2^64-2: slot 1 in 64 bits, out of order.
			b := []byte{2, 3, 5, accOut, 7, 0}
			b = binary.AppendUvarint(b, math.MaxUint64-1)
			_, err := decodeAcc(append(b, 5, 0), 5)
			return err
		}},
		{"accumulator best over total", func() error {
			a := sampleAcc()
			a[0].best = 901
			_, err := decodeAcc(encodeAcc(a, nil), 5)
			return err
		}},
		{"accumulator's first entry refers to a previous output", func() error {
			_, err := decodeAcc([]byte{1, 0, 5, 0}, 5) // slot 0, 5 sat, tag: 0 hops, no flags
			return err
		}},
		{"accumulator difference of 0 flagged", func() error {
			_, err := decodeAcc([]byte{1, 0, 5, accLess | accOut, 0, 7, 0}, 5)
			return err
		}},
		{"accumulator hops out of range", func() error {
			b := binary.AppendUvarint([]byte{1, 0, 5}, (math.MaxInt32+1)<<accTagShift|accOut)
			_, err := decodeAcc(append(b, 7, 0), 5)
			return err
		}},
		{"accumulator empty", func() error { _, err := decodeAcc(nil, 5); return err }},
		{"accumulator count out of range", func() error {
			_, err := decodeAcc([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 5)
			return err
		}},
		{"accumulator truncated", func() error {
			b := encodeAcc(sampleAcc(), nil)
			_, err := decodeAcc(b[:len(b)-1], 5)
			return err
		}},
		{"undo truncated", func() error { _, err := decodeUndo(undo[:40]); return err }},
		{"undo version", func() error { _, err := decodeUndo(append([]byte{3}, undo[1:]...)); return err }},
		{"undo range reversed", func() error {
			u := sampleUndo()
			u.first, u.end = 30, 20
			_, err := decodeUndo(u.encode())
			return err
		}},
		{"undo spent output of the block itself", func() error {
			u := sampleUndo()
			u.spent[0].tx = u.first
			_, err := decodeUndo(u.encode())
			return err
		}},
		{"undo spent tainted over value", func() error {
			u := sampleUndo()
			u.spent[0].out.shares[0].tainted = 71
			_, err := decodeUndo(u.encode())
			return err
		}},
		{"undo spent truncated", func() error { _, err := decodeUndo(undo[:len(undo)-1]); return err }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.decode(); !errors.Is(err, store.ErrCorrupt) {
				t.Fatalf("got %v, want store.ErrCorrupt", err)
			}
		})
	}
}

func bytes11() []byte {
	b := make([]byte, 11)
	for i := range b {
		b[i] = 0x80
	}
	return b
}

// FuzzDecodeShares: any bytes decode to a record or store.ErrCorrupt,
// never a panic; what decodes encodes to bytes that decode to the same.
func FuzzDecodeShares(f *testing.F) {
	sr, su := sampleTxShares(), sampleUndo()
	f.Add(sr.encode(nil), byte(0))
	f.Add(encodeAcc(sampleAcc(), nil), byte(1))
	f.Add(su.encode(), byte(2))
	v1 := sampleUndo()
	v1.spent = nil
	f.Add(append([]byte{1}, v1.encode()[1:len(v1.encode())-1]...), byte(2)) // version 1: no spent outputs
	f.Add([]byte{}, byte(0))
	f.Fuzz(func(t *testing.T, b []byte, kind byte) {
		switch kind % 3 {
		case 0:
			r, err := decodeTxShares(b, 8)
			if err != nil {
				if !errors.Is(err, store.ErrCorrupt) {
					t.Fatalf("error %v is not ErrCorrupt", err)
				}
				return
			}
			r2, err := decodeTxShares(r.encode(nil), 8)
			if err != nil || !reflect.DeepEqual(r, r2) {
				t.Fatalf("re-encoded: %+v %v, want %+v", r2, err, r)
			}
		case 1:
			a, err := decodeAcc(b, 8)
			if err != nil {
				if !errors.Is(err, store.ErrCorrupt) {
					t.Fatalf("error %v is not ErrCorrupt", err)
				}
				return
			}
			a2, err := decodeAcc(encodeAcc(a, nil), 8)
			if err != nil || !reflect.DeepEqual(a, a2) {
				t.Fatalf("re-encoded: %+v %v, want %+v", a2, err, a)
			}
		case 2:
			u, err := decodeUndo(b)
			if err != nil {
				if !errors.Is(err, store.ErrCorrupt) {
					t.Fatalf("error %v is not ErrCorrupt", err)
				}
				return
			}
			u2, err := decodeUndo(u.encode())
			if err != nil || !reflect.DeepEqual(u, u2) {
				t.Fatalf("re-encoded: %+v %v, want %+v", u2, err, u)
			}
		}
	})
}

// TestAddContributions: counting one output's contributions at once gives
// what counting them one by one gives, whatever the accumulator held.
func TestAddContributions(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for round := 0; round < 2000; round++ {
		var acc []accEntry
		for s := uint32(0); s < 12; s++ {
			if r.IntN(3) == 0 {
				acc = append(acc, accEntry{slot: s, hops: int32(r.IntN(9)), amount: 100, best: int64(r.IntN(100)), bestOut: store.OutPoint{Tx: 5, Vout: 1}})
			}
		}
		var cs []contribution
		for s := uint32(0); s < 12; s++ {
			if r.IntN(2) == 0 {
				cs = append(cs, contribution{slot: s, amount: int64(r.IntN(120)), hops: int32(r.IntN(9))})
			}
		}
		out := store.OutPoint{Tx: 9, Vout: uint32(round)}
		want := slices.Clone(acc)
		for _, c := range cs {
			want = addContribution(want, c.slot, c.amount, c.hops, out)
		}
		if got := addContributions(slices.Clone(acc), out, cs, nil); !reflect.DeepEqual(got, want) && (len(got) > 0 || len(want) > 0) {
			t.Fatalf("round %d: got %+v, want %+v", round, got, want)
		}
	}
}

// TestEntrySlab: the slab's arrays have exactly the capacity asked for,
// so filling one never writes into the next; they are handed out from
// chunk after chunk, counted, and taken back by reset (the chunks then
// reused, not grown); an array larger than a quarter chunk and a nil
// slab use the heap.
func TestEntrySlab(t *testing.T) {
	var s entrySlab
	var arrays [][]accEntry
	total := 0
	for i := 0; total < 3*slabChunk; i++ {
		n := 1 + i%300
		a := s.alloc(n)
		if len(a) != 0 || cap(a) != n {
			t.Fatalf("alloc(%d): len %d cap %d", n, len(a), cap(a))
		}
		for j := range n {
			a = append(a, accEntry{slot: uint32(i), amount: int64(j)})
		}
		arrays = append(arrays, a)
		total += n
	}
	if s.used != total {
		t.Fatalf("used %d, want %d", s.used, total)
	}
	for i, a := range arrays {
		for j, e := range a {
			if e.slot != uint32(i) || e.amount != int64(j) {
				t.Fatalf("array %d entry %d is %+v: another array wrote over it", i, j, e)
			}
		}
	}
	chunks := len(s.chunks)
	if chunks < 3 {
		t.Fatalf("%d entries in %d chunks", total, chunks)
	}
	s.reset()
	for range total / 100 {
		s.alloc(100)
	}
	if len(s.chunks) != chunks || s.used != total/100*100 {
		t.Fatalf("after reset: %d chunks (was %d), used %d", len(s.chunks), chunks, s.used)
	}
	if big := s.alloc(slabChunk/4 + 1); cap(big) != slabChunk/4+1 || s.used != total/100*100 {
		t.Fatalf("a large array: cap %d, used %d", cap(big), s.used)
	}
	var none *entrySlab
	if a := none.alloc(5); cap(a) != 5 {
		t.Fatalf("nil slab: cap %d", cap(a))
	}
}
