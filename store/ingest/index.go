package ingest

import (
	"bytes"
	"context"
	"fmt"
	"math/big"
	"time"

	"github.com/btcsuite/btcd/blockchain"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/tracer-oss/tracer/store/blockfile"
	"github.com/tracer-oss/tracer/store/network"
)

// node is one block header found in the files.
type node struct {
	hash     chainhash.Hash
	prev     chainhash.Hash
	bits     uint32
	rec      blockfile.Record
	alts     []blockfile.Record // other records of the same block
	seq      int                // order of appearance, for deterministic tie-breaks
	parent   *node
	children []*node
	height   int32
	claim    int32 // BIP34 height in the coinbase of a root; -1: none
	work     *big.Int
	dropped  bool // an incomplete tail, not a block
}

// Gap is where the files' chain stops because a block is missing: the
// blocks after it are not stored until files holding it are ingested.
type Gap struct {
	After      int32  `json:"after"`       // last height of the chain before the gap
	Missing    string `json:"missing"`     // hash of the missing block (the parent of the next one)
	NextHeight int32  `json:"next_height"` // height of the first block after the gap (its BIP34 coinbase height); -1: unknown
	Next       string `json:"next"`        // hash of that block
	File       string `json:"file"`        // where it is
	Offset     int64  `json:"offset"`
	Blocks     int    `json:"blocks"` // blocks after gaps, not stored
}

// Unconnected is blocks in the files that do not connect to the stored
// chain (or, in an empty store, to the files' chain): unrelated blocks, or
// blocks below the store's first height.
type Unconnected struct {
	Blocks int    `json:"blocks"`
	Hash   string `json:"first"`  // the first such block
	Height int32  `json:"height"` // its BIP34 height; -1: unknown
	File   string `json:"file"`
	Offset int64  `json:"offset"`
	Reason string `json:"reason"`
}

// chainPlan is the outcome of the header pass.
type chainPlan struct {
	net         network.Network
	chain       []*node // best chain in height order, from its root
	records     int     // records in the files
	dups        int     // records of a block seen before
	stale       int     // blocks on losing forks of the chain
	orphans     int     // blocks after a gap
	gap         *Gap
	unconnected *Unconnected
	tails       []blockfile.Tail
}

// storedChain tells the header pass about the store.
type storedChain struct {
	tip, first int32                              // heights; tip -1: empty
	height     func(chainhash.Hash) (int32, bool) // a stored block's height
}

// planChain reads every header and chooses the best chain that continues
// the stored one (or, in an empty store, starts at genesis or at the
// pruned start: --start-height or the lowest BIP34 height). startHeight
// < 0 means unknown; net.Name == "" means detect from the files' magic.
// Blocks after a missing one are a gap, blocks that connect nowhere are
// unconnected: neither counts as stale.
// report, if set, is called about once a second with the bytes read.
func planChain(ctx context.Context, src *blockfile.Source, net network.Network, startHeight int32, sc storedChain, report func(done, total int64)) (*chainPlan, error) {
	plan := &chainPlan{}
	nodes, order, last, err := plan.scanHeaders(ctx, src, net, report)
	if err != nil {
		return nil, err
	}
	plan.tails = src.Tails
	if plan.net.Name == "" {
		plan.net = net
	}
	if plan.records == 0 {
		return plan, nil
	}
	dropTails(src, nodes, last, plan)
	anchored, floating := anchorRoots(src, *plan.net.Params.GenesisHash, linkTrees(nodes, order), sc)
	if sc.tip < 0 {
		start, err := pickStart(src, plan.net, anchored, floating, startHeight)
		if err != nil {
			return nil, err
		}
		if start != nil {
			anchored = append(anchored, start)
			floating = without(floating, start)
		}
	}
	best, inTrees := bestChain(anchored)
	for n := best; n != nil; n = n.parent {
		plan.chain = append(plan.chain, n)
	}
	for i, j := 0, len(plan.chain)-1; i < j; i, j = i+1, j-1 {
		plan.chain[i], plan.chain[j] = plan.chain[j], plan.chain[i]
	}
	plan.stale = inTrees - len(plan.chain)
	plan.placeFloating(src, floating, sc, best)
	if best == nil && sc.tip >= 0 && plan.unconnected != nil && plan.gap == nil {
		u := plan.unconnected
		return nil, fmt.Errorf("%w: none of the %d blocks in the files connects to it (heights %d–%d); the first, %s in %s at byte %d: %s",
			ErrNotConnected, u.Blocks, sc.first, sc.tip, u.Hash, u.File, u.Offset, u.Reason)
	}
	return plan, nil
}

// scanHeaders reads every block header of the files (and the network from
// their magic when net.Name is ""): the nodes by hash, in file order, and
// each file's last record. Records of a block seen before are counted and
// kept as its alternatives.
func (plan *chainPlan) scanHeaders(ctx context.Context, src *blockfile.Source, net network.Network, report func(done, total int64)) (map[chainhash.Hash]*node, []*node, map[int]blockfile.Record, error) {
	nodes := map[chainhash.Hash]*node{}
	var order []*node
	last := map[int]blockfile.Record{} // each file's last record
	var total, before int64            // bytes in all files, in the files before the current one
	for _, f := range src.Files {
		total += f.Size
	}
	file, tick := 0, time.Now()
	err := src.Scan(ctx, func(rec blockfile.Record, raw []byte) error {
		plan.records++
		last[rec.File] = rec
		for ; file < rec.File; file++ {
			before += src.Files[file].Size
		}
		if report != nil && plan.records%256 == 0 && time.Since(tick) >= time.Second {
			tick = time.Now()
			report(before+rec.Offset, total)
		}
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
		if n, dup := nodes[hash]; dup {
			plan.dups++
			n.alts = append(n.alts, rec)
			return nil
		}
		n := &node{hash: hash, prev: h.PrevBlock, bits: h.Bits, rec: rec, seq: len(order), height: -1, claim: -1}
		nodes[hash] = n
		order = append(order, n)
		return nil
	})
	if err != nil {
		return nil, nil, nil, err
	}
	if report != nil {
		report(total, total)
	}
	return nodes, order, last, nil
}

// linkTrees links every kept node to its parent in the files and returns
// the roots (nodes whose parent is not in the files), in file order.
func linkTrees(nodes map[chainhash.Hash]*node, order []*node) []*node {
	var roots []*node
	for _, n := range order {
		if n.dropped {
			continue
		}
		if p, ok := nodes[n.prev]; ok && !p.dropped {
			n.parent = p
			p.children = append(p.children, n)
		} else {
			roots = append(roots, n)
		}
	}
	return roots
}

// anchorRoots gives heights to the roots that are anchored: genesis (in an
// empty store) and blocks on or after a stored block. The others float,
// with the height their coinbase claims (BIP34) where it has one.
func anchorRoots(src *blockfile.Source, genesis chainhash.Hash, roots []*node, sc storedChain) (anchored, floating []*node) {
	for _, r := range roots {
		switch {
		case r.hash == genesis && sc.tip < 0:
			r.height = 0
		case sc.height != nil:
			if h, ok := sc.height(r.hash); ok {
				r.height = h
			} else if h, ok := sc.height(r.prev); ok {
				r.height = h + 1
			}
		}
		if r.height >= 0 {
			anchored = append(anchored, r)
			continue
		}
		if r.hash == genesis {
			r.claim = 0
		} else if h, ok := bip34Height(src, r.rec); ok {
			r.claim = h
		}
		floating = append(floating, r)
	}
	return anchored, floating
}

// bestChain sets heights and cumulative work down each anchored tree and
// returns the tip of most work (the first seen on a tie) and the number of
// nodes in the trees. A root's work counts the chain below it as blocks of
// its own difficulty, so that branches leaving the stored chain at
// different heights compare.
func bestChain(anchored []*node) (best *node, inTrees int) {
	for _, r := range anchored {
		r.work = new(big.Int).Mul(blockchain.CalcWork(r.bits), big.NewInt(int64(r.height)+1))
		stack := []*node{r}
		for len(stack) > 0 {
			n := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			inTrees++
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
	return best, inTrees
}

// placeFloating sorts what connects nowhere: blocks after a gap (orphans,
// the gap at the lowest claimed height) and unrelated blocks (unconnected,
// described by the first).
func (plan *chainPlan) placeFloating(src *blockfile.Source, floating []*node, sc storedChain, best *node) {
	top := sc.tip
	if best != nil && best.height > top {
		top = best.height
	}
	var gapRoot *node
	for _, r := range floating {
		size := countTree(r)
		reason := ""
		switch {
		case r.claim >= 0 && sc.tip >= 0 && r.claim < sc.first:
			reason = fmt.Sprintf("it is at height %d, below the store's first block %d", r.claim, sc.first)
		case r.claim < 0 || r.claim > top+1:
			plan.orphans += size
			if gapRoot == nil || (r.claim >= 0 && (gapRoot.claim < 0 || r.claim < gapRoot.claim)) {
				gapRoot = r
			}
			continue
		default:
			reason = fmt.Sprintf("its parent %s is neither in the files nor in the store", r.prev)
			if r.claim >= 0 {
				reason = fmt.Sprintf("it is at height %d, but its parent %s is neither in the files nor in the store", r.claim, r.prev)
			}
		}
		if plan.unconnected == nil {
			plan.unconnected = &Unconnected{Hash: r.hash.String(), Height: r.claim, File: src.Files[r.rec.File].Path, Offset: r.rec.Offset, Reason: reason}
		}
		plan.unconnected.Blocks += size
	}
	if gapRoot != nil {
		plan.gap = &Gap{After: top, Missing: gapRoot.prev.String(), NextHeight: gapRoot.claim, Next: gapRoot.hash.String(),
			File: src.Files[gapRoot.rec.File].Path, Offset: gapRoot.rec.Offset, Blocks: plan.orphans}
	}
}

// pickStart chooses the first block of an empty store: genesis when the
// files hold it, else the root at --start-height (whose BIP34 height, where
// the network enforces it, must agree), else the root with the lowest BIP34
// height.
func pickStart(src *blockfile.Source, net network.Network, anchored, floating []*node, startHeight int32) (*node, error) {
	if len(anchored) > 0 {
		if startHeight > 0 {
			return nil, fmt.Errorf("%w: the files start at the genesis block, not at height %d", ErrStartHeight, startHeight)
		}
		return nil, nil
	}
	if len(floating) == 0 {
		return nil, nil
	}
	if startHeight >= 0 {
		for _, r := range floating {
			if r.claim == startHeight {
				r.height = startHeight
				return r, nil
			}
		}
		for _, r := range floating {
			if r.claim < 0 || !bip34Enforced(net, startHeight) && !bip34Enforced(net, r.claim) {
				r.height = startHeight
				return r, nil
			}
		}
		r := floating[0]
		return nil, fmt.Errorf("%w: block %s (%s at byte %d) says in its coinbase that it is at height %d (BIP34), not %d",
			ErrStartHeight, r.hash, src.Files[r.rec.File].Path, r.rec.Offset, r.claim, startHeight)
	}
	var start *node
	for _, r := range floating {
		if r.claim >= 0 && (start == nil || r.claim < start.claim) {
			start = r
		}
	}
	if start == nil {
		return nil, ErrNoHeight
	}
	start.height = start.claim
	return start, nil
}

// bip34Enforced reports whether consensus requires a block at height h to
// carry h in its coinbase. Regtest, signet and testnet4 blocks always do.
func bip34Enforced(net network.Network, h int32) bool {
	switch net.Name {
	case "regtest", "signet", "testnet4":
		return h >= 1
	}
	return net.Params != nil && h >= net.Params.BIP0034Height
}

// dropTails checks each file's last record, where a node killed while
// writing leaves a block cut short (the rest of its bytes still zero): one
// that fails its checks and ends in zeros is an incomplete tail, replaced
// by another copy of the block when the files hold one, else left out.
func dropTails(src *blockfile.Source, nodes map[chainhash.Hash]*node, last map[int]blockfile.Record, plan *chainPlan) {
	for file := range src.Files {
		rec, ok := last[file]
		if !ok {
			continue
		}
		raw, err := src.ReadBlock(rec, nil)
		if err != nil || len(raw) < 16 {
			continue
		}
		var h wire.BlockHeader
		if h.Deserialize(bytes.NewReader(raw)) != nil {
			continue
		}
		n := nodes[h.BlockHash()]
		if n == nil || n.rec != rec {
			continue
		}
		if _, err := decodeRaw(raw, -1, n.hash); err == nil || !bytes.Equal(raw[len(raw)-16:], make([]byte, 16)) {
			continue // complete, or corrupt (refused when it is read)
		}
		n.dropped = true
		for _, alt := range n.alts {
			if raw, err := src.ReadBlock(alt, nil); err == nil {
				if _, err := decodeRaw(raw, -1, n.hash); err == nil {
					n.rec, n.dropped = alt, false // a complete copy
					break
				}
			}
		}
		if n.dropped {
			off := rec.Offset
			if src.Files[file].Format == blockfile.FormatFramed {
				off -= 8
			}
			plan.tails = append(plan.tails, blockfile.Tail{File: src.Files[file].Path, Offset: off, Bytes: int64(rec.Len) + rec.Offset - off,
				Reason: fmt.Sprintf("block %s is incomplete (its last bytes are zero)", n.hash)})
		}
	}
}

func without(ns []*node, x *node) []*node {
	var out []*node
	for _, n := range ns {
		if n != x {
			out = append(out, n)
		}
	}
	return out
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
	return coinbaseHeight(cb.TxIn[0].SignatureScript)
}

// coinbaseHeight reads the BIP34 height push at the start of a coinbase
// script.
func coinbaseHeight(s []byte) (int32, bool) {
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
