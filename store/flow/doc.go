// Package flow keeps a compact, memory-mapped copy of the store's
// transaction graph for walks: per transaction its txid and block, its
// inputs (the outputs they spend) and its outputs (value, address key and
// spending input). A forward trace reads a transaction with a few array
// lookups here instead of two Badger point reads, which is what bounds a
// walk over the store (see the tracer package).
//
// The index is derived data: Open builds it after ingest, extends it when
// the store's tip has grown, cuts it back to the fork after a reorg, and
// rebuilds it after an update that was killed half-way. It lives in the store directory, under flow/,
// and costs about 99 bytes per transaction (see flow.go for the layout).
// Full addresses are not kept, only a 4-byte key per output (KeyOf);
// callers that need an address read the transaction from the store.
package flow
