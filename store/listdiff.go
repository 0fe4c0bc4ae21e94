package store

import (
	"errors"
	"fmt"

	"github.com/tracer-oss/tracer/sanctions"
)

var (
	// ErrNoList is a query of the current sanctions list when none is loaded.
	ErrNoList = errors.New("store: no sanctions list loaded")
	// ErrNoPrevious is a diff against the version before the current one
	// when the current one is the first.
	ErrNoPrevious = errors.New("store: no sanctions list version before the current one")
)

// ListDiff is what changed between two stored versions of the sanctions
// list: the entries added and removed (sanctions.Diff), with both headers.
type ListDiff struct {
	Old, New       ListVersion
	Added, Removed []sanctions.Entry
}

// Diff compares stored versions older and newer, keeping the
// entries f matches. With both 0 it compares the current version with the
// one stored before it (ErrNoList, ErrNoPrevious when there are none).
func (ls Lists) Diff(older, newer uint32, f sanctions.Filter) (*ListDiff, error) {
	if older == 0 && newer == 0 {
		vs, err := ls.Versions()
		if err != nil {
			return nil, err
		}
		for _, v := range vs {
			if v.Current {
				newer = v.Version
				break
			}
			older = v.Version
		}
		if newer == 0 {
			return nil, ErrNoList
		}
		if older == 0 {
			return nil, ErrNoPrevious
		}
	}
	d := &ListDiff{}
	var lists [2]*sanctions.List
	for i, v := range []uint32{older, newer} {
		h, err := ls.Version(v)
		if err != nil {
			return nil, err
		}
		if lists[i], err = ls.List(v); err != nil {
			return nil, fmt.Errorf("sanctions list version %d: %w", v, err)
		}
		if i == 0 {
			d.Old = h
		} else {
			d.New = h
		}
	}
	d.Added, d.Removed = sanctions.DiffMatching(lists[0], lists[1], f)
	return d, nil
}
