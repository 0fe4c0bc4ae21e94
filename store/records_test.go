package store

import (
	"encoding/binary"
	"errors"
	"math"
	"reflect"
	"testing"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/tracer-oss/tracer/sanctions/address"
)

func sampleTx() *Tx {
	return &Tx{
		Num: 1000, ID: chainhash.Hash{1, 2, 3}, Height: 800000, Pos: 7, Size: 250, VSize: 141,
		FeeKnown: true, Fee: 1234,
		Inputs: []Input{
			{Kind: InputKnown, Prev: OutPoint{Tx: 999, Vout: 3}},
			{Kind: InputKnown, Prev: OutPoint{Tx: 0, Vout: 0}},
			{Kind: InputKnown, Prev: OutPoint{Tx: 998, Vout: 2}},
			{Kind: InputExternal, Ext: wire.OutPoint{Hash: chainhash.Hash{9}, Index: 70000}},
		},
		Outputs: []Output{
			{Value: 5000, Addr: address.Addr{Kind: address.P2WPKH, Payload: [32]byte{1, 2}}},
			{Value: 0, Addr: address.Addr{Kind: address.OpReturn}},
			{Value: 21e14, Addr: address.Addr{Kind: address.P2TR, Payload: [32]byte{31: 7}}},
		},
	}
}

func TestTxRecordRoundTrip(t *testing.T) {
	tx := sampleTx()
	got, err := decodeTx(tx.Num, appendTx(nil, tx))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, tx) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, tx)
	}
	cb := &Tx{Num: 5, Coinbase: true, FeeKnown: true, Fee: -3, Inputs: []Input{{Kind: InputCoinbase}}, Outputs: []Output{}}
	got, err = decodeTx(5, appendTx(nil, cb))
	if err != nil || !reflect.DeepEqual(got, cb) {
		t.Fatalf("coinbase round trip: %v %+v", err, got)
	}
	// A coinbase of a block with an external input keeps its fee unknown
	// but its claim beyond the subsidy.
	cb.FeeKnown = false
	got, err = decodeTx(5, appendTx(nil, cb))
	if err != nil || !reflect.DeepEqual(got, cb) {
		t.Fatalf("coinbase round trip, fee unknown: %v %+v", err, got)
	}
}

func FuzzDecodeTx(f *testing.F) {
	f.Add(uint64(1000), appendTx(nil, sampleTx()))
	f.Add(uint64(0), []byte{})
	f.Fuzz(func(t *testing.T, num uint64, b []byte) {
		tx, err := decodeTx(TxNum(num), b)
		if err != nil {
			return
		}
		// What decodes must survive a re-encoding unchanged.
		again, err := decodeTx(TxNum(num), appendTx(nil, tx))
		if err != nil || !reflect.DeepEqual(again, tx) {
			t.Fatalf("re-encoded record decodes to %+v, %v; want %+v", again, err, tx)
		}
	})
}

func TestInPointRoundTrip(t *testing.T) {
	for _, c := range []struct {
		name string
		op   OutPoint
		in   InPoint
		size int // bytes of the value
	}{
		{"next tx, input 0", OutPoint{Tx: 1000, Vout: 5}, InPoint{Tx: 1001, Vin: 0}, 4},
		{"a few thousand later, input 2", OutPoint{Tx: 1000, Vout: 0}, InPoint{Tx: 4000, Vin: 2}, 4},
		{"input 64 takes two bytes", OutPoint{Tx: 1000, Vout: 0}, InPoint{Tx: 1001, Vin: 64}, 5},
		{"2^24 later takes four bytes", OutPoint{Tx: 1000, Vout: 0}, InPoint{Tx: 1001 + 1<<24, Vin: 1}, 5},
		{"largest distance, largest input index", OutPoint{Tx: 0, Vout: 0}, InPoint{Tx: math.MaxUint64 - 1, Vin: math.MaxUint32}, 13},
		{"spender before the output (damage): absolute", OutPoint{Tx: 1000, Vout: 0}, InPoint{Tx: 999, Vin: 1}, 4},
		{"spender is the output's tx (damage): absolute", OutPoint{Tx: 1000, Vout: 0}, InPoint{Tx: 1000, Vin: 0}, 4},
		{"spender 0 (damage): absolute", OutPoint{Tx: math.MaxUint64, Vout: 0}, InPoint{Tx: 0, Vin: 0}, 4},
	} {
		t.Run(c.name, func(t *testing.T) {
			v := appendInPoint(nil, c.op, c.in)
			if len(v) != c.size {
				t.Errorf("%d bytes, want %d", len(v), c.size)
			}
			got, err := decodeInPoint(c.op, v)
			if err != nil || got != c.in {
				t.Fatalf("decoded %+v, %v; want %+v", got, err, c.in)
			}
		})
	}
}

func TestInPointCorrupt(t *testing.T) {
	op := OutPoint{Tx: 1000}
	for _, c := range []struct {
		name string
		v    []byte
	}{
		{"empty", nil},
		{"no TxNum", []byte{0}},
		{"TxNum of 2 bytes", []byte{0, 0, 1}},
		{"TxNum of 9 bytes", []byte{0, 1, 0, 0, 0, 0, 0, 0, 0, 0}},
		{"TxNum of 4 bytes with a leading zero", []byte{0, 0, 0, 0, 1}},
		{"trailing byte", append(appendInPoint(nil, op, InPoint{Tx: 1001}), 0)},
		{"absolute form of a later spender", []byte{1, 0, 0x03, 0xe9}},
		{"past the largest TxNum", []byte{0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfc, 0x17}},
		{"input index over 32 bits", append(binary.AppendUvarint(nil, 1<<33), 0, 0, 0)},
		{"overlong uvarint", []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0, 0, 0}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if in, err := decodeInPoint(op, c.v); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("decoded %+v, %v; want ErrCorrupt", in, err)
			}
		})
	}
}

func FuzzDecodeInPoint(f *testing.F) {
	f.Add(uint64(1000), uint32(1), appendInPoint(nil, OutPoint{Tx: 1000, Vout: 1}, InPoint{Tx: 5000, Vin: 7}))
	f.Add(uint64(1000), uint32(0), appendInPoint(nil, OutPoint{Tx: 1000}, InPoint{Tx: 3, Vin: 1}))
	f.Add(uint64(0), uint32(0), []byte{})
	f.Fuzz(func(t *testing.T, tx uint64, vout uint32, v []byte) {
		op := OutPoint{Tx: TxNum(tx), Vout: vout}
		in, err := decodeInPoint(op, v)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v is not ErrCorrupt", err)
			}
			return
		}
		// What decodes survives a re-encoding unchanged, no longer than it was.
		again := appendInPoint(nil, op, in)
		if got, err := decodeInPoint(op, again); err != nil || got != in || len(again) > len(v) {
			t.Fatalf("%x decodes to %+v, which encodes to %x, which decodes to %+v, %v", v, in, again, got, err)
		}
	})
}
