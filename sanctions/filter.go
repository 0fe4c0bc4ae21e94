package sanctions

import (
	"strings"
	"time"
)

// Filter selects entries. Zero fields match everything; set fields must all
// match.
type Filter struct {
	Entity         string    // case-insensitive substring of the primary name or an alias
	ProfileID      int64     // exact profile id
	Program        string    // case-insensitive program name, exact ("TCO", "CYBER2")
	Asset          string    // case-insensitive asset code ("XBT")
	DesignatedFrom time.Time // entries designated on or after this date
	DesignatedTo   time.Time // entries designated on or before this date
}

// Match reports whether e satisfies every set field of f. An entry with an
// unknown designation date never matches a date bound.
func (f Filter) Match(e Entry) bool {
	if f.ProfileID != 0 && e.ProfileID != f.ProfileID {
		return false
	}
	if f.Asset != "" && !strings.EqualFold(strings.TrimSpace(f.Asset), e.Asset) {
		return false
	}
	if f.Program != "" {
		ok := false
		for _, p := range e.Programs {
			if strings.EqualFold(p, strings.TrimSpace(f.Program)) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	if !f.DesignatedFrom.IsZero() && (e.Designated.IsZero() || e.Designated.Before(day(f.DesignatedFrom))) {
		return false
	}
	if !f.DesignatedTo.IsZero() && (e.Designated.IsZero() || e.Designated.After(day(f.DesignatedTo))) {
		return false
	}
	if name := strings.ToLower(strings.TrimSpace(f.Entity)); name != "" {
		ok := strings.Contains(strings.ToLower(e.PrimaryName), name)
		for _, a := range e.Aliases {
			if ok {
				break
			}
			ok = strings.Contains(strings.ToLower(a), name)
		}
		if !ok {
			return false
		}
	}
	return true
}

// day truncates t to its UTC calendar date so bounds compare by date.
func day(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// Date returns the UTC midnight of the given calendar date.
func Date(year int, month time.Month, d int) time.Time {
	return time.Date(year, month, d, 0, 0, 0, 0, time.UTC)
}
