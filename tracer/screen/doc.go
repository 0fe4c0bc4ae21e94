// Package screen answers the compliance question "is this address exposed
// to sanctioned funds?" (GitHub issue 7).
//
// A screen reports the address's direct designation (an entry of the
// sanctions list in force, or a tag of a risky category such as
// mixing_service, market or ransomware) and its indirect exposure: the
// amount and share of everything it received that traces back to
// sanctioned addresses (and, separately, to each risky tag category) under
// the haircut model (poison selectable), the nearest source and its hop
// count, and the top contributing sources with one example path each.
//
// Two methods give the same answer. Fresh walks backward from the address
// (tracer.Backward) to any labelled address. The exposure index is built
// forward, once, from every source (tracer.Forward, one walk per sanctioned
// entity and per risky category, so the per-source breakdown is exact) and
// stored per receiving address, so a screen is a point read. Both end a
// branch at every labelled address: a sanctioned address (a source), a
// risky-tagged one (a source of its category) and any other tagged service
// such as an exchange, whose commingled funds break the trail, as analytics
// providers treat them. With Options.Clusters (the cluster labels a trace
// uses, by package tracer/spec's rule) an address its cluster labels ends a
// branch too, exactly as in a trace, so funds are counted at an exchange's
// untagged deposit address and not again at its hot wallet; a cluster label
// is a barrier, never a source. Hops count as package tracer/spec defines. Under haircut the two agree to the satoshi up to
// floor rounding (at most one satoshi per edge); under poison they agree
// exactly on which outputs are tainted.
//
// An address that is itself a source (listed, or tagged with a risky
// category) reports its designation; its indirect exposure is not computed.
//
// The index records the sanctions list version, the chain tip and the tag
// pack generations it was built for; Status says when it is stale.
package screen
