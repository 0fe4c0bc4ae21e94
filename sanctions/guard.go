package sanctions

import (
	"errors"
	"fmt"
)

// MaxShrink is the share of addresses a new edition may lose against the
// list in force before CheckReplacement refuses it: OFAC removes addresses
// rarely and a few at a time (no XBT address was removed from 2021 to
// 2025), while a truncated or wrong file loses many at once.
const MaxShrink = 0.20

// Errors of CheckReplacement.
var (
	ErrEmptyList = errors.New("sanctions: the new list has no entries")
	ErrShrunk    = errors.New("sanctions: the new list is much shorter than the list in force")
)

// ShrinkError says by how much a new edition is shorter.
type ShrinkError struct {
	Before, After int     // distinct addresses, every asset
	Max           float64 // the share allowed to go
}

func (e *ShrinkError) Error() string {
	return fmt.Sprintf("sanctions: the new list has %d addresses, %d (%.1f%%) fewer than the %d of the list in force (more than %.0f%% fewer is refused)",
		e.After, e.Before-e.After, 100*float64(e.Before-e.After)/float64(e.Before), e.Before, 100*e.Max)
}

func (e *ShrinkError) Unwrap() error { return ErrShrunk }

// CheckReplacement refuses a new edition next that has no entries, or whose
// distinct addresses (every asset) are more than maxShrink fewer than those
// of current (nil when no list is in force). maxShrink <= 0 means MaxShrink.
func CheckReplacement(current, next *List, maxShrink float64) error {
	if maxShrink <= 0 {
		maxShrink = MaxShrink
	}
	if next == nil || len(next.Entries) == 0 {
		return ErrEmptyList
	}
	if current == nil {
		return nil
	}
	before, after := len(current.Addresses("")), len(next.Addresses(""))
	if before > 0 && float64(before-after) > maxShrink*float64(before) {
		return &ShrinkError{Before: before, After: after, Max: maxShrink}
	}
	return nil
}
