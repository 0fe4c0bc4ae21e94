package seedsel

import "errors"

var (
	// ErrNoList is a selection by entity, program or profile without a
	// loaded sanctions list.
	ErrNoList = errors.New("seedsel: no sanctions list loaded (run tracer sanctions load FILE first)")
	// ErrNoMatch is a selection that matches no address.
	ErrNoMatch = errors.New("seedsel: no match")
	// ErrBadAddress is an address that does not parse on the store's network.
	ErrBadAddress = errors.New("seedsel: invalid address")
)
