package live

import (
	"context"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/tracer/screen"
)

// The exposure index's contract (package screen), in one place.

// errIndexStale is an index that cannot be brought forward (built for
// another list, tags or options, or behind a reorganisation deeper than
// its undo records): it must be rebuilt.
var errIndexStale = screen.ErrIndexStale

// updateIndex brings generation gen to the store's tip, block by block,
// undoing reorganised blocks first.
func updateIndex(ctx context.Context, st *store.Store, gen uint32, opt screen.Options) (store.ExposureIndex, error) {
	hdr, _, err := screen.UpdateIndex(ctx, st, gen, opt)
	return hdr, err
}

// buildIndex builds a generation for the data in force and makes it current.
func buildIndex(ctx context.Context, st *store.Store, opt screen.Options) (store.ExposureIndex, error) {
	return screen.BuildIndex(ctx, st, opt)
}

// pendingBuilds says whether buildPending can build a generation beside
// the writing loop.
const pendingBuilds = true

// buildPending builds a generation for the data snap has in force (its
// chain up to its tip, its list and tags), writing it to st without
// making it current.
func buildPending(ctx context.Context, snap, st *store.Store, opt screen.Options) (store.ExposureIndex, error) {
	opt.Pending = true
	return screen.BuildIndex(ctx, pendingStore{Store: snap, w: st}, opt)
}

// pendingStore is a snapshot for reading the chain, list and tags, whose
// exposure index writes (and the reads of the generation being built) go
// to the store itself.
type pendingStore struct {
	*store.Store
	w *store.Store
}

// Exposure is the store's exposure index: the build writes and reads its
// generation there, never on the snapshot. (BuildIndex with
// Options.Pending, as buildPending sets it, does not switch the index in
// force.)
func (p pendingStore) Exposure() store.Exposure { return p.w.Exposure() }
