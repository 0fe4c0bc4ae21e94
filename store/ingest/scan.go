package ingest

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/tracer-oss/tracer/sanctions/address"
	"github.com/tracer-oss/tracer/store"
)

// A hand-rolled block scanner: it reads what the writer needs (txids,
// sizes, previous outpoints, output values and addresses) straight from the
// serialized block, hashing each transaction's bytes in place, instead of
// building btcd's wire.MsgBlock and serializing every transaction again to
// hash and size it (which took a tenth of a bulk load's CPU time and most
// of its allocations). It accepts what wire.MsgBlock.Deserialize accepts,
// and its parity with btcd is tested on real and generated blocks and
// fuzzed (scan_test.go).

// Minimum serialized sizes, which bound counts before anything is
// allocated: an input is 32 + 4 + 1 + 4 bytes, an output 8 + 1, a
// transaction 4 + 1 + 1 + 4.
const (
	minTxInSize  = 41
	minTxOutSize = 9
	minTxSize    = 10
)

var errShort = errors.New("unexpected end of block")

// witnessMagic starts a coinbase's witness commitment after OP_RETURN and
// a 36-byte push (BIP141).
var witnessMagic = []byte{0xaa, 0x21, 0xa9, 0xed}

// blockScanner reads a serialized block and remembers the first error.
type blockScanner struct {
	b   []byte
	off int
	err error
	h   hash.Hash // sha256 for segwit txids, created on first use
}

func (s *blockScanner) fail(err error) {
	if s.err == nil {
		s.err = err
	}
}

// take returns the next n bytes.
func (s *blockScanner) take(n int) []byte {
	if s.err != nil {
		return nil
	}
	if n < 0 || n > len(s.b)-s.off {
		s.fail(errShort)
		return nil
	}
	v := s.b[s.off : s.off+n : s.off+n]
	s.off += n
	return v
}

func (s *blockScanner) uint32() uint32 {
	v := s.take(4)
	if v == nil {
		return 0
	}
	return binary.LittleEndian.Uint32(v)
}

// varInt reads a CompactSize integer, refusing the non-canonical forms
// btcd refuses, and bounds it by the bytes left divided by minSize.
func (s *blockScanner) varInt(minSize int) int {
	b := s.take(1)
	if b == nil {
		return 0
	}
	var v uint64
	var min uint64
	switch b[0] {
	case 0xfd:
		if x := s.take(2); x != nil {
			v, min = uint64(binary.LittleEndian.Uint16(x)), 0xfd
		}
	case 0xfe:
		if x := s.take(4); x != nil {
			v, min = uint64(binary.LittleEndian.Uint32(x)), 0x10000
		}
	case 0xff:
		if x := s.take(8); x != nil {
			v, min = binary.LittleEndian.Uint64(x), 0x100000000
		}
	default:
		return int(b[0]) // bounded by the callers' reads
	}
	if s.err != nil {
		return 0
	}
	if v < min {
		s.fail(fmt.Errorf("non-canonical varint %x", v))
		return 0
	}
	if v > uint64((len(s.b)-s.off)/minSize) {
		s.fail(fmt.Errorf("count %d exceeds what the %d bytes left can hold", v, len(s.b)-s.off))
		return 0
	}
	return int(v)
}

// scanBlock decodes a serialized block into what the writer needs. Nothing
// in the result refers to raw, which the caller reuses.
func scanBlock(raw []byte, height int32, hash chainhash.Hash) (*decoded, error) {
	s := &blockScanner{b: raw}
	hdr := s.take(wire.MaxBlockHeaderPayload)
	if s.err != nil {
		return nil, fmt.Errorf("header: %w", s.err)
	}
	d := &decoded{height: height, hash: hash, size: uint32(len(raw))}
	if err := d.header.Deserialize(&headerReader{hdr}); err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	n := s.varInt(minTxSize)
	if s.err != nil {
		return nil, fmt.Errorf("transaction count: %w", s.err)
	}
	// Capacities from the block's size, not its claimed counts (a hostile
	// count would allocate for transactions that are not there); append
	// grows them when a block is unusual.
	d.txs = make([]scannedTx, 0, min(n, len(raw)/256+16))
	d.prevs = make([]wire.OutPoint, 0, len(raw)/128)
	d.allOuts = make([]store.Output, 0, len(raw)/64)
	base := s.off // header and count: the same in both sizes
	var blockSize, blockBase int
	for i := 0; i < n; i++ {
		d.txs = append(d.txs, scannedTx{})
		if err := s.tx(d, i); err != nil {
			return nil, fmt.Errorf("transaction %d: %w", i, err)
		}
		blockSize += int(d.txs[i].size)
		blockBase += int(d.txs[i].base)
	}
	if s.off != len(raw) {
		return nil, fmt.Errorf("%d bytes after the block", len(raw)-s.off)
	}
	// Slice the flattened inputs and outputs per transaction now that
	// they no longer move.
	var pi, oi int
	for i := range d.txs {
		t := &d.txs[i]
		t.ins = d.prevs[pi : pi+t.nIn : pi+t.nIn]
		t.outs = d.allOuts[oi : oi+t.nOut : oi+t.nOut]
		pi += t.nIn
		oi += t.nOut
	}
	// As btcd computes it: stripped size × 3 + size.
	d.weight = uint32((base+blockBase)*3 + base + blockSize)
	return d, nil
}

// tx scans transaction i of the block into d.
func (s *blockScanner) tx(d *decoded, i int) error {
	start := s.off
	s.take(4)     // version
	body := s.off // from the input count (after marker and flag) to the outputs' end: hashed as is
	nIn := s.varInt(minTxInSize)
	segwit := false
	if s.err == nil && nIn == 0 {
		// A zero input count is the segwit marker; the flag follows.
		if f := s.take(1); f != nil && f[0] != 0x01 {
			return fmt.Errorf("witness tx but flag byte is %x", f[0])
		}
		segwit = true
		body = s.off
		nIn = s.varInt(minTxInSize)
	}
	s.inputs(d, nIn)
	nOut := s.varInt(minTxOutSize)
	if err := s.outputs(d, i, nOut); err != nil {
		return err
	}
	bodyEnd := s.off
	hasWitness := segwit && s.witnesses(d, i, nIn)
	witnessEnd := s.off
	s.take(4) // lock time
	if s.err != nil {
		return s.err
	}
	if segwit && !hasWitness {
		// As btcd and Bitcoin Core: the marker promises witness data.
		return errors.New("witness flag set but the transaction has no witness data")
	}
	t := &d.txs[i]
	t.nIn, t.nOut = nIn, nOut
	s.ids(d, t, segwit, start, body, bodyEnd, witnessEnd)
	return nil
}

// inputs reads n inputs, keeping the outputs they spend.
func (s *blockScanner) inputs(d *decoded, n int) {
	for j := 0; j < n && s.err == nil; j++ {
		var op wire.OutPoint
		copy(op.Hash[:], s.take(32))
		op.Index = s.uint32()
		s.take(s.varInt(1)) // signature script
		s.take(4)           // sequence
		d.prevs = append(d.prevs, op)
	}
}

// outputs reads n outputs of transaction i, keeping their values and
// addresses, and the witness commitment a coinbase's output carries.
func (s *blockScanner) outputs(d *decoded, i, n int) error {
	for j := 0; j < n && s.err == nil; j++ {
		v := s.take(8)
		script := s.take(s.varInt(1))
		if s.err != nil {
			break
		}
		value := int64(binary.LittleEndian.Uint64(v))
		if value < 0 || value > maxSatoshi {
			return fmt.Errorf("output %d pays %d satoshi", j, value)
		}
		if i == 0 && len(script) >= 38 && script[0] == 0x6a && script[1] == 0x24 && bytes.Equal(script[2:6], witnessMagic) {
			// BIP141: the last such output of the coinbase commits to
			// the block's witness data.
			copy(d.commitment[:], script[6:38])
			d.hasCommitment = true
		}
		d.allOuts = append(d.allOuts, store.Output{Value: value, Addr: address.Classify(script)})
	}
	return nil
}

// witnesses reads the witnesses of transaction i's n inputs, keeping the
// coinbase's witness reserved value, and reports whether any has an item.
func (s *blockScanner) witnesses(d *decoded, i, n int) (has bool) {
	for j := 0; j < n && s.err == nil; j++ {
		items := s.varInt(1)
		has = has || items > 0
		for k := 0; k < items && s.err == nil; k++ {
			item := s.take(s.varInt(1))
			if i == 0 && j == 0 && items == 1 && len(item) == 32 {
				copy(d.reserved[:], item) // the coinbase's witness reserved value
				d.reservedOK = true
			}
		}
	}
	return has
}

// ids sets t's txid (the serialization without marker, flag and
// witnesses), its wtxid (the whole, for the witness commitment) and sizes,
// from the offsets of the transaction read last.
func (s *blockScanner) ids(d *decoded, t *scannedTx, segwit bool, start, body, bodyEnd, witnessEnd int) {
	var sum [sha256.Size]byte
	if segwit {
		if s.h == nil {
			s.h = sha256.New()
		}
		s.h.Reset()
		s.h.Write(s.b[start : start+4])
		s.h.Write(s.b[body:bodyEnd])
		s.h.Write(s.b[witnessEnd:s.off])
		s.h.Sum(sum[:0])
	} else {
		sum = sha256.Sum256(s.b[start:s.off])
	}
	t.id = sha256.Sum256(sum[:])
	if segwit {
		t.segwit = true
		d.witness = true
		sum = sha256.Sum256(s.b[start:s.off])
		t.wid = sha256.Sum256(sum[:])
	}
	size := s.off - start
	base := size
	if segwit {
		base = size - 2 - (witnessEnd - bodyEnd)
	}
	t.size, t.base = uint32(size), uint32(base)
	t.vsize = uint32((base*3 + size + 3) / 4)
}

// headerReader reads a header's 80 bytes for wire.BlockHeader.Deserialize.
type headerReader struct{ b []byte }

func (r *headerReader) Read(p []byte) (int, error) {
	n := copy(p, r.b)
	r.b = r.b[n:]
	if n == 0 && len(p) > 0 {
		return 0, errShort
	}
	return n, nil
}
