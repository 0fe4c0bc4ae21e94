package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/tracer-oss/tracer/sanctions/address"
)

// Activity totals what a set of addresses (one address, or an entity's
// members) received and spent in the store's range.
type Activity struct {
	Outputs   int64 // outputs paid to the addresses
	Received  int64 // satoshi paid to them
	Sent      int64 // satoshi of those outputs since spent
	Balance   int64 // satoshi unspent
	FirstSeen int32 // height of the first payment; -1 when never paid
	LastSeen  int32 // height of the last payment or spend; -1 when never paid
}

// activity accumulates an Activity, looking up the height of each spender
// (spending is activity too).
type activity struct {
	s   *Store
	ctx context.Context
	Activity
	txs map[TxNum]bool // with countTxs: every transaction paying or spending
	err error
}

func newActivity(ctx context.Context, s *Store, countTxs bool) *activity {
	a := &activity{s: s, ctx: ctx, Activity: Activity{FirstSeen: -1, LastSeen: -1}}
	if countTxs {
		a.txs = map[TxNum]bool{}
	}
	return a
}

// add counts o; false (with a.err set) stops the walk.
func (a *activity) add(o AddrOutput) bool {
	if a.Outputs%1024 == 0 {
		if a.err = a.ctx.Err(); a.err != nil {
			return false
		}
	}
	a.Outputs++
	a.Received += o.Value
	if a.FirstSeen < 0 || o.Height < a.FirstSeen {
		a.FirstSeen = o.Height
	}
	a.LastSeen = max(a.LastSeen, o.Height)
	if a.txs != nil {
		a.txs[o.Tx] = true
	}
	if !o.Spent {
		a.Balance += o.Value
		return true
	}
	a.Sent += o.Value
	if a.txs != nil {
		a.txs[o.SpentBy.Tx] = true
	}
	sp, err := a.s.spender(o)
	if err != nil {
		a.err = err
		return false
	}
	a.LastSeen = max(a.LastSeen, sp.Height)
	return true
}

// spender reads the transaction that spends o. A spend record naming a
// transaction the store does not hold is damage (ErrCorrupt), not a lookup
// of something absent (ErrNotFound, which callers report as bad input).
func (s *Store) spender(o AddrOutput) (*Tx, error) {
	sp, err := s.TxByNum(o.SpentBy.Tx)
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("%w: the spend record of %s:%d names transaction %d: %v", ErrCorrupt, o.TxID, o.Vout, o.SpentBy.Tx, err)
	}
	if err != nil {
		return nil, fmt.Errorf("store: spender of %s:%d: %w", o.TxID, o.Vout, err)
	}
	return sp, nil
}

// Activity totals the outputs paid to addrs: what they received, sent and
// hold, and the heights they were first and last active at.
func (s *Store) Activity(ctx context.Context, addrs []address.Addr) (Activity, error) {
	a := newActivity(ctx, s, false)
	for _, addr := range addrs {
		if err := s.AddressOutputs(addr, OutPoint{}, a.add); err != nil {
			return Activity{}, err
		}
		if a.err != nil {
			return Activity{}, a.err
		}
	}
	return a.Activity, nil
}

// PagedOutput is an output of an address summary's page, with the txid of
// its spender when spent.
type PagedOutput struct {
	AddrOutput
	SpentByTxID chainhash.Hash
}

// AddressSummary is what the store knows of one address: its activity, the
// number of transactions paying or spending from it, and one page of its
// outputs in chain order.
type AddressSummary struct {
	Activity
	Txs  int
	Page []PagedOutput
	// More is whether outputs follow the page (after its last one).
	More bool
}

// AddressSummary summarises addr and returns the page of at most limit
// outputs after the outpoint after (nil: from the first).
func (s *Store) AddressSummary(ctx context.Context, addr address.Addr, after *OutPoint, limit int) (*AddressSummary, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("store: address summary: page limit %d is not positive", limit)
	}
	a := newActivity(ctx, s, true)
	sum := &AddressSummary{}
	err := s.AddressOutputs(addr, OutPoint{}, func(o AddrOutput) bool {
		if !a.add(o) {
			return false
		}
		inPage := after == nil || o.Tx > after.Tx || (o.Tx == after.Tx && o.Vout > after.Vout)
		switch {
		case inPage && len(sum.Page) < limit:
			po := PagedOutput{AddrOutput: o}
			if o.Spent {
				sp, err := s.spender(o)
				if err != nil {
					a.err = err
					return false
				}
				po.SpentByTxID = sp.ID
			}
			sum.Page = append(sum.Page, po)
		case inPage:
			sum.More = true
		}
		return true
	})
	if err == nil {
		err = a.err
	}
	if err != nil {
		return nil, err
	}
	sum.Activity, sum.Txs = a.Activity, len(a.txs)
	return sum, nil
}

// PrevOutput returns the output a known input spends and the transaction
// that paid it. An input naming an output its transaction does not have is
// damage (ErrCorrupt), never an index out of range.
func (s *Store) PrevOutput(in Input) (*Tx, Output, error) {
	if in.Kind != InputKnown {
		return nil, Output{}, fmt.Errorf("store: prev output of an input that spends no stored output (kind %d)", in.Kind)
	}
	fund, err := s.TxByNum(in.Prev.Tx)
	if err != nil {
		return nil, Output{}, err
	}
	if int(in.Prev.Vout) >= len(fund.Outputs) {
		return nil, Output{}, fmt.Errorf("%w: an input spends output %d of %s, which has %d outputs", ErrCorrupt, in.Prev.Vout, fund.ID, len(fund.Outputs))
	}
	return fund, fund.Outputs[in.Prev.Vout], nil
}
