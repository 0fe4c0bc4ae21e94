package jobs

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors; ParseError wraps the first four.
var (
	ErrMalformed    = errors.New("jobs: malformed job file")
	ErrMissingField = errors.New("jobs: missing field")
	ErrBadValue     = errors.New("jobs: invalid value")
	ErrUnknownField = errors.New("jobs: unknown field")
	// ErrDataChanged is an output folder computed on other data versions
	// (store tip, sanctions list, tag packs) than the store now holds.
	ErrDataChanged = errors.New("jobs: data changed since the output folder was computed")
	// ErrJobChanged is a finished job whose parameters the job file now
	// gives differently.
	ErrJobChanged = errors.New("jobs: finished job changed in the job file")
	// ErrFailed says at least one job failed; the summary names them.
	ErrFailed = errors.New("jobs: some jobs failed")
)

// ParseError reports where a job file is wrong: the file, the 1-based line
// (0 when unknown), the job (or matrix) and the field.
type ParseError struct {
	File  string
	Line  int
	Job   string
	Field string
	Err   error
}

func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString("jobs: ")
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Job != "" {
		fmt.Fprintf(&b, "job %q: ", e.Job)
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(strings.TrimPrefix(fmt.Sprint(e.Err), "jobs: "))
	return b.String()
}

func (e *ParseError) Unwrap() error { return e.Err }
