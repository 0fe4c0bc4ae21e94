package alert

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/btcsuite/btcd/chaincfg"

	"github.com/tracer-oss/tracer/sanctions"
	"github.com/tracer-oss/tracer/sanctions/address"
	"github.com/tracer-oss/tracer/store"
)

// Message is what a sink receives: one JSON object per alert or retraction.
type Message struct {
	ID       string `json:"id"`                 // "a<seq>" for an alert, "r<seq>" for a retraction
	Kind     string `json:"kind"`               // "alert" or "retract"
	Retracts string `json:"retracts,omitempty"` // the ID of the alert a retraction withdraws
	// Event names what happened (block, txid, direction, address): the same
	// event raised again after a chain switch back keeps it.
	Event          string    `json:"event"`
	TxID           string    `json:"txid"`
	Height         int32     `json:"height"`
	Block          string    `json:"block"`
	Time           time.Time `json:"time"` // block header time
	Direction      string    `json:"direction"`
	Address        string    `json:"address"`
	Watches        []string  `json:"watches"` // why the address is watched: "address", "entity:NAME", "sanctions"
	AmountSat      int64     `json:"amount_sat"`
	Counterparties []Party   `json:"counterparties"`
	// ReachedTag: an "out" alert paid an address that carries a tag (an
	// exchange, a service): the funds reached a labelled entity.
	ReachedTag bool     `json:"reached_tag"`
	Tags       []string `json:"tags,omitempty"` // labels of the tagged counterparties
}

// Party is the other side of an alerting transaction: the payees of an
// "out" alert, the funding addresses of an "in" alert.
type Party struct {
	Address   string   `json:"address"` // "coinbase" for new coins, "unknown" before the store's range
	AmountSat int64    `json:"amount_sat"`
	Tags      []string `json:"tags,omitempty"`
}

// Directions.
const (
	In  = "in"  // the transaction pays into a watched address
	Out = "out" // the transaction spends from a watched address
)

type watched struct {
	addr    address.Addr
	str     string
	reasons []string
	from    int32
}

type liveOut struct {
	w     *watched
	value int64
}

// Alerter is an ingest.Observer that queues alerts for watched addresses.
// Only the ingest writer calls it.
//
// A change of the watch list (a watch added or removed, by tracer watch or
// an admin route of serve --rpc) or of the sanctions list in force (which
// "sanctions" and entity watches resolve to) takes effect from the next
// block the Alerter sees after a commit: it checks the store's watch
// generation and list version there and reloads when either changed.
type Alerter struct {
	st      *store.Store
	params  *chaincfg.Params
	watched map[address.Addr]*watched // keyed by class-normalised address
	live    map[store.OutPoint]liveOut
	pending map[store.TxNum][]store.Output // transactions not yet committed

	watchGen    uint64 // the store's watch generation and list version the
	listVersion uint32 // watched addresses were resolved from
	uncommitted bool   // Tx was called since the last commit or Reset
}

// New resolves the store's watch list into an Alerter.
func New(st *store.Store, params *chaincfg.Params) (*Alerter, error) {
	a := &Alerter{st: st, params: params}
	return a, a.Reset()
}

// Addresses is the number of watched addresses.
func (a *Alerter) Addresses() int { return len(a.watched) }

func key(ad address.Addr) address.Addr {
	ad.Kind = ad.Kind.Class()
	return ad
}

// Resolve returns the addresses a watch stands for, each with its reason.
func Resolve(st *store.Store, params *chaincfg.Params, w store.Watch) (map[string]string, error) {
	out := map[string]string{}
	switch w.Kind {
	case store.WatchAddress:
		if _, err := address.Parse(w.Value, params); err != nil {
			return nil, fmt.Errorf("alert: watch address %q: %w", w.Value, err)
		}
		out[w.Value] = "address"
		return out, nil
	case store.WatchEntity, store.WatchSanctions:
		v, err := st.Lists().Current()
		if err != nil || v == 0 {
			return nil, ErrNoList
		}
		list, err := st.Lists().List(v)
		if err != nil {
			return nil, err
		}
		for _, e := range list.Entries {
			if e.Asset != "XBT" {
				continue
			}
			if w.Kind == store.WatchEntity && !sanctions.MatchesName(e, w.Value) {
				continue
			}
			if _, err := address.Parse(e.Address, params); err != nil {
				continue // another network's address
			}
			if w.Kind == store.WatchEntity {
				out[e.Address] = "entity:" + e.PrimaryName
			} else {
				out[e.Address] = "sanctions"
			}
		}
		if w.Kind == store.WatchEntity && len(out) == 0 {
			return nil, fmt.Errorf("%w: %q", ErrUnknownEntity, w.Value)
		}
		return out, nil
	}
	return nil, fmt.Errorf("alert: unknown watch kind %q", w.Kind)
}

// Reset reloads the watch list and the unspent outputs of the watched
// addresses from the committed store (after an undo or a cancelled batch).
func (a *Alerter) Reset() error {
	a.watched = map[address.Addr]*watched{}
	a.live = map[store.OutPoint]liveOut{}
	a.pending = map[store.TxNum][]store.Output{}
	a.uncommitted = false
	// The generations first: a change after them is seen at the next
	// check, even if the list read below has it already.
	var err error
	if a.watchGen, a.listVersion, err = a.generations(); err != nil {
		return err
	}
	watches, err := a.st.WatchList().All()
	if err != nil {
		return err
	}
	for _, w := range watches {
		addrs, err := Resolve(a.st, a.params, w)
		if err != nil {
			return err
		}
		for s, reason := range addrs {
			ad, _ := address.Parse(s, a.params)
			k := key(ad)
			x := a.watched[k]
			if x == nil {
				x = &watched{addr: ad, str: ad.String(a.params), from: w.FromHeight}
				a.watched[k] = x
			}
			x.from = min(x.from, w.FromHeight)
			if !slices.Contains(x.reasons, reason) {
				x.reasons = append(x.reasons, reason)
			}
		}
	}
	for _, x := range a.watched {
		slices.Sort(x.reasons)
		err := a.st.AddressOutputs(x.addr, store.OutPoint{}, func(o store.AddrOutput) bool {
			if !o.Spent {
				a.live[o.OutPoint] = liveOut{x, o.Value}
			}
			return true
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// generations are the store's watch generation and list version in force.
func (a *Alerter) generations() (uint64, uint32, error) {
	gen, err := a.st.WatchList().Gen()
	if err != nil {
		return 0, 0, err
	}
	v, err := a.st.Lists().Current()
	if errors.Is(err, store.ErrNotFound) {
		v, err = 0, nil
	}
	return gen, v, err
}

// Committed forgets the outputs of committed transactions: the store has them.
func (a *Alerter) Committed() {
	clear(a.pending)
	a.uncommitted = false
}

// refresh reloads the watch list when the store's watch generation or list
// version changed since it was resolved. Only between commits: Reset reads
// the watched addresses' outputs from the committed store.
func (a *Alerter) refresh() error {
	gen, v, err := a.generations()
	if err != nil || gen == a.watchGen && v == a.listVersion {
		return err
	}
	return a.Reset()
}

// Tx queues the alerts tx raises into b.
func (a *Alerter) Tx(b *store.Batch, blk *store.Block, tx *store.Tx) error {
	if !a.uncommitted {
		// The first transaction after a commit: a changed watch list
		// takes effect from this block.
		if err := a.refresh(); err != nil {
			return fmt.Errorf("alert: reload the watch list: %w", err)
		}
		a.uncommitted = true
	}
	if len(a.watched) == 0 {
		return nil
	}
	a.pending[tx.Num] = tx.Outputs
	outs, ins := a.flows(tx)
	for _, f := range outs {
		if blk.Height > f.w.from {
			if err := a.queue(b, blk, tx, Out, f.w, f.sum); err != nil {
				return err
			}
		}
	}
	for _, f := range ins {
		if blk.Height > f.w.from {
			if err := a.queue(b, blk, tx, In, f.w, f.sum); err != nil {
				return err
			}
		}
	}
	return nil
}

// watchedFlow is what one transaction moves from (Out) or to (In) one
// watched address.
type watchedFlow struct {
	w   *watched
	sum int64
}

// addFlow adds v to w's flow in fs, a new one if w has none yet.
func addFlow(fs []*watchedFlow, w *watched, v int64) []*watchedFlow {
	for _, f := range fs {
		if f.w == w {
			f.sum += v
			return fs
		}
	}
	return append(fs, &watchedFlow{w: w, sum: v})
}

// flows sums, per watched address in order of first appearance, what tx
// takes from it (its inputs spending live watched outputs, which stop
// being live) and what tx pays it (its outputs, which become live).
func (a *Alerter) flows(tx *store.Tx) (outs, ins []*watchedFlow) {
	for _, in := range tx.Inputs {
		if in.Kind != store.InputKnown {
			continue
		}
		lo, ok := a.live[in.Prev]
		if !ok {
			continue
		}
		delete(a.live, in.Prev)
		outs = addFlow(outs, lo.w, lo.value)
	}
	for i, o := range tx.Outputs {
		x, ok := a.watched[key(o.Addr)]
		if !ok || !o.Addr.Kind.HasAddress() {
			continue
		}
		a.live[store.OutPoint{Tx: tx.Num, Vout: uint32(i)}] = liveOut{x, o.Value}
		ins = addFlow(ins, x, o.Value)
	}
	return outs, ins
}

func (a *Alerter) queue(b *store.Batch, blk *store.Block, tx *store.Tx, dir string, w *watched, amount int64) error {
	ev := sha256.Sum256(fmt.Appendf(nil, "%s %s %s %s", blk.Hash, tx.ID, dir, w.str))
	m := Message{
		Event:     hex.EncodeToString(ev[:16]),
		TxID:      tx.ID.String(),
		Height:    blk.Height,
		Block:     blk.Hash.String(),
		Time:      blk.Time(),
		Direction: dir,
		Address:   w.str,
		Watches:   w.reasons,
		AmountSat: amount,
	}
	order, parties, err := a.counterparties(tx, dir, w)
	if err != nil {
		return err
	}
	for _, s := range order {
		p := Party{Address: s, AmountSat: parties[s]}
		if s != "coinbase" && s != "unknown" {
			if p.Tags, err = a.tagLabels(s); err != nil {
				return err
			}
		}
		if dir == Out && len(p.Tags) > 0 {
			m.ReachedTag = true
			for _, l := range p.Tags {
				if !slices.Contains(m.Tags, l) {
					m.Tags = append(m.Tags, l)
				}
			}
		}
		m.Counterparties = append(m.Counterparties, p)
	}
	body, err := json.Marshal(&m)
	if err != nil {
		return err
	}
	return b.PutAlert(store.Alert{Height: blk.Height, Block: blk.Hash, Body: body})
}

// counterparties are the other side of tx for watched address w, in
// order of appearance with the amount each paid or was paid: for Out its
// outputs (change back to w left out), for In its inputs' addresses, or
// "coinbase" and "unknown" (an input from before the store's range).
func (a *Alerter) counterparties(tx *store.Tx, dir string, w *watched) (order []string, amounts map[string]int64, err error) {
	amounts = map[string]int64{}
	add := func(s string, v int64) {
		if _, ok := amounts[s]; !ok {
			order = append(order, s)
		}
		amounts[s] += v
	}
	if dir == Out {
		for _, o := range tx.Outputs {
			if !o.Addr.Kind.HasAddress() || key(o.Addr) == key(w.addr) {
				continue // OP_RETURN, or change back to the watched address
			}
			add(o.Addr.String(a.params), o.Value)
		}
		return order, amounts, nil
	}
	for _, in := range tx.Inputs {
		switch in.Kind {
		case store.InputCoinbase:
			add("coinbase", 0)
		case store.InputExternal:
			add("unknown", 0)
		case store.InputKnown:
			o, err := a.prevOutput(in.Prev)
			if err != nil {
				return nil, nil, err
			}
			if key(o.Addr) != key(w.addr) {
				add(o.Addr.String(a.params), o.Value)
			}
		}
	}
	return order, amounts, nil
}

// tagLabels are the distinct labels of the stored tags of address s, each
// with its category.
func (a *Alerter) tagLabels(s string) ([]string, error) {
	tags, err := a.st.Tags().For(s)
	if err != nil {
		return nil, err
	}
	var labels []string
	for _, t := range tags {
		label := t.Label
		if t.Category != "" {
			label += " (" + t.Category + ")"
		}
		if !slices.Contains(labels, label) {
			labels = append(labels, label)
		}
	}
	return labels, nil
}

func (a *Alerter) prevOutput(op store.OutPoint) (store.Output, error) {
	outs, ok := a.pending[op.Tx]
	if !ok {
		tx, err := a.st.TxByNum(op.Tx)
		if err != nil {
			return store.Output{}, fmt.Errorf("alert: funding tx %d: %w", op.Tx, err)
		}
		outs = tx.Outputs
	}
	if int(op.Vout) >= len(outs) {
		return store.Output{}, fmt.Errorf("alert: funding tx %d has no output %d", op.Tx, op.Vout)
	}
	return outs[op.Vout], nil
}

// Render turns an outbox entry into the message sinks receive.
func Render(a store.Alert) ([]byte, Message, error) {
	var m Message
	if err := json.Unmarshal(a.Body, &m); err != nil {
		return nil, m, fmt.Errorf("alert %d: %w", a.Seq, err)
	}
	m.ID, m.Kind, m.Retracts = fmt.Sprintf("a%d", a.Seq), "alert", ""
	if a.Retracts != 0 {
		m.ID, m.Kind, m.Retracts = fmt.Sprintf("r%d", a.Seq), "retract", fmt.Sprintf("a%d", a.Retracts)
	}
	line, err := json.Marshal(&m)
	return line, m, err
}
