// Package live is the live screening service behind `tracer serve --rpc`:
// one process owns the store, follows a node (package follow, one loop
// writing everything), keeps the derived indexes current block by block,
// and publishes after each complete step a new consistent view — a
// snapshot of the store with the screener, list and exposure index it
// answers from — that the HTTP API (package api) takes per request.
// Admin changes (a new sanctions list, a tag pack, watches) run on the
// same loop; a new list's index is built while screens keep answering
// from the previous list, and the switch is one publication.
package live
