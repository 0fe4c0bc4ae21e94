package tracer

import "errors"

var (
	// ErrNoSeeds is a trace without a seed that received anything.
	ErrNoSeeds = errors.New("tracer: no seed received any output")
	// ErrBadParams is an invalid limit or option.
	ErrBadParams = errors.New("tracer: bad parameters")
)
