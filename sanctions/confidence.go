package sanctions

import "strings"

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
