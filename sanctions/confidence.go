package sanctions

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// confidenceLevels is the GraphSense confidence taxonomy (confidence.csv of
// graphsense-tagpack-tool): id -> level in 0..100.
var confidenceLevels = map[string]int{
	"override":               100,
	"ownership":              100,
	"ledger_immanent":        100,
	"manual_transaction":     90,
	"service_api":            70,
	"forensic_investigation": 70,
	"authority_data":         60,
	"trusted_provider":       50,
	"service_data":           50,
	"forensic":               50,
	"untrusted_transaction":  40,
	"web_crawl":              20,
	"heuristic":              10,
	"unknown":                5,
}

// ConfidenceLevel returns the level (0..100) of a GraphSense confidence id
// such as "service_data" or "web_crawl" (case-insensitive).
func ConfidenceLevel(id string) (int, bool) {
	l, ok := confidenceLevels[strings.ToLower(strings.TrimSpace(id))]
	return l, ok
}

// ParseConfidence reads a minimum confidence: a GraphSense confidence id
// (web_crawl, service_data, ...) or a level from 0 to 100.
func ParseConfidence(s string) (int, error) {
	if l, ok := ConfidenceLevel(s); ok {
		return l, nil
	}
	if n, err := strconv.Atoi(strings.TrimSpace(s)); err == nil && n >= 0 && n <= 100 {
		return n, nil
	}
	ids := make([]string, 0, len(confidenceLevels))
	for id := range confidenceLevels {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b string) int { return cmp.Or(confidenceLevels[b]-confidenceLevels[a], strings.Compare(a, b)) })
	return 0, fmt.Errorf("sanctions: confidence %q: want a level 0-100 or one of %s", s, strings.Join(ids, ", "))
}

// ConfidenceLevel is the level (0..100) of the tag's confidence; 0 when it
// has none or an unknown id.
func (t Tag) ConfidenceLevel() int {
	l, _ := ConfidenceLevel(t.Confidence)
	return l
}
