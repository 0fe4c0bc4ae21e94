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
	// ErrMissingInput is an input spending an output the chain never created.
	ErrMissingInput = errors.New("ingest: input spends an unknown output")
)
