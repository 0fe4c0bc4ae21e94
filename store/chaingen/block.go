package chaingen

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/btcsuite/btcd/blockchain"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"
)

// ActivationHeight is the first regtest height at which btcd v0.24.2 (and
// Core) treat CSV, SegWit and Taproot as ACTIVE when every block from height 1
// signals their BIP9 bits: window 0 (0–143) is DEFINED, window 1 (144–287)
// STARTED and counting, window 2 (288–431) LOCKED_IN, ACTIVE from 432. The
// generator signals until then and puts no spends before it.
const ActivationHeight = 432

const (
	signalVersion = 0x20000007 // BIP9 top bits + CSV(0), SegWit(1), Taproot(2)
	plainVersion  = 0x20000000
	maxBlockWt    = 3_900_000 // stay under the 4M consensus limit with margin
	regtestBits   = 0x207fffff
)

var witnessMagic = []byte{0xaa, 0x21, 0xa9, 0xed}

// blockTime is the timestamp of the block at height h: a seed-derived base
// on 2025-01-01 plus ten minutes per block, so timestamps increase strictly
// and always exceed the median time past.
func (g *generator) blockTime(h int32) time.Time {
	return g.baseTime.Add(time.Duration(h) * 10 * time.Minute)
}

// assemble builds, commits and mines a block on prev. payTo receives the
// subsidy and fees; tag makes coinbases of fork blocks differ from the
// main-chain block at the same height.
func (g *generator) assemble(height int32, prev chainhash.Hash, ts time.Time,
	txs []*wire.MsgTx, fees int64, payTo *address, tag uint32) (*wire.MsgBlock, error) {
	var extra [8]byte
	binary.BigEndian.PutUint32(extra[0:], uint32(g.seed))
	binary.BigEndian.PutUint32(extra[4:], tag)
	sigScript, err := txscript.NewScriptBuilder().AddInt64(int64(height)).AddData(extra[:]).Script()
	if err != nil {
		return nil, fmt.Errorf("coinbase script: %w", err)
	}
	cb := wire.NewMsgTx(2)
	cb.AddTxIn(&wire.TxIn{
		PreviousOutPoint: wire.OutPoint{Index: wire.MaxPrevOutIndex},
		SignatureScript:  sigScript,
		Sequence:         wire.MaxTxInSequenceNum,
	})
	cb.AddTxOut(wire.NewTxOut(blockchain.CalcBlockSubsidy(height, g.params)+fees, payTo.pk))
	all := make([]*btcutil.Tx, 0, len(txs)+1)
	all = append(all, btcutil.NewTx(cb))
	for _, t := range txs {
		all = append(all, btcutil.NewTx(t))
	}
	segwit := height >= ActivationHeight
	if segwit {
		var nonce [32]byte
		cb.TxIn[0].Witness = wire.TxWitness{nonce[:]}
		root := blockchain.CalcMerkleRoot(all, true)
		var buf [64]byte
		copy(buf[:], root[:])
		commit := chainhash.DoubleHashB(buf[:])
		pk := append([]byte{txscript.OP_RETURN, 36}, witnessMagic...)
		cb.AddTxOut(wire.NewTxOut(0, append(pk, commit...)))
	}
	all[0] = btcutil.NewTx(cb) // refresh the cached hash
	version := int32(signalVersion)
	if segwit {
		version = plainVersion
	}
	blk := &wire.MsgBlock{Header: wire.BlockHeader{
		Version:    version,
		PrevBlock:  prev,
		MerkleRoot: blockchain.CalcMerkleRoot(all, false),
		Timestamp:  ts,
		Bits:       regtestBits,
	}}
	blk.Transactions = make([]*wire.MsgTx, len(all))
	for i, t := range all {
		blk.Transactions[i] = t.MsgTx()
	}
	for {
		h := blk.Header.BlockHash()
		if blockchain.HashToBig(&h).Cmp(g.target) <= 0 {
			break
		}
		blk.Header.Nonce++
	}
	return blk, nil
}

func serializeBlock(b *wire.MsgBlock) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(b.SerializeSize())
	if err := b.Serialize(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
