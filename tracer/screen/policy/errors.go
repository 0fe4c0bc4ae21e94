package policy

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors; ParseError wraps them.
var (
	ErrMalformed    = errors.New("policy: malformed file")
	ErrMissingField = errors.New("policy: missing field")
	ErrBadValue     = errors.New("policy: invalid value")
	ErrUnknownField = errors.New("policy: unknown field")
)

// ParseError reports where a policy file is wrong; Line is 1-based, 0 when
// unknown.
type ParseError struct {
	File string
	Line int
	Rule string // the rule's name, when known
	Err  error
}

func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString("policy: ")
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.Rule != "" {
		fmt.Fprintf(&b, ": rule %q", e.Rule)
	}
	b.WriteString(": ")
	b.WriteString(strings.TrimPrefix(fmt.Sprint(e.Err), "policy: "))
	return b.String()
}

func (e *ParseError) Unwrap() error { return e.Err }
