package lists

import "errors"

// ErrBadInput marks an error in the input (a malformed or missing file, an
// unknown format, a list refused as empty or truncated), as opposed to a
// failure of the store. The error's message is the underlying one.
var ErrBadInput = errors.New("lists: bad input")

// inputError is an error of the input: it matches ErrBadInput and unwraps
// to what the parser or the guard said.
type inputError struct{ err error }

func (e inputError) Error() string        { return e.err.Error() }
func (e inputError) Unwrap() error        { return e.err }
func (e inputError) Is(target error) bool { return target == ErrBadInput }
