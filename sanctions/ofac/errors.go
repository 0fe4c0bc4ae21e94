package ofac

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors; ParseError wraps them.
var (
	ErrUnknownFormat   = errors.New("ofac: unknown file format")
	ErrTruncated       = errors.New("ofac: file truncated")
	ErrMalformed       = errors.New("ofac: malformed file")
	ErrColumnCount     = errors.New("ofac: wrong number of columns")
	ErrNoReferences    = errors.New("ofac: no ReferenceValueSets")
	ErrNoSDNFile       = errors.New("ofac: no SDN file among the inputs")
	ErrTooManySDNFiles = errors.New("ofac: more than one SDN file among the inputs")
	ErrCompression     = errors.New("ofac: bad compressed data")
	ErrURL             = errors.New("ofac: bad URL")
)

// ParseError reports where a file could not be read. Line and Column are
// 1-based and 0 when unknown; Element is the XML element path
// ("Sanctions/DistinctParties/DistinctParty") when the file is XML.
type ParseError struct {
	File    string
	Line    int
	Column  int
	Element string
	Err     error
}

func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString("ofac: ")
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, ":%d", e.Column)
		}
	}
	if e.Element != "" {
		fmt.Fprintf(&b, " <%s>", e.Element)
	}
	b.WriteString(": ")
	b.WriteString(strings.TrimPrefix(fmt.Sprint(e.Err), "ofac: "))
	return b.String()
}

func (e *ParseError) Unwrap() error { return e.Err }
