package audit

import (
	"io"
	"time"
)

// Filter selects entries of a log; a zero field selects every entry.
type Filter struct {
	Key string // the API key or CLI user that screened
	// Address matches the input as given or the address it parsed to.
	Address string
	Levels  map[string]bool // risk levels, lower case
	Since   time.Time       // entries at or after
}

// Match tells whether e passes every set field of f.
func (f Filter) Match(e Entry) bool {
	return (f.Key == "" || e.Key == f.Key) &&
		(f.Address == "" || e.Input == f.Address || e.Address == f.Address) &&
		(len(f.Levels) == 0 || f.Levels[e.Level]) &&
		(f.Since.IsZero() || !e.Time.Before(f.Since))
}

// Last reads a log and returns, in order, the last limit entries that f
// matches (every one when limit <= 0), holding at most 2×limit in memory.
func Last(r io.Reader, f Filter, limit int) ([]Entry, error) {
	var out []Entry
	err := Read(r, func(e Entry) error {
		if !f.Match(e) {
			return nil
		}
		out = append(out, e)
		if limit > 0 && len(out) > 2*limit {
			out = append(out[:0], out[len(out)-limit:]...)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if limit > 0 && len(out) > limit {
		out = out[len(out)-limit:]
	}
	return out, nil
}
