package ingest

import (
	"bytes"
	"context"
	"fmt"
	"github.com/tracer-oss/tracer/store/network"
	"math/big"

	"github.com/btcsuite/btcd/blockchain"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
	"github.com/tracer-oss/tracer/store/blockfile"
)

// node is one block header found in the files.
type node struct {
	hash     chainhash.Hash
	prev     chainhash.Hash
	bits     uint32
	rec      blockfile.Record
	seq      int // order of appearance, for deterministic tie-breaks
	parent   *node
	children []*node
	height   int32
	work     *big.Int // cumulative, from the root of its tree
}

// chainPlan is the outcome of the header pass.
type chainPlan struct {
	net      network.Network
	chain    []*node // best chain in height order, from its root
	records  int     // records in the files
	dups     int     // records of a block seen before
	stale    int     // blocks on losing forks
	orphans  int     // blocks in trees whose height is unknown (after a gap)
	gapAfter int32   // height after which the files' best chain stops while orphans exist; -1 if none
}

// known tells the index about the stored chain: the height of a stored
// block hash, or false.
type known func(chainhash.Hash) (int32, bool)

// planChain reads every header and chooses the best chain. startHeight < 0
// means unknown; net.Name == "" means detect from the files' magic.
func planChain(ctx context.Context, src *blockfile.Source, net network.Network, startHeight int32, stored known) (*chainPlan, error) {
	plan := &chainPlan{gapAfter: -1}
	nodes := map[chainhash.Hash]*node{}
	var order []*node
	err := src.Scan(ctx, func(rec blockfile.Record, raw []byte) error {
		plan.records++
		if plan.net.Name == "" {
			n, ok := network.ByMagic(rec.Magic)
			if !ok {
				return fmt.Errorf("%w: magic %#08x", ErrNetwork, uint32(rec.Magic))
			}
			if net.Name != "" && n.Name != net.Name {
				return fmt.Errorf("%w: files hold %s blocks, %s was asked for", ErrNetwork, n.Name, net.Name)
			}
			plan.net = n
		}
		var h wire.BlockHeader
		if err := h.Deserialize(bytes.NewReader(raw)); err != nil {
			return &blockfile.Error{File: src.Files[rec.File].Path, Offset: rec.Offset, Err: fmt.Errorf("%w: header: %v", ErrBadBlock, err)}
		}
		hash := h.BlockHash()
		if _, dup := nodes[hash]; dup {
			plan.dups++
			return nil
		}
		n := &node{hash: hash, prev: h.PrevBlock, bits: h.Bits, rec: rec, seq: len(order), height: -1}
		nodes[hash] = n
		order = append(order, n)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if plan.net.Name == "" {
		plan.net = net
	}
	var roots []*node
	for _, n := range order {
		if p, ok := nodes[n.prev]; ok {
			n.parent = p
			p.children = append(p.children, n)
		} else {
			roots = append(roots, n)
		}
	}
	// Give each root a height, or leave it unknown (-1).
	genesis := plan.net.Params.GenesisHash
	for _, r := range roots {
		switch {
		case r.hash == *genesis:
			r.height = 0
		case stored != nil:
			if h, ok := stored(r.hash); ok {
				r.height = h
			} else if h, ok := stored(r.prev); ok {
				r.height = h + 1
			}
		}
	}
	if startHeight >= 0 {
		for _, r := range roots {
			if r.height < 0 && r.prev != (chainhash.Hash{}) {
				r.height = startHeight
				break // one pruned start: the first root in file order
			}
		}
	}
	for _, r := range roots {
		if r.height < 0 && r.prev != (chainhash.Hash{}) {
			if h, ok := bip34Height(src, r.rec); ok {
				r.height = h
			}
		}
	}
	// Heights and cumulative work down each tree.
	var best *node
	for _, r := range roots {
		if r.height < 0 {
			plan.orphans += countTree(r)
			continue
		}
		r.work = blockchain.CalcWork(r.bits)
		stack := []*node{r}
		for len(stack) > 0 {
			n := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if best == nil || n.work.Cmp(best.work) > 0 || (n.work.Cmp(best.work) == 0 && n.seq < best.seq) {
				best = n
			}
			for _, c := range n.children {
				c.height = n.height + 1
				c.work = new(big.Int).Add(n.work, blockchain.CalcWork(c.bits))
				stack = append(stack, c)
			}
		}
	}
	if best == nil {
		if len(order) == 0 {
			return plan, nil
		}
		return nil, ErrNoHeight
	}
	for n := best; n != nil; n = n.parent {
		plan.chain = append(plan.chain, n)
	}
	for i, j := 0, len(plan.chain)-1; i < j; i, j = i+1, j-1 {
		plan.chain[i], plan.chain[j] = plan.chain[j], plan.chain[i]
	}
	onChain := len(plan.chain)
	plan.stale = len(order) - onChain - plan.orphans
	if plan.orphans > 0 {
		plan.gapAfter = best.height
	}
	return plan, nil
}

func countTree(r *node) int {
	n := 0
	stack := []*node{r}
	for len(stack) > 0 {
		x := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		n++
		stack = append(stack, x.children...)
	}
	return n
}

// bip34Height reads the height a version-2+ block writes at the start of its
// coinbase script (BIP34).
func bip34Height(src *blockfile.Source, rec blockfile.Record) (int32, bool) {
	raw, err := src.ReadBlock(rec, nil)
	if err != nil {
		return 0, false
	}
	var blk wire.MsgBlock
	if err := blk.Deserialize(bytes.NewReader(raw)); err != nil || len(blk.Transactions) == 0 || blk.Header.Version < 2 {
		return 0, false
	}
	cb := blk.Transactions[0]
	if len(cb.TxIn) != 1 {
		return 0, false
	}
	s := cb.TxIn[0].SignatureScript
	if len(s) < 1 {
		return 0, false
	}
	op := s[0]
	switch {
	case op >= 0x51 && op <= 0x60: // OP_1..OP_16
		return int32(op - 0x50), true
	case op >= 1 && op <= 4 && len(s) > int(op):
		var h int64
		for i := int(op); i >= 1; i-- {
			h = h<<8 | int64(s[i])
		}
		if s[op]&0x80 != 0 {
			return 0, false // negative
		}
		return int32(h), true
	}
	return 0, false
}
