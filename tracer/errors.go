package tracer

import "errors"

var (
	// ErrNoSeeds is a trace without a seed that received anything.
	ErrNoSeeds = errors.New("tracer: no seed received any output")
	// ErrBadParams is an invalid limit or option.
	ErrBadParams = errors.New("tracer: bad parameters")

	// errNotKeyed is a Labelers whose members cannot all list their keys.
	errNotKeyed = errors.New("tracer: labeler cannot list its keys")
)
