package storetest

import (
	"bytes"
	"testing"
	"time"

	"github.com/btcsuite/btcd/blockchain"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"
)

// CoinbaseBlock mines a regtest block at height on prev holding only a
// coinbase (BIP34 height, then extra) that pays the subsidy to a P2WPKH of
// extra; a competing branch for reorganisation tests.
func CoinbaseBlock(prev chainhash.Hash, prevTime time.Time, height int32, extra []byte) *wire.MsgBlock {
	params := &chaincfg.RegressionNetParams
	sig, _ := txscript.NewScriptBuilder().AddInt64(int64(height)).AddData(extra).Script()
	cb := wire.NewMsgTx(2)
	cb.AddTxIn(&wire.TxIn{PreviousOutPoint: wire.OutPoint{Index: wire.MaxPrevOutIndex}, SignatureScript: sig, Sequence: wire.MaxTxInSequenceNum})
	var pkh [20]byte
	copy(pkh[:], chainhash.HashB(extra))
	pk := append([]byte{txscript.OP_0, 20}, pkh[:]...)
	cb.AddTxOut(wire.NewTxOut(blockchain.CalcBlockSubsidy(height, params), pk))
	blk := &wire.MsgBlock{
		Header: wire.BlockHeader{
			Version:    0x20000000,
			PrevBlock:  prev,
			MerkleRoot: blockchain.CalcMerkleRoot([]*btcutil.Tx{btcutil.NewTx(cb)}, false),
			Timestamp:  prevTime.Add(time.Minute),
			Bits:       params.PowLimitBits,
		},
		Transactions: []*wire.MsgTx{cb},
	}
	target := blockchain.CompactToBig(params.PowLimitBits)
	for {
		h := blk.Header.BlockHash()
		if blockchain.HashToBig(&h).Cmp(target) <= 0 {
			return blk
		}
		blk.Header.Nonce++
	}
}

// Serialize returns a block's wire serialization.
func Serialize(t testing.TB, b *wire.MsgBlock) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := b.Serialize(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
