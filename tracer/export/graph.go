package export

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/btcsuite/btcd/chaincfg"

	"github.com/tracer-oss/tracer/store"
)

// Tx is a row of txs: one transaction of the range.
type Tx struct {
	Txid     string `parquet:"txid"`
	Number   int64  `parquet:"number"` // the store's transaction number: chain order
	Height   int32  `parquet:"height"`
	Position int32  `parquet:"position"` // in its block
	Fee      *int64 `parquet:"fee_sat"`  // null when an input spends from before the store's first block
	VSize    int32  `parquet:"vsize"`
	NIn      int32  `parquet:"n_in"`
	NOut     int32  `parquet:"n_out"`
	Coinbase bool   `parquet:"coinbase"`
}

// TxHeader names the columns of txs.
var TxHeader = []string{"txid", "number", "height", "position", "fee_sat", "vsize", "n_in", "n_out", "coinbase"}

func (t Tx) record() []string {
	return []string{t.Txid, i64(t.Number), i32(t.Height), i32(t.Position), opt64(t.Fee), i32(t.VSize), i32(t.NIn), i32(t.NOut), fmt.Sprint(t.Coinbase)}
}

// Input is a row of inputs. A coinbase input has no previous output; an
// input spending from before the store's first block has its previous
// txid and index but no value or address.
type Input struct {
	Txid     string  `parquet:"txid"`
	Vin      int32   `parquet:"vin"`
	PrevTxid *string `parquet:"prev_txid"`
	PrevVout *int32  `parquet:"prev_vout"`
	Value    *int64  `parquet:"value_sat"`
	Address  *string `parquet:"address"`
}

// InputHeader names the columns of inputs.
var InputHeader = []string{"txid", "vin", "prev_txid", "prev_vout", "value_sat", "address"}

func (in Input) record() []string {
	return []string{in.Txid, i32(in.Vin), str(in.PrevTxid), opt32(in.PrevVout), opt64(in.Value), str(in.Address)}
}

// Output is a row of outputs; spent_by_* are null while unspent at the
// store's tip (spenders after the range's end count).
type Output struct {
	Txid        string  `parquet:"txid"`
	Vout        int32   `parquet:"vout"`
	Value       int64   `parquet:"value_sat"`
	Type        string  `parquet:"type"`    // p2pkh, p2wpkh, p2tr, ..., op_return, nonstandard
	Address     *string `parquet:"address"` // null for op_return
	SpentByTxid *string `parquet:"spent_by_txid"`
	SpentByVin  *int32  `parquet:"spent_by_vin"`
}

// OutputHeader names the columns of outputs.
var OutputHeader = []string{"txid", "vout", "value_sat", "type", "address", "spent_by_txid", "spent_by_vin"}

func (o Output) record() []string {
	return []string{o.Txid, i32(o.Vout), i64(o.Value), o.Type, str(o.Address), str(o.SpentByTxid), opt32(o.SpentByVin)}
}

// GraphSource is what Graph reads; *store.Store implements it.
type GraphSource interface {
	State() store.State
	BlockByHeight(h int32) (*store.Block, error)
	TxByNum(n store.TxNum) (*store.Tx, error)
	ForEachTx(from store.TxNum, fn func(*store.Tx) error) error
	Spenders(n store.TxNum) (map[uint32]store.InPoint, error)
}

// GraphWriters are the three tables' destinations.
type GraphWriters struct {
	Txs, Inputs, Outputs io.Writer
	// Progress, if set, is called every ProgressTxs transactions with the
	// counts so far and the height reached.
	Progress func(GraphStats, int32)
}

// ProgressTxs is how often Graph reports progress.
const ProgressTxs = 20000

// GraphStats count what Graph wrote, for checks against the store.
type GraphStats struct {
	FromHeight, ToHeight int32
	Txs, Inputs, Outputs int64
	OutputValue          int64 // Σ value_sat of outputs
	InputValue           int64 // Σ value_sat of inputs with a known value
	Fees                 int64 // Σ fee_sat of non-coinbase transactions with a known fee
}

var errStop = errors.New("stop")

// Graph streams the transactions of blocks from..to (inclusive) into the
// three tables, in chain order. Memory stays bounded: rows go out in row
// groups of RowGroupRows, and the cache of transactions read for input
// values and spender txids is capped.
func Graph(ctx context.Context, src GraphSource, params *chaincfg.Params, from, to int32, f Format, w GraphWriters) (GraphStats, error) {
	st := GraphStats{FromHeight: from, ToHeight: to}
	s := src.State()
	if s.Empty() || from > to || from < s.StartHeight || to > s.Height {
		return st, fmt.Errorf("%w: %d–%d, the store holds %d–%d", ErrRange, from, to, s.StartHeight, s.Height)
	}
	blk, err := src.BlockByHeight(from)
	if err != nil {
		return st, err
	}
	txs, err := newTable[Tx](w.Txs, f, TxHeader)
	if err != nil {
		return st, err
	}
	ins, err := newTable[Input](w.Inputs, f, InputHeader)
	if err != nil {
		return st, err
	}
	outs, err := newTable[Output](w.Outputs, f, OutputHeader)
	if err != nil {
		return st, err
	}
	c := &txCache{src: src, m: map[store.TxNum]*store.Tx{}}
	err = src.ForEachTx(blk.FirstTx, func(tx *store.Tx) error {
		if tx.Height > to {
			return errStop
		}
		if st.Txs%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
			if w.Progress != nil && st.Txs%ProgressTxs == 0 && st.Txs > 0 {
				w.Progress(st, tx.Height)
			}
		}
		c.put(tx)
		id := tx.ID.String()
		row := Tx{Txid: id, Number: int64(tx.Num), Height: tx.Height, Position: int32(tx.Pos), VSize: int32(tx.VSize),
			NIn: int32(len(tx.Inputs)), NOut: int32(len(tx.Outputs)), Coinbase: tx.Coinbase}
		if tx.FeeKnown {
			fee := tx.Fee
			row.Fee = &fee
			if !tx.Coinbase {
				st.Fees += fee
			}
		}
		if err := txs.add(row); err != nil {
			return err
		}
		st.Txs++
		for i, in := range tx.Inputs {
			r := Input{Txid: id, Vin: int32(i)}
			switch in.Kind {
			case store.InputKnown:
				prev, err := c.get(in.Prev.Tx)
				if err != nil {
					return fmt.Errorf("export: input %s:%d: %w", id, i, err)
				}
				if int(in.Prev.Vout) >= len(prev.Outputs) {
					return fmt.Errorf("export: input %s:%d spends %s:%d past its outputs", id, i, prev.ID, in.Prev.Vout)
				}
				o := prev.Outputs[in.Prev.Vout]
				pid, vout, v := prev.ID.String(), int32(in.Prev.Vout), o.Value
				r.PrevTxid, r.PrevVout, r.Value = &pid, &vout, &v
				if o.Addr.Kind.HasAddress() {
					a := o.Addr.String(params)
					r.Address = &a
				}
				st.InputValue += v
			case store.InputExternal:
				pid, vout := in.Ext.Hash.String(), int32(in.Ext.Index)
				r.PrevTxid, r.PrevVout = &pid, &vout
			}
			if err := ins.add(r); err != nil {
				return err
			}
			st.Inputs++
		}
		spent, err := src.Spenders(tx.Num)
		if err != nil {
			return err
		}
		for i, o := range tx.Outputs {
			r := Output{Txid: id, Vout: int32(i), Value: o.Value, Type: o.Addr.Kind.String()}
			if o.Addr.Kind.HasAddress() {
				a := o.Addr.String(params)
				r.Address = &a
			}
			if in, ok := spent[uint32(i)]; ok {
				sp, err := c.get(in.Tx)
				if err != nil {
					return fmt.Errorf("export: spender of %s:%d: %w", id, i, err)
				}
				sid, vin := sp.ID.String(), int32(in.Vin)
				r.SpentByTxid, r.SpentByVin = &sid, &vin
			}
			if err := outs.add(r); err != nil {
				return err
			}
			st.Outputs++
			st.OutputValue += o.Value
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return st, err
	}
	for _, t := range []interface{ close() error }{txs, ins, outs} {
		if err := t.close(); err != nil {
			return st, err
		}
	}
	return st, nil
}

// txCache keeps recently read transactions: inputs mostly spend recent
// outputs, and spenders cluster. It is cleared when full.
type txCache struct {
	src GraphSource
	m   map[store.TxNum]*store.Tx
}

const txCacheMax = 1 << 15

func (c *txCache) put(tx *store.Tx) {
	if len(c.m) >= txCacheMax {
		clear(c.m)
	}
	c.m[tx.Num] = tx
}

func (c *txCache) get(n store.TxNum) (*store.Tx, error) {
	if tx, ok := c.m[n]; ok {
		return tx, nil
	}
	tx, err := c.src.TxByNum(n)
	if err != nil {
		return nil, err
	}
	c.put(tx)
	return tx, nil
}
