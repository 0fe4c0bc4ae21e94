package ingest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/network"
)

// Node is a source of a best chain that can change, such as a Bitcoin
// node's JSON-RPC (see package rpcnode). Its methods are called from
// several goroutines at once.
type Node interface {
	// Tip returns the height and hash of the best chain's last block.
	Tip(ctx context.Context) (int32, chainhash.Hash, error)
	// BlockHash returns the hash of the best chain's block at height.
	BlockHash(ctx context.Context, height int32) (chainhash.Hash, error)
	// Block returns the serialization of the block with this hash.
	Block(ctx context.Context, hash chainhash.Hash) ([]byte, error)
}

// maxChainMoves bounds how often one Sync starts over because the node's
// best chain changed while blocks were fetched.
const maxChainMoves = 5

// Sync brings the store to the node's best chain: it undoes stored blocks
// the node no longer has on its best chain (at most cfg.MaxReorg), then
// fetches the missing blocks with cfg.Workers parallel requests and writes
// them in order. cfg.Network names the node's network; cfg.StartHeight
// (when ≥ 0) is the first height an empty store takes. cfg.Paths is unused.
// A node that is behind the store (its chain a prefix of the stored one) is
// left to catch up: nothing is undone.
func Sync(ctx context.Context, st *store.Store, node Node, cfg Config) (Result, error) {
	start := time.Now()
	res := Result{FromHeight: -1, GapAfter: -1, BulkTo: -1}
	cfg = cfg.withDefaults()
	state := st.State()
	res.ToHeight = state.Height
	name := state.Network
	if name == "" {
		name = cfg.Network
	}
	if cfg.Network != "" && state.Network != "" && !sameNetwork(cfg.Network, state.Network) {
		return res, fmt.Errorf("%w: the store holds %s, the node serves %s", ErrNetwork, state.Network, cfg.Network)
	}
	if name == "" {
		return res, fmt.Errorf("%w: the node's network is unknown", ErrNetwork)
	}
	net, err := network.ByName(name)
	if err != nil {
		return res, err
	}
	res.Network = net.Name

	for moves := 0; ; moves++ {
		tipH, tipHash, err := node.Tip(ctx)
		if err != nil {
			return res, fmt.Errorf("node tip: %w", err)
		}
		state = st.State()
		from := max(cfg.StartHeight, 0)
		if !state.Empty() {
			common, err := commonHeight(ctx, st, node, tipH, tipHash, cfg.MaxReorg)
			if err != nil {
				return res, err
			}
			if common == tipH && tipH < state.Height {
				return res, nil // the node is behind the store: wait for it
			}
			if common < state.Height {
				if err := rollback(ctx, st, common, cfg, &res); err != nil {
					return res, err
				}
				state = st.State()
				res.ToHeight = state.Height
			}
			from = state.Height + 1
		} else {
			state.Network = net.Name
			state.StartHeight = from
		}
		if from > tipH {
			res.Elapsed = time.Since(start)
			return res, nil
		}
		if res.FromHeight < 0 {
			res.FromHeight = from
		}
		err = syncRange(ctx, st, node, state, net, from, tipH, cfg, &res, start)
		res.Elapsed = time.Since(start)
		if errors.Is(err, ErrChainMoved) && moves < maxChainMoves {
			cfg.Logger.Info("the node's best chain moved during the sync; starting over", "err", err)
			continue
		}
		if errors.Is(err, context.Canceled) && ctx.Err() != nil {
			res.Interrupted = true
			return res, nil
		}
		return res, err
	}
}

func sameNetwork(a, b string) bool {
	na, err1 := network.ByName(a)
	nb, err2 := network.ByName(b)
	return err1 == nil && err2 == nil && na.Name == nb.Name
}

// commonHeight returns the last height at which the store and the node's
// best chain hold the same block, looking at most maxReorg blocks below the
// store's tip.
func commonHeight(ctx context.Context, st *store.Store, node Node, tipH int32, tipHash chainhash.Hash, maxReorg int) (int32, error) {
	state := st.State()
	h := min(state.Height, tipH)
	for ; h >= state.StartHeight; h-- {
		nodeHash := tipHash
		if h != tipH {
			var err error
			if nodeHash, err = node.BlockHash(ctx, h); err != nil {
				return 0, fmt.Errorf("node block hash at %d: %w", h, err)
			}
		}
		blk, err := st.BlockByHeight(h)
		if err != nil {
			return 0, err
		}
		if blk.Hash == nodeHash {
			return h, nil
		}
		if depth := int(state.Height - (h - 1)); depth > maxReorg {
			return 0, fmt.Errorf("%w: the node's best chain differs from the store at every height from %d to the tip %d (more than %d blocks, --max-reorg); the store is unchanged",
				ErrReorgTooDeep, h, state.Height, maxReorg)
		}
	}
	return 0, fmt.Errorf("%w: the node's best chain shares no block with the store (heights %d–%d)", ErrFork, state.StartHeight, state.Height)
}

// syncRange fetches and writes blocks from…to of the node's best chain.
func syncRange(ctx context.Context, st *store.Store, node Node, state store.State, net network.Network,
	from, to int32, cfg Config, res *Result, start time.Time) error {
	w := &writer{
		st:       st,
		state:    state,
		params:   net,
		cache:    newTxCache(cfg.CacheTxs),
		onCommit: cfg.OnCommit,
		res:      res,
		obs:      cfg.Observer,
	}
	count := int(to-from) + 1
	bulk, err := st.CanBulkLoad()
	if err != nil {
		return err
	}
	if bulk && cfg.BulkMinBlocks >= 0 && count >= max(cfg.BulkMinBlocks, 1) {
		w.batch, err = st.NewBulkBatch()
	} else {
		w.batch, err = st.NewBatch()
	}
	if err != nil {
		return err
	}
	w.onMerge(cfg, to, start)
	load := func(ctx context.Context, i int, _ *[]byte) (*decoded, error) {
		h := from + int32(i)
		hash, err := node.BlockHash(ctx, h)
		if err != nil {
			return nil, fmt.Errorf("node block hash at %d: %w", h, err)
		}
		raw, err := node.Block(ctx, hash)
		if err != nil {
			return nil, fmt.Errorf("node block %d (%s): %w", h, hash, err)
		}
		return decodeRaw(raw, h, hash)
	}
	err = pipeline(ctx, count, to, load, cfg, w, start)
	res.ToHeight = w.state.Height
	res.CacheMisses += w.cache.misses
	res.CacheEvicted += w.cache.evicted
	if err != nil && cfg.Observer != nil {
		if rerr := cfg.Observer.Reset(); rerr != nil {
			cfg.Logger.Warn("observer reset", "err", rerr)
		}
	}
	return err
}
