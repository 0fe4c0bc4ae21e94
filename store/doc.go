// Package store is tracer's embedded database: blocks, transactions, outputs,
// spent-by links and the address index of one Bitcoin network, kept in a
// Badger directory. It exports domain types and methods (Tx, Block,
// AddressOutputs, Spenders); no Badger type appears in its API.
//
// Transactions are numbered in chain order (TxNum: the first transaction of
// the store is 0, then block by block, position by position), and every key
// that repeats uses those compact numbers rather than 32-byte hashes; see
// keys.go for every key family.
//
// Writes go through a Batch, which the ingester fills block by block and
// commits with the new chain state. The state key is written only after the
// batch's data, so a store killed at any moment reopens at its last
// committed block and a re-run rewrites the same keys with the same values.
package store
