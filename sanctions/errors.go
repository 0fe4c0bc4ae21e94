package sanctions

import "errors"

// ErrNilList is returned by helpers that need a list and got nil.
var ErrNilList = errors.New("sanctions: nil list")
