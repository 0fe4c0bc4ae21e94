package sanctions

import "time"

// TagPack is one tag file as sanctions/tags reads it: its BTC tags and what
// was skipped, and why.
type TagPack struct {
	Title       string
	Creator     string
	Description string
	Source      string    // file name
	LastMod     time.Time // header lastmod; zero when absent
	Tags        []Tag
	Skipped     map[string]int // tags of other currencies, by upper-case currency
	NoAddress   int            // BTC tags of a transaction (tx_hash), not an address: skipped
	// Invalid are the BTC tags rejected by validation and skipped
	// (tags.Options.SkipInvalid only; without it the first fails the pack).
	Invalid      []InvalidTag
	NoConfidence int // tags without confidence, set to "unknown" as tagpack-tool does
	Warnings     []string
}

// InvalidTag is a tag rejected by validation.
type InvalidTag struct {
	Line    int
	Address string
	Label   string
	Kind    string // what was wrong, for counting: "bad address", "no source", "unknown category", ...
	Err     string
}

// Actor is one entry of an ActorPack.
type Actor struct {
	ID            string
	Label         string
	URI           string
	Categories    []string
	Jurisdictions []string
}

// ActorPack is a GraphSense ActorPack.
type ActorPack struct {
	Title   string
	Creator string
	Source  string
	LastMod time.Time
	Actors  []Actor
}

// ByID indexes the actors by id.
func (ap *ActorPack) ByID() map[string]Actor {
	m := make(map[string]Actor, len(ap.Actors))
	for _, a := range ap.Actors {
		m[a.ID] = a
	}
	return m
}
