package store

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/btcsuite/btcd/wire"
	"github.com/tracer-oss/tracer/store/address"
)

// ErrCorrupt is a stored record that does not decode.
var ErrCorrupt = errors.New("store: corrupt record")

// Tx record layout (all integers uvarint unless noted):
//
//	txid (32 bytes) | height | position | size | vsize | flags (1 byte:
//	1 coinbase, 2 fee known) | fee | input count | inputs | output count | outputs
//
// An input is d, then: nothing when d = 0 (coinbase); txid (32) and vout
// when d = 1 (external); vout when d ≥ 2, spending TxNum (own − (d − 1)).
// An output is value, kind (1 byte), payload (Kind.PayloadLen bytes).
const (
	flagCoinbase = 1
	flagFeeKnown = 2
)

func appendTx(buf []byte, tx *Tx) []byte {
	buf = append(buf, tx.ID[:]...)
	buf = binary.AppendUvarint(buf, uint64(tx.Height))
	buf = binary.AppendUvarint(buf, uint64(tx.Pos))
	buf = binary.AppendUvarint(buf, uint64(tx.Size))
	buf = binary.AppendUvarint(buf, uint64(tx.VSize))
	var flags byte
	if tx.Coinbase {
		flags |= flagCoinbase
	}
	if tx.FeeKnown {
		flags |= flagFeeKnown
	}
	buf = append(buf, flags)
	buf = binary.AppendVarint(buf, tx.Fee)
	buf = binary.AppendUvarint(buf, uint64(len(tx.Inputs)))
	for i := range tx.Inputs {
		in := &tx.Inputs[i]
		switch in.Kind {
		case InputCoinbase:
			buf = append(buf, 0)
		case InputExternal:
			buf = append(buf, 1)
			buf = append(buf, in.Ext.Hash[:]...)
			buf = binary.AppendUvarint(buf, uint64(in.Ext.Index))
		default:
			buf = binary.AppendUvarint(buf, uint64(tx.Num-in.Prev.Tx)+1)
			buf = binary.AppendUvarint(buf, uint64(in.Prev.Vout))
		}
	}
	buf = binary.AppendUvarint(buf, uint64(len(tx.Outputs)))
	for i := range tx.Outputs {
		out := &tx.Outputs[i]
		buf = binary.AppendUvarint(buf, uint64(out.Value))
		buf = append(buf, byte(out.Addr.Kind))
		buf = append(buf, out.Addr.Bytes()...)
	}
	return buf
}

// decoder reads a record and remembers the first error.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = ErrCorrupt
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = ErrCorrupt
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) bytes(n int) []byte {
	if d.err != nil {
		return nil
	}
	if len(d.b) < n {
		d.err = ErrCorrupt
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) byte1() byte {
	b := d.bytes(1)
	if b == nil {
		return 0
	}
	return b[0]
}

// count reads a count bounded by the bytes left (each item takes at least one).
func (d *decoder) count() int {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.err = ErrCorrupt
		return 0
	}
	return int(n)
}

func decodeTx(num TxNum, b []byte) (*Tx, error) {
	d := decoder{b: b}
	tx := &Tx{Num: num}
	copy(tx.ID[:], d.bytes(32))
	tx.Height = int32(d.uvarint())
	tx.Pos = uint32(d.uvarint())
	tx.Size = uint32(d.uvarint())
	tx.VSize = uint32(d.uvarint())
	flags := d.byte1()
	tx.Coinbase = flags&flagCoinbase != 0
	tx.FeeKnown = flags&flagFeeKnown != 0
	tx.Fee = d.varint()
	tx.Inputs = make([]Input, d.count())
	for i := range tx.Inputs {
		in := &tx.Inputs[i]
		switch delta := d.uvarint(); delta {
		case 0:
			in.Kind = InputCoinbase
		case 1:
			in.Kind = InputExternal
			copy(in.Ext.Hash[:], d.bytes(32))
			in.Ext.Index = uint32(d.uvarint())
		default:
			if delta-1 > uint64(num) {
				d.err = ErrCorrupt
			}
			in.Kind = InputKnown
			in.Prev.Tx = num - TxNum(delta-1)
			in.Prev.Vout = uint32(d.uvarint())
		}
	}
	tx.Outputs = make([]Output, d.count())
	for i := range tx.Outputs {
		out := &tx.Outputs[i]
		out.Value = int64(d.uvarint())
		out.Addr.Kind = address.Kind(d.byte1())
		if !out.Addr.Kind.Valid() {
			d.err = ErrCorrupt
		}
		copy(out.Addr.Payload[:], d.bytes(out.Addr.Kind.PayloadLen()))
	}
	if d.err == nil && len(d.b) != 0 {
		d.err = ErrCorrupt
	}
	if d.err != nil {
		return nil, fmt.Errorf("%w: tx %d", d.err, num)
	}
	return tx, nil
}

// Block record: header (80) | first TxNum (8) | tx count (4) | size (4) | weight (4).
func appendBlock(buf []byte, b *Block) []byte {
	var w headerWriter
	w.buf = buf
	_ = b.Header.Serialize(&w)
	buf = w.buf
	buf = binary.BigEndian.AppendUint64(buf, uint64(b.FirstTx))
	buf = binary.BigEndian.AppendUint32(buf, b.NumTx)
	buf = binary.BigEndian.AppendUint32(buf, b.Size)
	return binary.BigEndian.AppendUint32(buf, b.Weight)
}

type headerWriter struct{ buf []byte }

func (w *headerWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	return len(p), nil
}

type byteReader struct{ b []byte }

func (r *byteReader) Read(p []byte) (int, error) {
	n := copy(p, r.b)
	r.b = r.b[n:]
	if n == 0 && len(p) > 0 {
		return 0, ErrCorrupt
	}
	return n, nil
}

func decodeBlock(height int32, v []byte) (*Block, error) {
	if len(v) != 80+8+4+4+4 {
		return nil, fmt.Errorf("%w: block %d", ErrCorrupt, height)
	}
	b := &Block{Height: height}
	if err := b.Header.Deserialize(&byteReader{v[:80]}); err != nil {
		return nil, fmt.Errorf("%w: block %d header: %v", ErrCorrupt, height, err)
	}
	b.Hash = b.Header.BlockHash()
	b.FirstTx = TxNum(binary.BigEndian.Uint64(v[80:]))
	b.NumTx = binary.BigEndian.Uint32(v[88:])
	b.Size = binary.BigEndian.Uint32(v[92:])
	b.Weight = binary.BigEndian.Uint32(v[96:])
	return b, nil
}

// Spent-by value: spender TxNum and input index, uvarints.
func appendInPoint(buf []byte, in InPoint) []byte {
	buf = binary.AppendUvarint(buf, uint64(in.Tx))
	return binary.AppendUvarint(buf, uint64(in.Vin))
}

func decodeInPoint(v []byte) (InPoint, error) {
	d := decoder{b: v}
	in := InPoint{Tx: TxNum(d.uvarint()), Vin: uint32(d.uvarint())}
	if d.err != nil || len(d.b) != 0 {
		return in, ErrCorrupt
	}
	return in, nil
}

var _ = wire.MaxBlockPayload
