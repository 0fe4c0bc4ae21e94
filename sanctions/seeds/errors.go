package seeds

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors; ParseError wraps them.
var (
	ErrBadAddress    = errors.New("seeds: invalid address")
	ErrBadConfidence = errors.New("seeds: invalid confidence")
	ErrMissingField  = errors.New("seeds: missing address")
	ErrMalformed     = errors.New("seeds: malformed file")
	ErrEmpty         = errors.New("seeds: no seeds")
	ErrTooLarge      = errors.New("seeds: file too large")
)

// ParseError reports where a seed file is wrong. Line is 1-based (CSV and
// YAML, and JSON where known); Index is the 0-based element index in a JSON
// or YAML list, -1 when not applicable.
type ParseError struct {
	File  string
	Line  int
	Index int
	Err   error
}

func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString("seeds: ")
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.Index >= 0 {
		fmt.Fprintf(&b, " [element %d]", e.Index)
	}
	b.WriteString(": ")
	b.WriteString(strings.TrimPrefix(fmt.Sprint(e.Err), "seeds: "))
	return b.String()
}

func (e *ParseError) Unwrap() error { return e.Err }
