// Package follow keeps a store on a live node's best chain (GitHub issue 8):
// it polls the node, syncs new blocks (undoing the store's blocks that left
// the best chain, within the reorganisation limit), raises alerts on
// watched addresses in the same commits, delivers them, and serves
// /healthz and /metrics. It stops cleanly when its context ends; a restart
// continues from the store's committed state and the outbox.
package follow
