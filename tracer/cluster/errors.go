package cluster

import "errors"

var (
	// ErrOptions is a run whose change rules or size guard differ from the
	// ones the stored clusters were built with.
	ErrOptions = errors.New("cluster: options differ from the stored clusters' (rebuild to change them)")
	// ErrRule is an unknown change rule name.
	ErrRule = errors.New("cluster: unknown change rule")
	// ErrNoClusters is a store the clustering pass has not run on.
	ErrNoClusters = errors.New("cluster: no clusters in the store (run tracer cluster first)")
)
