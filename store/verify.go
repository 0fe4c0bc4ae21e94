package store

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/btcsuite/btcd/blockchain"
	"github.com/btcsuite/btcd/chaincfg"
)

// Problem is one invariant a store breaks.
type Problem struct {
	Height int32  `json:"height"`
	What   string `json:"what"`
}

// VerifyResult counts what Verify checked.
type VerifyResult struct {
	Blocks  int64 `json:"blocks"`
	Txs     int64 `json:"txs"`
	Inputs  int64 `json:"inputs"`
	Outputs int64 `json:"outputs"`
	Spends  int64 `json:"spends"`
	// ExposureFiles and ExposureRecords count the exposure index's files
	// read whole and the records in them.
	ExposureFiles   int       `json:"exposure_files"`
	ExposureRecords int64     `json:"exposure_records"`
	Problems        []Problem `json:"problems"`
}

// maxProblems bounds the problems listed; the count keeps going.
const maxProblems = 100

// Verify recomputes the store's invariants from its records: every known
// input has exactly one spent-by entry pointing back at it and every spent-by
// entry at an input that spends that output; per block, the coinbase claims
// no more than subsidy plus fees, and every non-coinbase fee is
// inputs − outputs ≥ 0; block records chain by previous hash and their
// transaction ranges tile the transaction numbers; counts match the state.
func (s *Store) Verify(ctx context.Context, params *chaincfg.Params) (VerifyResult, error) {
	v := verifier{s: s, st: s.state, params: params}
	if v.st.Empty() {
		v.exposureFiles()
		return v.r, nil
	}
	blockOf, err := v.blocks(ctx)
	if err != nil {
		return v.r, err
	}
	if err := v.txs(ctx, blockOf); err != nil {
		return v.r, err
	}
	if err = v.spends(); err != nil {
		return v.r, err
	}
	v.exposureFiles()
	return v.r, nil
}

// exposureFiles reads every block of the exposure index's files and checks
// its checksum and record order (readers check a block when they read it;
// this finds damage before one does), and names generations whose files
// were missing or damaged at open.
func (v *verifier) exposureFiles() {
	gens, unpin := v.s.expo.pinAll()
	defer unpin()
	for _, err := range v.s.expo.unusableGens() {
		v.problem(-1, "%v", err)
	}
	for _, gen := range slices.Sorted(maps.Keys(gens)) {
		for _, set := range []sortedSet{gens[gen].txs, gens[gen].accs} {
			n, err := set.check()
			if err != nil {
				v.problem(-1, "exposure index generation %d: %v", gen, err)
			}
			v.r.ExposureFiles += len(set)
			v.r.ExposureRecords += int64(n)
		}
	}
}

// verifier is one run of Verify.
type verifier struct {
	s      *Store
	st     State
	params *chaincfg.Params
	r      VerifyResult
	cur    blockSum // the block whose transactions are being checked
}

// blockSum is what the coinbase of a block is checked against.
type blockSum struct {
	height    int32
	fees      int64
	feesKnown bool
	coinbase  *Tx
}

func (v *verifier) problem(h int32, format string, a ...any) {
	if len(v.r.Problems) < maxProblems {
		v.r.Problems = append(v.r.Problems, Problem{h, fmt.Sprintf(format, a...)})
	}
}

// blocks checks the block records: chain links and transaction ranges. It
// returns the height of each block's first transaction number.
func (v *verifier) blocks(ctx context.Context) (map[TxNum]int32, error) {
	st := v.st
	var next TxNum
	var prevHash [32]byte
	blockOf := map[TxNum]int32{}
	for h := st.StartHeight; h <= st.Height; h++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		b, err := v.s.BlockByHeight(h)
		if err != nil {
			v.problem(h, "block record: %v", err)
			continue
		}
		v.r.Blocks++
		if h > st.StartHeight && [32]byte(b.Header.PrevBlock) != prevHash {
			v.problem(h, "previous hash %s is not block %d's hash", b.Header.PrevBlock, h-1)
		}
		prevHash = b.Hash
		if hh, err := v.s.HeightOf(b.Hash); err != nil || hh != h {
			v.problem(h, "hash index gives %d, %v", hh, err)
		}
		if b.FirstTx != next {
			v.problem(h, "first tx number %d, want %d", b.FirstTx, next)
		}
		blockOf[b.FirstTx] = h
		next = b.FirstTx + TxNum(b.NumTx)
	}
	if next != st.NextTx {
		v.problem(st.Height, "blocks hold %d transactions, state says %d", next, st.NextTx)
	}
	if v.r.Blocks != st.Blocks {
		v.problem(st.Height, "%d blocks, state says %d", v.r.Blocks, st.Blocks)
	}
	return blockOf, nil
}

// txs checks every transaction (tx) and, per block, the coinbase
// (finishBlock); then the input and output counts.
func (v *verifier) txs(ctx context.Context, blockOf map[TxNum]int32) error {
	err := v.s.ForEachTx(0, func(tx *Tx) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		v.r.Txs++
		if h, ok := blockOf[tx.Num]; ok {
			v.finishBlock()
			v.cur = blockSum{height: h, feesKnown: true}
		}
		if tx.Height != v.cur.height {
			v.problem(v.cur.height, "tx %d says height %d", tx.Num, tx.Height)
		}
		v.r.Outputs += int64(len(tx.Outputs))
		v.r.Inputs += int64(len(tx.Inputs))
		if tx.Coinbase {
			v.cur.coinbase = tx
			return nil
		}
		return v.tx(tx)
	})
	if err != nil {
		return err
	}
	v.finishBlock()
	if v.r.Inputs != v.st.Inputs || v.r.Outputs != v.st.Outputs {
		v.problem(v.st.Height, "%d inputs and %d outputs, state says %d and %d", v.r.Inputs, v.r.Outputs, v.st.Inputs, v.st.Outputs)
	}
	return nil
}

// tx checks a transaction that is not a coinbase: every input's funding
// output and spent-by entry, and the fee; it adds the fee to the block's.
func (v *verifier) tx(tx *Tx) error {
	var in, out int64
	known := true
	for vin, input := range tx.Inputs {
		switch input.Kind {
		case InputExternal:
			known = false
			continue
		case InputCoinbase:
			v.problem(tx.Height, "tx %s input %d is a coinbase input outside a coinbase", tx.ID, vin)
			continue
		}
		fund, err := v.s.TxByNum(input.Prev.Tx)
		if err != nil {
			v.problem(tx.Height, "tx %s input %d: funding tx: %v", tx.ID, vin, err)
			continue
		}
		if int(input.Prev.Vout) >= len(fund.Outputs) {
			v.problem(tx.Height, "tx %s input %d spends missing output %d:%d", tx.ID, vin, input.Prev.Tx, input.Prev.Vout)
			continue
		}
		in += fund.Outputs[input.Prev.Vout].Value
		sp, ok, err := v.s.SpentBy(input.Prev)
		switch {
		case err != nil:
			return err
		case !ok:
			v.problem(tx.Height, "output %s:%d spent by %s has no spent-by entry", fund.ID, input.Prev.Vout, tx.ID)
		case sp != (InPoint{tx.Num, uint32(vin)}):
			v.problem(tx.Height, "output %s:%d: spent-by says tx %d input %d, but tx %d input %d spends it", fund.ID, input.Prev.Vout, sp.Tx, sp.Vin, tx.Num, vin)
		}
	}
	for _, o := range tx.Outputs {
		out += o.Value
	}
	if !known {
		v.cur.feesKnown = false
		if tx.FeeKnown {
			v.problem(tx.Height, "tx %s has an external input but a known fee", tx.ID)
		}
		return nil
	}
	if in < out {
		v.problem(tx.Height, "tx %s pays %d from inputs of %d", tx.ID, out, in)
	}
	if !tx.FeeKnown || tx.Fee != in-out {
		v.problem(tx.Height, "tx %s fee field %d (known %v), want %d", tx.ID, tx.Fee, tx.FeeKnown, in-out)
	}
	v.cur.fees += in - out
	return nil
}

// finishBlock checks the coinbase of the block just read: it claims no more
// than subsidy plus fees, and its fee field is what it claims beyond the
// subsidy.
func (v *verifier) finishBlock() {
	cur := &v.cur
	if cur.coinbase == nil {
		return
	}
	var out int64
	for _, o := range cur.coinbase.Outputs {
		out += o.Value
	}
	sub := blockchain.CalcBlockSubsidy(cur.height, v.params)
	if cur.feesKnown && out > sub+cur.fees {
		v.problem(cur.height, "coinbase pays %d, more than subsidy %d + fees %d", out, sub, cur.fees)
	}
	if cur.coinbase.FeeKnown && cur.coinbase.Fee != out-sub {
		v.problem(cur.height, "coinbase fee field %d, want %d", cur.coinbase.Fee, out-sub)
	}
}

// spends checks that every spent-by entry points at an input that spends
// that output.
func (v *verifier) spends() error {
	return v.s.ForEachSpend(func(op OutPoint, in InPoint) error {
		v.r.Spends++
		tx, err := v.s.TxByNum(in.Tx)
		if err != nil {
			v.problem(-1, "spent-by of %d:%d: %v", op.Tx, op.Vout, err)
			return nil
		}
		if int(in.Vin) >= len(tx.Inputs) || tx.Inputs[in.Vin].Kind != InputKnown || tx.Inputs[in.Vin].Prev != op {
			v.problem(tx.Height, "spent-by of %d:%d names tx %s input %d, which spends something else", op.Tx, op.Vout, tx.ID, in.Vin)
		}
		return nil
	})
}
