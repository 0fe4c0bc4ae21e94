// Package sanctions holds the types shared by the sanctions-list, seed-list
// and attribution-tag parsers: an Entry is one sanctioned digital-currency
// address as published by an authority, a List is one published edition of
// such a list, a Seed is an address a trace starts from, and a Tag is an
// attribution label for an address.
//
// The parsers live in sub-packages: sanctions/ofac reads the OFAC SDN list in
// every format OFAC publishes, sanctions/seeds reads seed lists and
// sanctions/tags reads GraphSense TagPacks, ActorPacks and plain tag CSVs.
// This package only defines the types and pure helpers on them (sorting,
// look-ups, Diff and Filter); it does no I/O.
package sanctions
