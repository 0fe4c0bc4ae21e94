package spec

import (
	"errors"
	"fmt"
)

var (
	// ErrBadSpec is a specification that cannot run as given: an unknown
	// key, a bad value, a window whose start is after its end. FieldError
	// wraps it.
	ErrBadSpec = errors.New("spec: bad trace specification")
	// ErrNoSeeds is a specification whose seeds select no address, or
	// whose seed addresses received nothing in the store's blocks.
	ErrNoSeeds = errors.New("spec: no seeds")
	// ErrNoClusters is cluster=on on a store that was never clustered.
	ErrNoClusters = errors.New("spec: no clusters in the store (run tracer cluster first)")
)

// FieldError is a bad value for one key. Front ends name the key their own
// way (a CLI flag, a job file's line, a query parameter).
type FieldError struct {
	Key   string // e.g. "max_hops"
	Value string
	Msg   string // what is wrong and what is wanted
}

func (e *FieldError) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("spec: %s: %s", e.Key, e.Msg)
	}
	return fmt.Sprintf("spec: %s %q: %s", e.Key, e.Value, e.Msg)
}

// Unwrap makes a FieldError an ErrBadSpec.
func (e *FieldError) Unwrap() error { return ErrBadSpec }
