package export

import "errors"

var (
	// ErrFormat is an unknown output format.
	ErrFormat = errors.New("export: unknown format (want parquet or csv)")
	// ErrNotTrace is a path that is not a trace report, a job folder or a
	// jobs output folder.
	ErrNotTrace = errors.New("export: not a trace report")
	// ErrRange is a height range outside the store or upside down.
	ErrRange = errors.New("export: bad height range")
	// ErrOutput is an output path that cannot be written: its folder is
	// missing, or it names a folder where a file is wanted (or a file
	// where a folder is).
	ErrOutput = errors.New("export: cannot write output")
	// ErrIndex is a flow index (store/flow) that does not cover the range
	// exported or disagrees with the store.
	ErrIndex = errors.New("export: the trace index does not match the store")
)

// ErrNoClusters is a store that was never clustered (run `tracer cluster`).
var ErrNoClusters = errors.New("export: no clusters in the store (run tracer cluster first)")
