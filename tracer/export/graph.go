package export

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/tracer-oss/tracer/sanctions/address"
	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/flow"
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

// GraphSource is what Graph reads; *store.Store implements it. Graph
// scans the transaction records in chain order and reads a transaction by
// number only for an input spending an output older than its window.
type GraphSource interface {
	State() store.State
	BlockByHeight(h int32) (*store.Block, error)
	TxByNum(n store.TxNum) (*store.Tx, error)
	ForEachTx(from store.TxNum, fn func(*store.Tx) error) error
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
	// StoreReads counts the transactions read by number: for inputs
	// spending outputs older than the window of the last WindowOutputs
	// outputs (or before from).
	StoreReads int64
}

// WindowOutputs is how many of the latest outputs Graph keeps the address
// of, for the inputs spending them (most spend recent outputs); an older
// one costs a store read. With RowGroupRows it bounds Graph's memory.
const WindowOutputs = 1 << 20

// windowTxs is how many of the latest transactions Graph keeps the txid
// string of, for the inputs spending them.
const windowTxs = 1 << 18

var errStop = errors.New("stop")

// CheckRange reports (ErrRange) whether blocks from..to are not a range
// of the store's, before any work is done.
func CheckRange(s store.State, from, to int32) error {
	if s.Empty() || from > to || from < s.StartHeight || to > s.Height {
		return fmt.Errorf("%w: %d–%d, the store holds %d–%d", ErrRange, from, to, s.StartHeight, s.Height)
	}
	return nil
}

// Graph streams the transactions of blocks from..to (inclusive) into the
// three tables, in chain order. It reads the transaction records in one
// sequential scan, and spenders and the txids and values of spent outputs
// from x, the store's flow index (flow.Open), which must cover the range.
// Memory stays bounded: rows go out in row groups of RowGroupRows, and
// the window of recent addresses (WindowOutputs) is fixed.
func Graph(ctx context.Context, src GraphSource, x *flow.Index, params *chaincfg.Params, from, to int32, f Format, w GraphWriters) (GraphStats, error) {
	return graph(ctx, src, x, params, from, to, f, w, windowTxs, WindowOutputs)
}

// graph is Graph with windows of wTxs transactions and wOuts outputs (the
// tests make them small).
func graph(ctx context.Context, src GraphSource, x *flow.Index, params *chaincfg.Params, from, to int32, f Format, w GraphWriters,
	wTxs, wOuts uint64) (GraphStats, error) {
	st := GraphStats{FromHeight: from, ToHeight: to}
	if err := CheckRange(src.State(), from, to); err != nil {
		return st, err
	}
	if err := indexCovers(src, x, to); err != nil {
		return st, err
	}
	blk, err := src.BlockByHeight(from)
	if err != nil {
		return st, err
	}
	txs, ins, outs, err := newTables(w, f)
	if err != nil {
		return st, err
	}
	g := &graphWriter{src: src, x: x, params: params, st: &st, txs: txs, ins: ins, outs: outs,
		firstTx: blk.FirstTx, txids: make([]*string, wTxs), addrs: make([]*string, wOuts)}
	if g.firstOut, _, err = x.Outputs(blk.FirstTx); err != nil {
		return st, fmt.Errorf("%w: %w", ErrIndex, err)
	}
	g.next = g.firstOut
	err = src.ForEachTx(blk.FirstTx, func(tx *store.Tx) error {
		if tx.Height > to {
			return errStop
		}
		if st.Txs%1024 == 0 {
			if err := checkIn(ctx, w.Progress, st, tx.Height); err != nil {
				return err
			}
		}
		return g.tx(tx)
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

// checkIn checks ctx and reports progress every ProgressTxs transactions
// (graph calls it every 1,024).
func checkIn(ctx context.Context, progress func(GraphStats, int32), st GraphStats, height int32) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if progress != nil && st.Txs%ProgressTxs == 0 && st.Txs > 0 {
		progress(st, height)
	}
	return nil
}

// indexCovers checks that the flow index reaches the end of block to.
func indexCovers(src GraphSource, x *flow.Index, to int32) error {
	last, err := src.BlockByHeight(to)
	if err != nil {
		return err
	}
	if end := last.FirstTx + store.TxNum(last.NumTx); x == nil || x.Txs() < end {
		var have store.TxNum
		if x != nil {
			have = x.Txs()
		}
		return fmt.Errorf("%w: it covers %d transactions, the range ends at %d", ErrIndex, have, end)
	}
	return nil
}

// newTables starts the three tables in format f.
func newTables(w GraphWriters, f Format) (*table[Tx], *table[Input], *table[Output], error) {
	txs, err := newTable[Tx](w.Txs, f, TxHeader)
	if err != nil {
		return nil, nil, nil, err
	}
	ins, err := newTable[Input](w.Inputs, f, InputHeader)
	if err != nil {
		return nil, nil, nil, err
	}
	outs, err := newTable[Output](w.Outputs, f, OutputHeader)
	if err != nil {
		return nil, nil, nil, err
	}
	return txs, ins, outs, nil
}

// graphWriter turns transactions into rows. It keeps the txid strings of
// the latest transactions and the address strings of the latest outputs
// (by the flow index's output number) in two rings, so the inputs
// spending them reuse the strings their rows were given.
type graphWriter struct {
	src            GraphSource
	x              *flow.Index
	params         *chaincfg.Params
	st             *GraphStats
	txs            *table[Tx]
	ins            *table[Input]
	outs           *table[Output]
	firstTx        store.TxNum // of the range: older txids are not in txids
	cur            store.TxNum // the transaction being written
	firstOut, next uint64      // output numbers: of the range's first, of the next to write
	txids, addrs   []*string   // rings by TxNum and by output number
	i32s           slab[int32]
	i64s           slab[int64]
	missed         *store.Tx // the last transaction read for a spent output
	hexBuf         [64]byte
	addrBuf        []byte
}

func (g *graphWriter) tx(tx *store.Tx) error {
	if id := g.x.TxID(tx.Num); id != tx.ID {
		return fmt.Errorf("%w: transaction %d is %s in the index, %s in the store", ErrIndex, tx.Num, id, tx.ID)
	}
	first, end, err := g.x.Outputs(tx.Num)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrIndex, err)
	}
	if end-first != uint64(len(tx.Outputs)) || first != g.next {
		return fmt.Errorf("%w: transaction %d has %d outputs in the index at %d, %d in the store", ErrIndex, tx.Num, end-first, first, len(tx.Outputs))
	}
	g.cur = tx.Num
	id := g.txid(tx.ID)
	g.txids[uint64(tx.Num)%uint64(len(g.txids))] = id
	row := Tx{Txid: *id, Number: int64(tx.Num), Height: tx.Height, Position: int32(tx.Pos), VSize: int32(tx.VSize),
		NIn: int32(len(tx.Inputs)), NOut: int32(len(tx.Outputs)), Coinbase: tx.Coinbase}
	if tx.FeeKnown {
		row.Fee = g.i64s.ptr(tx.Fee)
		if !tx.Coinbase {
			g.st.Fees += tx.Fee
		}
	}
	if err := g.txs.add(row); err != nil {
		return err
	}
	g.st.Txs++
	if err := g.inputs(tx, id); err != nil {
		return err
	}
	if err := g.outputs(tx, id, first); err != nil {
		return err
	}
	g.next = end
	return nil
}

// inputs writes tx's input rows, each with the output it spends.
func (g *graphWriter) inputs(tx *store.Tx, id *string) error {
	for i, in := range tx.Inputs {
		r := Input{Txid: *id, Vin: int32(i)}
		switch in.Kind {
		case store.InputKnown:
			if err := g.spent(&r, in.Prev); err != nil {
				return fmt.Errorf("export: input %s:%d: %w", *id, i, err)
			}
		case store.InputExternal:
			pid := in.Ext.Hash.String()
			r.PrevTxid, r.PrevVout = &pid, g.i32s.ptr(int32(in.Ext.Index))
		}
		if err := g.ins.add(r); err != nil {
			return err
		}
		g.st.Inputs++
	}
	return nil
}

// outputs writes tx's output rows (the index numbers them from first),
// each with its spender, and rings their address strings.
func (g *graphWriter) outputs(tx *store.Tx, id *string, first uint64) error {
	for i, o := range tx.Outputs {
		r := Output{Txid: *id, Vout: int32(i), Value: o.Value, Type: o.Addr.Kind.String()}
		if o.Addr.Kind.HasAddress() {
			r.Address = g.addr(&o.Addr)
		}
		g.addrs[(first+uint64(i))%uint64(len(g.addrs))] = r.Address
		if out := g.x.Out(first + uint64(i)); out.Spent {
			r.SpentByTxid, r.SpentByVin = g.txid(g.x.TxID(out.By.Tx)), g.i32s.ptr(int32(out.By.Vin))
		}
		if err := g.outs.add(r); err != nil {
			return err
		}
		g.st.Outputs++
		g.st.OutputValue += o.Value
	}
	return nil
}

// spent fills an input's columns from the output it spends.
func (g *graphWriter) spent(r *Input, prev store.OutPoint) error {
	oi, err := g.x.OutIndex(prev)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrIndex, err)
	}
	out := g.x.Out(oi)
	r.PrevVout, r.Value = g.i32s.ptr(int32(prev.Vout)), g.i64s.ptr(out.Value)
	g.st.InputValue += out.Value
	if wTxs := uint64(len(g.txids)); prev.Tx >= g.firstTx && prev.Tx < g.cur && uint64(prev.Tx)+wTxs > uint64(g.cur) {
		r.PrevTxid = g.txids[uint64(prev.Tx)%wTxs]
	} else {
		r.PrevTxid = g.txid(g.x.TxID(prev.Tx))
	}
	// The window holds outputs next-len(addrs)..next-1 of the range.
	if wOuts := uint64(len(g.addrs)); oi >= g.firstOut && oi < g.next && oi+wOuts >= g.next {
		r.Address = g.addrs[oi%wOuts]
		return nil
	}
	// Older than the window: read its transaction.
	if g.missed == nil || g.missed.Num != prev.Tx {
		tx, err := g.src.TxByNum(prev.Tx)
		if err != nil {
			return err
		}
		g.missed = tx
		g.st.StoreReads++
	}
	if int(prev.Vout) >= len(g.missed.Outputs) {
		return fmt.Errorf("spends %s:%d past its outputs", g.missed.ID, prev.Vout)
	}
	if a := &g.missed.Outputs[prev.Vout].Addr; a.Kind.HasAddress() {
		r.Address = g.addr(a)
	}
	return nil
}

// txid renders a txid as its usual hex string (byte-reversed), in one
// allocation.
func (g *graphWriter) txid(h chainhash.Hash) *string {
	const digits = "0123456789abcdef"
	for i, b := range h {
		j := 2 * (len(h) - 1 - i)
		g.hexBuf[j], g.hexBuf[j+1] = digits[b>>4], digits[b&15]
	}
	s := string(g.hexBuf[:])
	return &s
}

func (g *graphWriter) addr(a *address.Addr) *string {
	g.addrBuf = a.Append(g.addrBuf[:0], g.params)
	s := string(g.addrBuf)
	return &s
}

// slab hands out pointers to values for the rows' nullable columns, from
// chunks allocated together (the Parquet writer copies the values).
type slab[T any] struct{ s []T }

func (s *slab[T]) ptr(v T) *T {
	if len(s.s) == cap(s.s) {
		s.s = make([]T, 0, 4096)
	}
	s.s = append(s.s, v)
	return &s.s[len(s.s)-1]
}
