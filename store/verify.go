package store

import (
	"context"
	"fmt"

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
	Blocks   int64     `json:"blocks"`
	Txs      int64     `json:"txs"`
	Inputs   int64     `json:"inputs"`
	Outputs  int64     `json:"outputs"`
	Spends   int64     `json:"spends"`
	Problems []Problem `json:"problems"`
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
	var r VerifyResult
	st := s.state
	problem := func(h int32, format string, a ...any) {
		if len(r.Problems) < maxProblems {
			r.Problems = append(r.Problems, Problem{h, fmt.Sprintf(format, a...)})
		}
	}
	if st.Empty() {
		return r, nil
	}
	// Blocks: chain links and tx ranges.
	var next TxNum
	var prevHash [32]byte
	blockOf := map[TxNum]int32{}
	firsts := make([]TxNum, 0, st.Height-st.StartHeight+1)
	for h := st.StartHeight; h <= st.Height; h++ {
		if err := ctx.Err(); err != nil {
			return r, err
		}
		b, err := s.BlockByHeight(h)
		if err != nil {
			problem(h, "block record: %v", err)
			continue
		}
		r.Blocks++
		if h > st.StartHeight && [32]byte(b.Header.PrevBlock) != prevHash {
			problem(h, "previous hash %s is not block %d's hash", b.Header.PrevBlock, h-1)
		}
		prevHash = b.Hash
		if hh, err := s.HeightOf(b.Hash); err != nil || hh != h {
			problem(h, "hash index gives %d, %v", hh, err)
		}
		if b.FirstTx != next {
			problem(h, "first tx number %d, want %d", b.FirstTx, next)
		}
		firsts = append(firsts, b.FirstTx)
		blockOf[b.FirstTx] = h
		next = b.FirstTx + TxNum(b.NumTx)
	}
	if next != st.NextTx {
		problem(st.Height, "blocks hold %d transactions, state says %d", next, st.NextTx)
	}
	if r.Blocks != st.Blocks {
		problem(st.Height, "%d blocks, state says %d", r.Blocks, st.Blocks)
	}
	// Transactions: values, fees, and every input's spent-by entry.
	type blockSum struct {
		height    int32
		fees      int64
		feesKnown bool
		coinbase  *Tx
	}
	var cur blockSum
	finish := func() {
		if cur.coinbase == nil {
			return
		}
		var out int64
		for _, o := range cur.coinbase.Outputs {
			out += o.Value
		}
		sub := blockchain.CalcBlockSubsidy(cur.height, params)
		if cur.feesKnown && out > sub+cur.fees {
			problem(cur.height, "coinbase pays %d, more than subsidy %d + fees %d", out, sub, cur.fees)
		}
		if cur.coinbase.FeeKnown && cur.coinbase.Fee != out-sub {
			problem(cur.height, "coinbase fee field %d, want %d", cur.coinbase.Fee, out-sub)
		}
	}
	err := s.ForEachTx(0, func(tx *Tx) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		r.Txs++
		if h, ok := blockOf[tx.Num]; ok {
			finish()
			cur = blockSum{height: h, feesKnown: true}
		}
		if tx.Height != cur.height {
			problem(cur.height, "tx %d says height %d", tx.Num, tx.Height)
		}
		r.Outputs += int64(len(tx.Outputs))
		r.Inputs += int64(len(tx.Inputs))
		if tx.Coinbase {
			cur.coinbase = tx
			return nil
		}
		var in, out int64
		known := true
		for vin, input := range tx.Inputs {
			switch input.Kind {
			case InputExternal:
				known = false
				continue
			case InputCoinbase:
				problem(tx.Height, "tx %s input %d is a coinbase input outside a coinbase", tx.ID, vin)
				continue
			}
			fund, err := s.TxByNum(input.Prev.Tx)
			if err != nil {
				problem(tx.Height, "tx %s input %d: funding tx: %v", tx.ID, vin, err)
				continue
			}
			if int(input.Prev.Vout) >= len(fund.Outputs) {
				problem(tx.Height, "tx %s input %d spends missing output %d:%d", tx.ID, vin, input.Prev.Tx, input.Prev.Vout)
				continue
			}
			in += fund.Outputs[input.Prev.Vout].Value
			sp, ok, err := s.SpentBy(input.Prev)
			switch {
			case err != nil:
				return err
			case !ok:
				problem(tx.Height, "output %s:%d spent by %s has no spent-by entry", fund.ID, input.Prev.Vout, tx.ID)
			case sp != (InPoint{tx.Num, uint32(vin)}):
				problem(tx.Height, "output %s:%d: spent-by says tx %d input %d, but tx %d input %d spends it", fund.ID, input.Prev.Vout, sp.Tx, sp.Vin, tx.Num, vin)
			}
		}
		for _, o := range tx.Outputs {
			out += o.Value
		}
		if !known {
			cur.feesKnown = false
			if tx.FeeKnown {
				problem(tx.Height, "tx %s has an external input but a known fee", tx.ID)
			}
			return nil
		}
		if in < out {
			problem(tx.Height, "tx %s pays %d from inputs of %d", tx.ID, out, in)
		}
		if !tx.FeeKnown || tx.Fee != in-out {
			problem(tx.Height, "tx %s fee field %d (known %v), want %d", tx.ID, tx.Fee, tx.FeeKnown, in-out)
		}
		cur.fees += in - out
		return nil
	})
	if err != nil {
		return r, err
	}
	finish()
	if r.Inputs != st.Inputs || r.Outputs != st.Outputs {
		problem(st.Height, "%d inputs and %d outputs, state says %d and %d", r.Inputs, r.Outputs, st.Inputs, st.Outputs)
	}
	// Every spent-by entry must point at an input that spends that output.
	err = s.ForEachSpend(func(op OutPoint, in InPoint) error {
		r.Spends++
		tx, err := s.TxByNum(in.Tx)
		if err != nil {
			problem(-1, "spent-by of %d:%d: %v", op.Tx, op.Vout, err)
			return nil
		}
		if int(in.Vin) >= len(tx.Inputs) || tx.Inputs[in.Vin].Kind != InputKnown || tx.Inputs[in.Vin].Prev != op {
			problem(tx.Height, "spent-by of %d:%d names tx %s input %d, which spends something else", op.Tx, op.Vout, tx.ID, in.Vin)
		}
		return nil
	})
	if err != nil {
		return r, err
	}
	_ = firsts
	return r, nil
}
