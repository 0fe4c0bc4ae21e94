package flow

import (
	"context"
	"errors"
	"fmt"

	"github.com/tracer-oss/tracer/store"
)

// VerifyResult counts what Verify compared and lists the first
// differences found (at most 100; Mismatches counts them all).
type VerifyResult struct {
	Txs        int64    `json:"txs"`
	Inputs     int64    `json:"inputs"`
	Outputs    int64    `json:"outputs"`
	Spends     int64    `json:"spends"`
	Mismatches int64    `json:"mismatches"`
	Problems   []string `json:"problems"`
}

// Verify compares the index with the store it was built from, record by
// record: every transaction's txid, height, fee, inputs and outputs (value
// and address key), and every spent-by entry of the store against the
// spender the index holds — and no spender in the index that the store
// lacks. x must cover st (Open brings it up to date).
func Verify(ctx context.Context, st *store.Store, x *Index) (VerifyResult, error) {
	v := &verifier{x: x}
	if next := st.State().NextTx; next != x.Txs() {
		return v.r, fmt.Errorf("%w: the index covers %d transactions, the store %d", ErrStale, x.Txs(), next)
	}
	err := st.ForEachTx(0, func(tx *store.Tx) error {
		if v.r.Txs%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		v.tx(tx)
		return nil
	})
	if err != nil {
		return v.r, err
	}
	err = st.ForEachSpend(func(op store.OutPoint, in store.InPoint) error {
		if v.r.Spends%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		v.spend(op, in)
		return nil
	})
	if err != nil {
		return v.r, err
	}
	// Every spend the store has was found above; a spent output beyond
	// them is one the index invented.
	var spent int64
	for i := uint64(0); i < x.hdr.Outs; i++ {
		if x.Out(i).Spent {
			spent++
		}
	}
	if spent != v.r.Spends {
		v.problem("the index holds %d spent outputs, the store %d spent-by entries", spent, v.r.Spends)
	}
	return v.r, nil
}

// verifier compares one index with its store, collecting the result.
type verifier struct {
	x *Index
	r VerifyResult
}

// problem counts a difference and keeps the first 100.
func (v *verifier) problem(format string, a ...any) {
	if v.r.Mismatches++; len(v.r.Problems) < 100 {
		v.r.Problems = append(v.r.Problems, fmt.Sprintf(format, a...))
	}
}

// tx compares one transaction: txid, height, fee, inputs and outputs.
func (v *verifier) tx(tx *store.Tx) {
	x := v.x
	v.r.Txs++
	n := tx.Num
	if x.TxID(n) != tx.ID || x.Height(n) != tx.Height {
		v.problem("tx %d: index has %s at height %d, the store %s at %d", n, x.TxID(n), x.Height(n), tx.ID, tx.Height)
	}
	// The index holds 32 bits; beyond them it adds up the values, which
	// it cannot for a coinbase.
	known := tx.FeeKnown && (!tx.Coinbase || tx.Fee <= maxFee && tx.Fee >= -maxFee)
	if fee, ok := x.Fee(n); ok != known || ok && fee != tx.Fee {
		v.problem("tx %s: index fee %d (known %v), the store %d (known %v)", tx.ID, fee, ok, tx.Fee, tx.FeeKnown)
	}
	v.inputs(tx)
	v.r.Inputs += int64(len(tx.Inputs))
	v.outputs(tx)
	v.r.Outputs += int64(len(tx.Outputs))
}

// inputs compares tx's inputs: their count, kind and, when known, the
// output each spends.
func (v *verifier) inputs(tx *store.Tx) {
	first, end, err := v.x.Inputs(tx.Num)
	switch {
	case err != nil:
		v.problem("tx %s: %v", tx.ID, err)
	case int(end-first) != len(tx.Inputs):
		v.problem("tx %s: %d inputs in the index, %d in the store", tx.ID, end-first, len(tx.Inputs))
	default:
		for i, in := range tx.Inputs {
			got := v.x.In(first + uint64(i))
			if got.Kind != in.Kind || in.Kind == store.InputKnown && got.Prev != in.Prev {
				v.problem("tx %s input %d: index %+v, the store %+v", tx.ID, i, got, in)
			}
		}
	}
}

// outputs compares tx's outputs: their count, values and address keys.
func (v *verifier) outputs(tx *store.Tx) {
	first, end, err := v.x.Outputs(tx.Num)
	switch {
	case err != nil:
		v.problem("tx %s: %v", tx.ID, err)
	case int(end-first) != len(tx.Outputs):
		v.problem("tx %s: %d outputs in the index, %d in the store", tx.ID, end-first, len(tx.Outputs))
	default:
		for j, o := range tx.Outputs {
			got := v.x.Out(first + uint64(j))
			if got.Value != o.Value || got.Key != KeyOf(o.Addr.Key()) {
				v.problem("tx %s output %d: index value %d key %x, the store %d key %x", tx.ID, j, got.Value, got.Key, o.Value, KeyOf(o.Addr.Key()))
			}
		}
	}
}

// spend compares one spent-by entry of the store with the index's spender.
func (v *verifier) spend(op store.OutPoint, in store.InPoint) {
	v.r.Spends++
	i, err := v.x.OutIndex(op)
	if err != nil {
		v.problem("output %d:%d: %v", op.Tx, op.Vout, err)
		return
	}
	if o := v.x.Out(i); !o.Spent || o.By != in {
		v.problem("output %d:%d: the store has it spent by %d:%d, the index by %+v (spent %v)", op.Tx, op.Vout, in.Tx, in.Vin, o.By, o.Spent)
	}
}

// VerifyIfCurrent runs Verify when the index of st exists and is current
// (it opens it without updating it). Otherwise it returns no result and a
// note saying why the index was not checked.
func VerifyIfCurrent(ctx context.Context, st *store.Store) (*VerifyResult, string, error) {
	fs, cur, err := Describe(st)
	switch {
	case err != nil:
		return nil, "", err
	case fs.Txs == 0:
		return nil, "trace index: none", nil
	case !cur:
		return nil, "trace index: behind the store, not checked (the next forward trace updates it)", nil
	}
	x, err := Open(ctx, st, Options{NoUpdate: true})
	if err != nil {
		return nil, "", err
	}
	v, err := Verify(ctx, st, x)
	if err := errors.Join(err, x.Close()); err != nil {
		return nil, "", err
	}
	return &v, "", nil
}
