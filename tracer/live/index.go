package live

import (
	"context"
	"errors"

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

// useIndex makes generation gen the one in force.
func useIndex(st *store.Store, gen uint32) error { return st.UseExposureIndex(gen) }

// pendingStore is a snapshot for reading the chain, list and tags, whose
// exposure index writes (and the reads of the generation being built) go
// to the store itself.
type pendingStore struct {
	*store.Store
	w *store.Store
}

func (p pendingStore) NewExposureIndex() (*store.ExposureWriter, error) {
	return p.w.NewExposureIndex()
}

func (p pendingStore) ExposureIndexHeader(gen uint32) (store.ExposureIndex, error) {
	return p.w.ExposureIndexHeader(gen)
}

func (p pendingStore) UseExposureIndex(uint32) error {
	return errors.New("live: a pending build does not switch the index in force")
}

func (p pendingStore) UpdateExposure(gen uint32, fn func(u *store.ExposureUpdate) error) error {
	return p.w.UpdateExposure(gen, fn)
}

func (p pendingStore) ExposureTxShares(gen uint32, n store.TxNum) ([]byte, bool, error) {
	return p.w.ExposureTxShares(gen, n)
}

func (p pendingStore) ExposureDirty(gen uint32, limit int) ([]string, error) {
	return p.w.ExposureDirty(gen, limit)
}

func (p pendingStore) Exposure(gen uint32, addr string, buf []byte) ([]byte, bool, error) {
	return p.w.Exposure(gen, addr, buf)
}

func (p pendingStore) ExposureAcc(gen uint32, addr string) ([]byte, bool, error) {
	return p.w.ExposureAcc(gen, addr)
}

func (p pendingStore) ForEachExposureAcc(gen uint32, fn func(addr string, v []byte) error) error {
	return p.w.ForEachExposureAcc(gen, fn)
}
