// Package cluster groups addresses into entities (clusters) and labels them.
//
// Run is a pass over the stored chain after ingest. It applies the
// common-input-ownership heuristic (every input address of a transaction
// belongs to one entity) to every transaction but coinbases and
// CoinJoin-like transactions (see CoinJoin for the shapes), and, only when
// asked, change heuristics (see Rule). The union-find runs in memory over
// dense address ids and is committed to the store atomically
// (store.ClusterWriter); a second Run loads it and continues from the first
// transaction not yet clustered, and a killed Run resumes from its last
// commit. A process that follows the chain keeps a Clusterer open and
// calls Extend after each block; a rollback of the chain undoes the stored
// clusters exactly (store.Store.Rollback) and the next Extend follows it.
//
// A guard refuses, and records, any merge of two clusters that are both
// larger than Options.MaxMerge addresses: careless heuristics make one
// entity swallow half the chain, and a refused merge is where to look.
//
// Labeler labels every address of a cluster that holds a cluster-defining
// tag (sanctions.Tag.IsClusterDefiner); a cluster holding tags of two
// different entities is a conflict, reported and never resolved: it gets
// no cluster label.
//
// Multi-owner transactions: the pass skips every transaction MultiOwner
// names (the CoinJoin shapes — Whirlpool, WabiSabi, Wasabi 1, Stonewall,
// JoinMarket, equal split — and PayJoin); Detect also names Whirlpool's
// Tx0, which has one owner and is clustered as usual. Package
// tracer/cluster/accuracy scores all of it against the generator's ground
// truth.
package cluster
