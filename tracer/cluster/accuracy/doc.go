// Package accuracy scores clustering and the collaborative-transaction
// detectors against the generator's ground truth (store/chaingen's
// owners.csv and collaborative.csv).
//
// Clustering is scored pairwise: a pair of addresses is a true link when
// one owner holds both, and a predicted link when one cluster does.
// Precision is true predicted links over predicted links, recall true
// predicted links over true links. Neither is computed over pairs: with
// n(c,o) the addresses of owner o in cluster c, n(c) and n(o) the sums,
// the true predicted links are Σ C(n(c,o),2), the predicted Σ C(n(c),2)
// and the true Σ C(n(o),2), so a score costs one pass over owners.csv
// (one cluster lookup per address) and memory in proportion to the
// clusters, not to the pairs. Only addresses in owners.csv count: every
// address the chain pays. An address in no cluster is a cluster of its own.
//
// Clusters are read through the store's cluster view (store.Clusters), so
// the score does not depend on how they were computed.
//
// The confusion table counts, for every transaction of the chain, its true
// collaborative kind (from collaborative.csv, "none" for the rest) against
// the kind cluster.Detect gives it ("" for none).
package accuracy
