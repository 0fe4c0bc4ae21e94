// Package audit keeps the audit trail of screening: one JSON line per
// screened input (CLI or API), with the time, who asked (the API key's name,
// or the CLI user), the input, the address, the risk, the policy level and
// rule, the sanctions list version and the chain tip the answer came from.
//
// The log is hash-chained: each line carries the SHA-256 of the line before
// it ("prev") and, last, the SHA-256 of its own bytes up to that field
// ("hash"), so an edited line fails its own hash, and a removed, inserted or
// reordered line breaks the sequence number and the chain at that place.
// Verify names the first bad line. The chain cannot show that lines were cut
// off the end; record the head hash Verify reports elsewhere (a ticket, a
// second system) and check it later with Report.Contains.
//
// Appends are crash-safe: the lines of one Append are written with one write
// and synced before Append returns, under an exclusive lock on the file (so
// a CLI screen and tracer serve can share one log). An append torn by a
// crash leaves a last line without its newline; the next Append cuts it off
// and first records what it cut (its length and SHA-256) in an entry of
// source "audit", so nothing disappears silently.
package audit
