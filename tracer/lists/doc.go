// Package lists loads sanctions lists and tag packs into a store: the one
// implementation behind `tracer sanctions load/update`, `tracer tags load`
// and the admin routes of `tracer serve` (POST /v1/admin/sanctions and
// /v1/admin/tags). Inputs are readers with a name (a file, an upload's
// body), so every path reads the same formats the same way: for lists,
// OFAC's sdn_advanced.xml, SDN.XML and legacy sdn.csv (with
// sdn_comments.csv and alt.csv), plain or in .zip, .gz or .bz2 (see
// sanctions/ofac); for tags, GraphSense TagPacks and ActorPacks and tag CSVs
// (see sanctions/tags).
//
// Every path keeps the same safety: a list that has no entries, or more
// than 20% fewer distinct addresses than the list in force, is refused
// unless forced (sanctions.CheckReplacement); every file is parsed before
// anything is stored; a failure stores nothing. Errors in what was given
// (a malformed file, an unknown format, a refused list, a missing file)
// match ErrBadInput, so a CLI can exit 2 and a server answer 400.
package lists
