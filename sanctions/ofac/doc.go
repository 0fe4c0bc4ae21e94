// Package ofac reads the OFAC Specially Designated Nationals (SDN) list in
// every format OFAC publishes and returns the digital-currency addresses on
// it as a sanctions.List:
//
//   - sdn_advanced.xml (ADVANCED_XML schema). Elements are matched by local
//     name, so both the pre-2024 namespace (http://www.un.org/sanctions/1.0)
//     and the sanctionslistservice.ofac.treas.gov namespace are read. The
//     "Digital Currency Address - XXX" feature types are found by their text
//     in ReferenceValueSets, never by a hard-coded ID, so new currencies are
//     picked up automatically. The file is streamed with encoding/xml; only
//     parties that carry a digital-currency address are kept in memory.
//   - the legacy SDN.XML (sdnList/sdnEntry, idList/id with idType
//     "Digital Currency Address - XBT").
//   - the legacy sdn.csv, joined by ent_num with sdn_comments.csv (the
//     continuation of remarks that OFAC cuts at 1,000 characters) and,
//     optionally, alt.csv (aliases). Without sdn_comments.csv an address at
//     the cut point may be incomplete: it is dropped and counted, never
//     returned, and List.Warnings says how many remarks were cut.
//
// Input may be plain, gzip, bzip2 or zip; the wrapper and the format are
// detected from the content (magic bytes, root element, column count), with
// the file name only as a tie-breaker.
//
// A malformed or truncated file yields a *ParseError that names the file,
// line and column or element, and no list: a partial sanctions list is
// worse than none. Problems that do not make the file unreadable are
// reported in List.Warnings instead. In particular an XBT address that does
// not decode as a mainnet Bitcoin address is kept but warned about, with its
// location: OFAC publishes typos, and silently dropping an official entry
// would hide a sanctioned party, while the warning lets the caller decide.
// Addresses of other assets are trimmed but not validated.
package ofac
