package screen

import "errors"

var (
	// ErrNoIndex is a lookup without a built exposure index.
	ErrNoIndex = errors.New("screen: no exposure index (run tracer screen --rebuild-index)")
	// ErrIndexStale is an index UpdateIndex cannot bring forward: built
	// for another list, tag packs or options, or a reorganisation deeper
	// than its undo records. The caller rebuilds it (BuildIndex).
	ErrIndexStale = errors.New("screen: exposure index is stale")
	// ErrBadOptions is an unsupported model or a negative limit.
	ErrBadOptions = errors.New("screen: bad options")
)
