package tags

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors; ParseError wraps them.
var (
	ErrBadAddress   = errors.New("tags: invalid BTC address")
	ErrMissingField = errors.New("tags: missing field")
	ErrBadValue     = errors.New("tags: invalid value")
	ErrMalformed    = errors.New("tags: malformed file")
	ErrTooLarge     = errors.New("tags: file too large")
)

// ParseError reports where a tag file is wrong; Line is 1-based, 0 when
// unknown.
type ParseError struct {
	File string
	Line int
	Err  error
}

func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString("tags: ")
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	b.WriteString(strings.TrimPrefix(fmt.Sprint(e.Err), "tags: "))
	return b.String()
}

func (e *ParseError) Unwrap() error { return e.Err }
