// Package rpcnode reads the best chain from a Bitcoin Core or btcd node over
// JSON-RPC (btcd's rpcclient in HTTP POST mode): getblockchaininfo for the
// network and tip, getblockhash, and getblock with verbosity 0 for the raw
// block. A Client holds a pool of connections so that ingest.Sync can fetch
// blocks in parallel; it implements ingest.Node.
package rpcnode
