// Package tags reads Bitcoin attribution tags: GraphSense TagPacks (YAML),
// GraphSense ActorPacks (YAML) and plain tag CSVs.
//
// In a TagPack every tag field placed in the header (currency/network,
// label, category, actor, abuse, confidence, source, lastmod,
// is_cluster_definer, context, ...) is inherited by every tag that lacks it.
// Only Bitcoin tags with an address are returned: tags of other currencies
// are counted in Pack.Skipped by currency, tags without an address (tx_hash
// tags) in Pack.NoAddress. A BTC address that does not decode as a mainnet
// address is an error naming the file and line. Categories and abuse kinds
// are lower-cased and kept even when not in the known taxonomy
// (KnownCategory tells).
package tags
