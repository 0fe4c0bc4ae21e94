package flow

import "errors"

var (
	// ErrEmpty is an Open of a store with no blocks.
	ErrEmpty = errors.New("flow: the store is empty")
	// ErrCorrupt is an index file, or a store record it was built from,
	// that does not add up.
	ErrCorrupt = errors.New("flow: corrupt index")
	// ErrStale is an Open with NoUpdate of an index that is missing or
	// behind the store.
	ErrStale = errors.New("flow: the index is not current")
	// ErrNotCovered is a transaction past the index's end.
	ErrNotCovered = errors.New("flow: transaction not covered by the index")
)
