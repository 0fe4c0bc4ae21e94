package ingest

import "errors"

var (
	// ErrNoHeight is a first block whose height cannot be known.
	ErrNoHeight = errors.New("ingest: cannot tell the first block's height (pass --start-height)")
	// ErrNetwork is block data of another network than the store's or the flag's.
	ErrNetwork = errors.New("ingest: wrong network")
	// ErrFork is a best chain that leaves the stored one and cannot replace
	// it: the files' branch ends below the stored tip, or shares no block.
	ErrFork = errors.New("ingest: the files' best chain leaves the stored chain")
	// ErrChainMoved is a block that does not build on the tip: the source's
	// best chain changed while it was read. Sync starts over.
	ErrChainMoved = errors.New("ingest: the best chain moved during the run")
	// ErrReorgTooDeep is a best-chain switch that would undo more blocks
	// than allowed; the store is left as it was.
	ErrReorgTooDeep = errors.New("ingest: reorganisation deeper than the limit")
	// ErrBadBlock is a block that does not decode or whose content does not
	// match its header.
	ErrBadBlock = errors.New("ingest: bad block")
	// ErrNoBlocks is input that holds no complete block: an empty file,
	// Core's zero preallocation, or only an incomplete tail.
	ErrNoBlocks = errors.New("ingest: no blocks")
	// ErrStartHeight is a --start-height the blocks contradict: the BIP34
	// height in the first block's coinbase, or genesis in the files.
	ErrStartHeight = errors.New("ingest: --start-height contradicts the blocks")
	// ErrNotConnected is blocks of which none connects to the stored
	// chain: unrelated blocks, or blocks below the store's first height.
	ErrNotConnected = errors.New("ingest: the blocks are not connected to the stored chain")
	// ErrMissingInput is an input spending an output the chain never created.
	ErrMissingInput = errors.New("ingest: input spends an unknown output")
)
