// Package export writes tracer's data as tables for analysis tools
// (DuckDB, pandas, Spark, R's arrow): Apache Parquet files (zstd, row
// groups of RowGroupRows rows), or CSV with the same columns. Writes
// stream: memory is bounded by one row group per table, whatever the size
// of the range.
//
// # Trace tables (Traces, `tracer export trace`)
//
// edges — one row per edge of each trace's flow graph (tracer.Edge):
//
//	job          string   the job (folder) or report name
//	direction    string   forward | backward
//	model        string   poison | haircut | fifo | lifo | tiho
//	from_txid    string   transaction paying the output
//	from_height  int32
//	vout         int32    the output
//	to_txid      string?  transaction spending it; null where the branch ends
//	to_height    int32?
//	address      string   the output's address
//	value_sat    int64    the output's value
//	tainted_sat  int64    tainted value on it under the model
//	end          string?  why the branch ends: hit | holding | dust | limit | window | wide | before_range
//
// hits — one row per hit (tracer.Hit): job, direction, model, entity,
// category, tag_source, via, address, txid, vout (int32), height (int32),
// time_utc, hops (int32), value_sat, tainted_sat (int64), share (double),
// seed_address, path (txids joined by '>').
//
// # Graph tables (Graph, `tracer export graph`)
//
// For the blocks from..to, in chain order:
//
// txs:
//
//	txid      string
//	number    int64   the store's transaction number (chain order)
//	height    int32
//	position  int32   in its block
//	fee_sat   int64?  null when an input spends from before the store's first block; for a coinbase: outputs − subsidy
//	vsize     int32
//	n_in      int32
//	n_out     int32
//	coinbase  boolean
//
// inputs:
//
//	txid       string
//	vin        int32
//	prev_txid  string?  null for a coinbase input
//	prev_vout  int32?
//	value_sat  int64?   null for coinbase inputs and inputs spending before the store's first block
//	address    string?  of the spent output
//
// outputs:
//
//	txid           string
//	vout           int32
//	value_sat      int64
//	type           string   p2pk, p2pkh, p2sh, p2wpkh, p2wsh, p2tr, multisig, op_return, nonstandard
//	address        string?  null for op_return; "script:<hex>" / "multisig:<hex>" for those types
//	spent_by_txid  string?  null while unspent at the store's tip
//	spent_by_vin   int32?
//
// "?" marks a nullable (optional) column. Amounts are satoshi.
//
// # SQL recipes (sql/)
//
// sql/ holds SQL over the graph tables, in the subset DuckDB, Spark SQL
// (3.x and later) and Trino share: no recursive CTE (Spark SQL has none
// before 4.x), no engine-specific functions. Two more tables are the
// caller's: seeds(address) and tags(address, entity, category).
//
//	flow_seed.sql  CREATE TABLE flow: the seeds' outputs, hop 0
//	flow_hop.sql   INSERT INTO flow: one hop; run until flow stops growing
//	exposure.sql   per exchange deposit address: hits, tainted_sat, min_hops
//	cluster_sizes.sql  per entity of `tracer export clusters`: addresses, label
//	duckdb.mjs     runs them with DuckDB for Node over an export folder
//
// flow follows the poison model with the stops and default limits of a
// forward trace, so its rows are the trace's edges and its 'hit' rows the
// trace's hits; an integration test checks that, and the cluster sizes
// against the store's forest, on a generated chain. CI runs DuckDB only.
package export
