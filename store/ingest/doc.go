// Package ingest reads block files into the store.
//
// It works in two passes. The first reads only the 80-byte header of every
// record, links headers by previous hash, and picks the chain with the most
// cumulative work; stale fork blocks and blocks after a gap are counted and
// skipped. The second decodes the chosen chain's blocks in parallel (a
// reader, N decoders that scan each block's bytes in place, scan.go) and
// hands them in height order to one writer, which
// numbers transactions, resolves every input to the output it spends
// through a bounded in-memory cache of recent transactions (falling back to
// the store, as a node's UTXO cache falls back to its database), and writes
// records, spent-by links and the address index in batches. Each batch is
// committed with the new tip, so a killed run restarts at its last commit and
// an interrupted one (SIGINT) stops at a block boundary.
//
// A run may start after genesis (a pruned node's files): the first block's
// height comes from --start-height or the BIP34 height in its coinbase, and
// inputs spending outputs from before it are kept as external references
// with unknown value.
//
// Sync reads a live node instead (a Node, such as rpcnode.Client): the same
// loaders-and-one-writer pipeline fetches blocks by height in parallel.
// Both paths handle a best chain that leaves the stored one the same way:
// the stored blocks above the fork are undone with store.Rollback (at most
// Config.MaxReorg, else ErrReorgTooDeep and nothing changes) and the new
// ones applied. The writer refuses a block that does not build on the tip
// (ErrChainMoved: the node switched chains while Sync fetched), and Sync
// starts over. An Observer (tracer/alert) sees every stored transaction and
// adds its alerts to the same commits.
package ingest
