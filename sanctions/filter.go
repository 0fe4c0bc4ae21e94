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
	if f.Program != "" && !hasProgram(e, strings.TrimSpace(f.Program)) {
		return false
	}
	if !f.designated(e) {
		return false
	}
	if f.Entity != "" && !MatchesName(e, f.Entity) {
		return false
	}
	return true
}

// hasProgram reports whether e is listed under program (any case).
func hasProgram(e Entry, program string) bool {
	for _, p := range e.Programs {
		if strings.EqualFold(p, program) {
			return true
		}
	}
	return false
}

// designated reports whether e's designation date is within f's bounds,
// by calendar date (an unknown date is within none).
func (f Filter) designated(e Entry) bool {
	if !f.DesignatedFrom.IsZero() && (e.Designated.IsZero() || e.Designated.Before(day(f.DesignatedFrom))) {
		return false
	}
	if !f.DesignatedTo.IsZero() && (e.Designated.IsZero() || e.Designated.After(day(f.DesignatedTo))) {
		return false
	}
	return true
}

// NameKey is the form entity names are compared in: lower case, spaces
// trimmed and collapsed. Two names with the same key are the same name.
func NameKey(name string) string {
	return strings.Join(strings.Fields(strings.ToLower(name)), " ")
}

// MatchesName is the one rule for naming a sanctioned entity, used by every
// command (trace --entity, watch add --entity, jobs, the API): name matches
// an entry when its key is part of the key of the entry's primary name or
// of one of its aliases ("golden lotus" names "GOLDEN LOTUS HOLDINGS
// LTD."). An empty name matches nothing.
func MatchesName(e Entry, name string) bool {
	k := NameKey(name)
	if k == "" {
		return false
	}
	if strings.Contains(NameKey(e.PrimaryName), k) {
		return true
	}
	for _, a := range e.Aliases {
		if strings.Contains(NameKey(a), k) {
			return true
		}
	}
	return false
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
