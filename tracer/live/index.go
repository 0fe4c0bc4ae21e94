package live

import (
	"context"
	"errors"
	"fmt"

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

// pendingBuilds says whether buildPending can build a generation beside
// the writing loop.
const pendingBuilds = false

// buildPending builds a generation for the data snap has in force,
// writing it to st without making it current.
func buildPending(ctx context.Context, snap, st *store.Store, opt screen.Options) (store.ExposureIndex, error) {
	return store.ExposureIndex{}, errors.New("live: pending builds need screen.BuildIndex with Options.Pending")
}

// useIndex makes generation gen the one in force.
func useIndex(st *store.Store, gen uint32) error {
	if hdr, err := st.ExposureIndexInfo(); err != nil || hdr.Gen != gen {
		return fmt.Errorf("live: exposure index generation %d is not the one in force (%d, %v)", gen, hdr.Gen, err)
	}
	return nil
}
