package ingest

import (
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/tracer-oss/tracer/store"
)

// ScannedTx and ScannedBlock expose scanBlock's result to the external
// tests, which compare it with btcd's decoding.
type ScannedTx struct {
	ID                chainhash.Hash
	Size, Base, VSize int
	Ins               []wire.OutPoint
	Outs              []store.Output
}

type ScannedBlock struct {
	Header wire.BlockHeader
	Weight int
	Txs    []ScannedTx
}

func ScanBlock(raw []byte) (*ScannedBlock, error) {
	d, err := scanBlock(raw, 0, chainhash.Hash{})
	if err != nil {
		return nil, err
	}
	b := &ScannedBlock{Header: d.header, Weight: int(d.weight)}
	for _, t := range d.txs {
		b.Txs = append(b.Txs, ScannedTx{t.id, int(t.size), int(t.base), int(t.vsize), t.ins, t.outs})
	}
	return b, nil
}

const MaxSatoshi = maxSatoshi

// MerkleRoot is the merkle root of a block's txids, as the ingester computes it.
func MerkleRoot(b *wire.MsgBlock) chainhash.Hash {
	ids := make([]chainhash.Hash, len(b.Transactions))
	for i, tx := range b.Transactions {
		ids[i] = tx.TxHash()
	}
	return merkleRoot(ids)
}
