// Package report renders a tracer.Result for people and programs: a
// terminal summary (Text), the stable JSON schema (JSON), one CSV row per
// hit (CSV), the flow graph for Graphviz (DOT), the flow graph as a picture
// laid out here without Graphviz (SVG), and one self-contained HTML page for
// a case file (HTML). Write dispatches on a format name; Formats lists them.
//
// Every renderer writes to an io.Writer and returns errors; none prints.
// Output is byte-deterministic: the same Result gives the same bytes (the
// HTML's "generated at" line comes from Renderer.Now). Amounts are formatted
// from satoshi with integer arithmetic (BTC), never through float64. Strings
// from the result are untrusted: control characters are cleaned from every
// format, and SVG, DOT and HTML escape what they write.
//
// # JSON schema (schema_version 1)
//
// The JSON form is tracer.Result's; field order is fixed and map keys are
// sorted. Amounts are integers in satoshi (suffix _sat).
//
//	schema_version         int     1; bumped on any incompatible change
//	params                 object  the trace's parameters:
//	  direction            string  "forward" (where did it go) | "backward" (where did it come from)
//	  model                string  taint model: poison | haircut | fifo | lifo | tiho
//	  fees_tainted         bool    whether fees carry taint (counted in totals.fees_sat)
//	  max_hops             int     transactions followed from a seed output, at most
//	  min_value_sat        int     dust: smaller tainted amounts are not followed
//	  since_height         int     lowest height followed; -1: no bound
//	  until_height         int     highest height followed; -1: no bound
//	  max_txs              int     transactions visited, at most
//	  wide_outputs         int     transactions with more outputs are not followed through
//	  stop_categories      [string] tag categories that end a branch and count as hits
//	  started              string  RFC 3339 UTC start time
//	  elapsed_seconds      number  wall time of the trace
//	  txs_visited          int     transactions visited
//	  store_reads_per_tx   number  store reads per visited transaction
//	data                   object  the data the result was computed on:
//	  network              string  e.g. "mainnet"
//	  tip_height           int     height of the store's chain tip
//	  tip_hash             string  hash of the tip block (hex)
//	  sanctions_list       string  the sanctions list version, if seeds came from one (omitted if empty)
//	  tag_packs            [string] entity tag packs used, with versions (omitted if empty)
//	seeds                  [object] starting addresses:
//	  address              string  the seed address
//	  label                string  e.g. the SDN entity (omitted if empty)
//	  source               string  e.g. "OFAC SDN 2025-11-19, profile 55505" (omitted if empty)
//	  outputs              int     outputs it received that the trace starts from
//	  received_sat         int     value of those outputs
//	hits                   [object] hops into labelled entities, in chain order:
//	  entity               string  e.g. "Binance"
//	  category             string  e.g. "exchange"
//	  tag_source           string  the tag pack that labels the address
//	  via                  string  "tag" (the address is tagged) | "cluster" (its cluster's entity is)
//	  link_txid            string  with via cluster: the tx linking the address to the tag (omitted if empty)
//	  address              string  the deposit address
//	  txid, vout           string, int  the output paying it
//	  height               int     block height of txid
//	  time                 string  block time, "2006-01-02 15:04:05 UTC"
//	  hops                 int     transactions from the seed's output to txid, inclusive
//	  value_sat            int     the output's value
//	  tainted_sat          int     the tainted part of it
//	  share                number  tainted_sat / value_sat, 0..1
//	  seed_address         string  the seed the taint came from
//	  path                 [object] {txid, height} per transaction, from the one spending the seed's output to txid
//	holdings               [object] tainted outputs unspent at the tip:
//	                               address, txid, vout, height, hops, value_sat, tainted_sat as in hits
//	edges                  [object] the flow graph's tainted value moving between transactions:
//	  from_txid, vout      string, int  the output
//	  to_txid              string  the transaction spending it; omitted when the branch ends here
//	  address              string  the output's address
//	  value_sat            int     the output's value
//	  tainted_sat          int     the tainted part moving along this edge
//	  end                  string  why the branch ends (omitted if it goes on): hit | holding | dust | limit | window | wide
//	                               | before_range (backward: an input spending an output from before the store's
//	                               range; from_txid:vout is that output, its value unknown, value_sat 0)
//	nodes                  [object] the flow graph's transactions:
//	  txid, height, hops   string, int, int
//	  tainted_in_sat       int     tainted value entering it
//	  seed                 bool    funding tx of a seed output (omitted if false)
//	totals                 object  sums, exact in satoshi; traced = to_entities + unspent + fees + dust + cut_by_limits
//	                               (+ before_range_sat backward)
//	                               for every model but poison, which copies taint:
//	  traced_sat           int     tainted value leaving the seeds
//	  to_entities_sat      int     reaching labelled entities (hits)
//	  per_entity_sat       {string: int} the same per entity name
//	  unspent_sat          int     still unspent (holdings)
//	  fees_sat             int     paid as fees
//	  dust_sat             int     below min_value_sat, not followed
//	  cut_by_limits_sat    int     not followed because of a limit (hops, heights, txs, wide outputs)
//	  before_range_sat     int     backward: from inputs spending outputs from before the store's range, whose value
//	                               is unknown (credited with what the outputs take beyond the known inputs); omitted if 0
//	  hits                 int     number of hits
//	partial                bool    the trace stopped early (Ctrl-C or a limit); totals cover what was visited
//	partial_reason         string  why (omitted if empty)
//
// # Graph pictures
//
// DOT and SVG draw the same graph: a box per transaction (seed funding
// transactions gold), an edge per tainted flow labelled in BTC, and an end
// node per address where a branch stops: red (#d62728) for a hit, with the
// entity's name; blue for an unspent holding; grey for dust or a limit. The
// SVG puts one column per hop count, left to right, and orders each column
// by height then id; it draws at most Renderer.MaxNodes nodes (seeds and
// hit paths first) and says how many more there are.
package report
