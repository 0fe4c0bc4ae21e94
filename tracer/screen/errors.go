package screen

import "errors"

var (
	// ErrNoIndex is a lookup without a built exposure index.
	ErrNoIndex = errors.New("screen: no exposure index (run tracer screen --rebuild-index)")
	// ErrBadOptions is an unsupported model or a negative limit.
	ErrBadOptions = errors.New("screen: bad options")
)
