// Package alert raises and delivers alerts on watched addresses while
// blocks are ingested (GitHub issue 8).
//
// An Alerter is an ingest.Observer: it resolves the store's watch list
// (addresses, sanctioned entities by name, the whole sanctions list) to
// addresses, keeps the unspent outputs they hold, and for every stored
// transaction that pays into or spends from a watched address queues an
// alert in the store's outbox, in the same commit as the block. Deliver
// sends pending alerts in order to sinks (a JSON-lines file or stream, an
// HTTP webhook signed with HMAC-SHA256) and marks each delivered; alerts
// of undone blocks are retracted by the store (see store/outbox.go).
package alert
