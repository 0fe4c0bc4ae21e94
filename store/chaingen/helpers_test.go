package chaingen

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
)

// readBlocks parses every record of DIR/blocks/blk*.dat, undoing xor.dat.
func readBlocks(t testing.TB, dir string) []*wire.MsgBlock {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "blocks", "blk*.dat"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no blk files in %s: %v", dir, err)
	}
	sort.Strings(files)
	var key []byte
	if k, err := os.ReadFile(filepath.Join(dir, "blocks", "xor.dat")); err == nil {
		key = k
	}
	var out []*wire.MsgBlock
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if len(key) == 8 {
			for i := range b {
				b[i] ^= key[i%8]
			}
		}
		for off := 0; off < len(b); {
			if off+8 > len(b) || !bytes.Equal(b[off:off+4], RegtestMagic[:]) {
				t.Fatalf("%s: bad record at %d", f, off)
			}
			n := int(binary.LittleEndian.Uint32(b[off+4:]))
			var blk wire.MsgBlock
			if err := blk.Deserialize(bytes.NewReader(b[off+8 : off+8+n])); err != nil {
				t.Fatalf("%s: block at %d: %v", f, off, err)
			}
			out = append(out, &blk)
			off += 8 + n
		}
	}
	return out
}

// mainChain orders blocks by following prev links back from the tip hash.
func mainChain(blocks []*wire.MsgBlock, tip string) ([]*wire.MsgBlock, []*wire.MsgBlock, error) {
	byHash := map[string]*wire.MsgBlock{}
	for _, b := range blocks {
		byHash[b.BlockHash().String()] = b
	}
	var chain []*wire.MsgBlock
	on := map[string]bool{}
	for h := tip; ; {
		b, ok := byHash[h]
		if !ok {
			return nil, nil, fmt.Errorf("block %s missing", h)
		}
		chain = append(chain, b)
		on[h] = true
		if b.Header.PrevBlock == (wire.BlockHeader{}).PrevBlock {
			break
		}
		h = b.Header.PrevBlock.String()
	}
	for i, j := 0, len(chain)-1; i < j; i, j = i+1, j-1 {
		chain[i], chain[j] = chain[j], chain[i]
	}
	var forks []*wire.MsgBlock
	for _, b := range blocks {
		if !on[b.BlockHash().String()] {
			forks = append(forks, b)
		}
	}
	return chain, forks, nil
}

// parentsFirst orders fork blocks so each comes after its parent (the files
// may hold them shuffled); main is the main chain.
func parentsFirst(main, forks []*wire.MsgBlock) []*wire.MsgBlock {
	known := map[chainhash.Hash]bool{}
	for _, b := range main {
		known[b.BlockHash()] = true
	}
	var out []*wire.MsgBlock
	for len(forks) > 0 {
		var rest []*wire.MsgBlock
		for _, b := range forks {
			if known[b.Header.PrevBlock] {
				out = append(out, b)
				known[b.BlockHash()] = true
			} else {
				rest = append(rest, b)
			}
		}
		if len(rest) == len(forks) {
			return append(out, rest...) // parentless: let the caller see the orphan
		}
		forks = rest
	}
	return out
}
