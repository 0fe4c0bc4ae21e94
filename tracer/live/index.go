package live

import (
	"context"
	"errors"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/tracer/screen"
)

// The exposure index's contract, in one place: until screen.UpdateIndex
// (per-block update, exact undo of reorganised blocks) is on main, an
// update is a full rebuild of the same data, which gives the same index
// more slowly.

// errIndexStale is an index that cannot be brought forward (built for
// another list, tags or options): it must be rebuilt.
var errIndexStale = errors.New("live: exposure index stale")

// updateIndex brings generation gen to the store's tip.
func updateIndex(ctx context.Context, st *store.Store, gen uint32, opt screen.Options) (store.ExposureIndex, error) {
	hdr, err := st.ExposureIndexInfo()
	if err != nil {
		return hdr, err
	}
	if hdr.Gen != gen {
		return hdr, errIndexStale
	}
	if hdr.TipHash == st.State().Hash.String() {
		return hdr, nil
	}
	return buildIndex(ctx, st, opt)
}

// buildIndex builds a generation for the data in force and makes it current.
func buildIndex(ctx context.Context, st *store.Store, opt screen.Options) (store.ExposureIndex, error) {
	return screen.BuildIndex(ctx, st, opt)
}
