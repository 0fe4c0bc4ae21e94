package report

import "errors"

var (
	// ErrNilResult is returned when there is no result to render.
	ErrNilResult = errors.New("report: nil result")
	// ErrUnknownFormat is returned by Write for a format not in Formats().
	ErrUnknownFormat = errors.New("report: unknown format")
)
