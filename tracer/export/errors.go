package export

import "errors"

var (
	// ErrFormat is an unknown output format.
	ErrFormat = errors.New("export: unknown format (want parquet or csv)")
	// ErrRange is a height range outside the store or upside down.
	ErrRange = errors.New("export: bad height range")
)
