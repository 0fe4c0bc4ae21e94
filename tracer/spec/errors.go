package spec

import (
	"errors"
	"fmt"

	"github.com/tracer-oss/tracer/tracer"
)

var (
	// ErrBadSpec is a specification that cannot run as given: an unknown
	// key, a bad value, a window whose start is after its end. FieldError
	// wraps it.
	ErrBadSpec = errors.New("spec: bad trace specification")
	// ErrNoSeeds is a specification whose seed addresses received nothing
	// in the store's blocks (or its window): tracer.ErrNoSeeds.
	ErrNoSeeds = tracer.ErrNoSeeds
	// ErrNoClusters is cluster=on on a store that was never clustered.
	ErrNoClusters = errors.New("spec: no clusters in the store (run tracer cluster first)")
	// ErrLabels is a store error met by cluster labelling partway through a
	// walk (Label cannot return one): the result would miss labels.
	ErrLabels = errors.New("spec: cluster labelling failed partway through the trace")
)

// FieldError is a bad value for one key. Front ends name the key their own
// way (a CLI flag, a job file's line, a query parameter).
type FieldError struct {
	Key   string // e.g. "max_hops"
	Value string // the value given, if one
	Msg   string // what is wrong and what is wanted, naming the value
}

func (e *FieldError) Error() string { return fmt.Sprintf("spec: %s: %s", e.Key, e.Msg) }

// Unwrap makes a FieldError an ErrBadSpec.
func (e *FieldError) Unwrap() error { return ErrBadSpec }

// SeedError is a selection that does not resolve: a bad address, a seed
// file that does not parse, no sanctions list, no match. It is the input's
// fault; Err says what.
type SeedError struct{ Err error }

func (e *SeedError) Error() string { return e.Err.Error() }

// Unwrap returns the selector's error.
func (e *SeedError) Unwrap() error { return e.Err }
