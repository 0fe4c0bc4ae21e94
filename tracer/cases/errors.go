package cases

import "errors"

var (
	// ErrNotFound is a case, or a node of a case, that does not exist.
	ErrNotFound = errors.New("cases: not found")
	// ErrBadInput is a request the package cannot act on (no seeds, a bad
	// direction, a node that is neither a txid nor an address).
	ErrBadInput = errors.New("cases: bad input")
	// ErrLabels is a trace whose cluster labelling failed partway (a store
	// read error): its hits would miss labels, so no case is saved or
	// re-run from it.
	ErrLabels = errors.New("cases: cluster labelling failed partway through the trace")
)
