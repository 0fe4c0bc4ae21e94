// Package seedsel selects the seeds of a trace and the labels it stops at
// from what the store holds: addresses given by hand, a seed file, the
// stored sanctions list (by entity, program or profile) and the stored tag
// packs (by category or by pack). `tracer trace` and `tracer jobs run` share
// it, so one selection means the same seeds in both.
//
// A Selector caches the sanctions list and the tags it read, so many
// selections over one store (a batch of jobs) read them once; it is safe
// for concurrent use.
package seedsel
