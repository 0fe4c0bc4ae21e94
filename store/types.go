package store

import (
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
	"github.com/tracer-oss/tracer/sanctions/address"
)

// TxNum is a transaction's position in chain order across the whole store.
type TxNum uint64

// OutPoint names an output by its transaction's number and index.
type OutPoint struct {
	Tx   TxNum
	Vout uint32
}

// InPoint names an input by its transaction's number and index.
type InPoint struct {
	Tx  TxNum
	Vin uint32
}

// Block is a stored block.
type Block struct {
	Height  int32
	Hash    chainhash.Hash
	Header  wire.BlockHeader
	FirstTx TxNum
	NumTx   uint32
	Size    uint32
	Weight  uint32
}

// Time is the block's header timestamp in UTC.
func (b *Block) Time() time.Time { return b.Header.Timestamp.UTC() }

// InputKind says what an input spends.
type InputKind uint8

const (
	// InputKnown spends an output of a stored transaction.
	InputKnown InputKind = iota
	// InputCoinbase is a coinbase input: new coins.
	InputCoinbase
	// InputExternal spends an output of a transaction before the store's
	// first block (a pruned start): its value and address are unknown.
	InputExternal
)

// Input is a transaction input.
type Input struct {
	Kind InputKind
	Prev OutPoint      // when Kind is InputKnown
	Ext  wire.OutPoint // when Kind is InputExternal: the txid and index as written
}

// Output is a transaction output.
type Output struct {
	Value int64 // satoshi
	Addr  address.Addr
}

// Tx is a stored transaction.
type Tx struct {
	Num      TxNum
	ID       chainhash.Hash
	Height   int32
	Pos      uint32 // position in its block
	Size     uint32 // serialized size with witness
	VSize    uint32 // virtual size: ceil(weight/4)
	Coinbase bool
	FeeKnown bool  // false when an input spends from before the store's range
	Fee      int64 // satoshi; for a coinbase: outputs minus subsidy (fees collected)
	Inputs   []Input
	Outputs  []Output
}

// State is the store's chain state, committed after each batch.
type State struct {
	Network     string         `json:"network"`
	Height      int32          `json:"height"` // tip height; -1 when empty
	Hash        chainhash.Hash `json:"hash"`
	StartHeight int32          `json:"start_height"` // height of the first stored block
	NextTx      TxNum          `json:"next_tx"`      // number of stored transactions
	Blocks      int64          `json:"blocks"`
	Inputs      int64          `json:"inputs"`
	Outputs     int64          `json:"outputs"`
	External    int64          `json:"external_inputs"` // inputs spending before StartHeight
	Value       int64          `json:"unspent_value"`   // satoshi in unspent outputs (known inputs only)
}

// Empty reports whether no block is stored.
func (s *State) Empty() bool { return s.Height < 0 }
