// Package tracer follows bitcoin through the transaction graph: forward from
// seed addresses (where did it go) and backward from an address or output
// (where did it come from), under a chosen taint model, stopping at
// labelled entities such as exchanges. It reads the chain through the small
// Graph interface, so tests can hand it an in-memory fake; the store
// implements it.
package tracer
