package storetest

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
)

// MemNode is an ingest.Node serving an in-memory chain that a test
// replaces (Set) to extend it or switch it to another branch.
type MemNode struct {
	mu     sync.Mutex
	chain  []chainhash.Hash
	blocks map[chainhash.Hash][]byte
}

// NewMemNode serves blocks (serialized, genesis first) as the best chain.
func NewMemNode(t testing.TB, blocks [][]byte) *MemNode {
	m := &MemNode{blocks: map[chainhash.Hash][]byte{}}
	m.Set(t, blocks)
	return m
}

// Set makes blocks the best chain; blocks served before stay fetchable.
func (m *MemNode) Set(t testing.TB, blocks [][]byte) {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.chain = m.chain[:0]
	for _, raw := range blocks {
		var h wire.BlockHeader
		if err := h.Deserialize(bytes.NewReader(raw)); err != nil {
			t.Fatal(err)
		}
		m.chain = append(m.chain, h.BlockHash())
		m.blocks[h.BlockHash()] = raw
	}
}

// Tip returns the height and hash of the chain's last block.
func (m *MemNode) Tip(context.Context) (int32, chainhash.Hash, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return int32(len(m.chain) - 1), m.chain[len(m.chain)-1], nil
}

// BlockHash returns the hash of the chain's block at h.
func (m *MemNode) BlockHash(_ context.Context, h int32) (chainhash.Hash, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if h < 0 || int(h) >= len(m.chain) {
		return chainhash.Hash{}, fmt.Errorf("no block at %d", h)
	}
	return m.chain[h], nil
}

// Block returns a block served now or before.
func (m *MemNode) Block(_ context.Context, hash chainhash.Hash) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.blocks[hash]
	if !ok {
		return nil, fmt.Errorf("no block %s", hash)
	}
	return b, nil
}

// Append adds raw to the chain under hash whatever its content: a node
// serving a damaged block under the hash it announced.
func (m *MemNode) Append(hash chainhash.Hash, raw []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.chain = append(m.chain, hash)
	m.blocks[hash] = raw
}
