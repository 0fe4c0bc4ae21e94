// Package jobs runs batches of traces for researchers: a job file (YAML)
// lists traces, or a matrix of seed sets × taint models × hop limits that
// expands into traces with stable generated names, and Run computes them in
// parallel over one shared read-only store, each into its own folder, plus
// one summary table across jobs.
//
// # Job file
//
//	version: 1                   # optional
//	defaults:                    # optional: options for every trace below
//	  max_txs: 100000
//	traces:
//	  - name: golden-lotus-fifo  # letters, digits, '.', '_', '-': a folder name
//	    seeds: {program: CYBER2}
//	    model: fifo
//	  - name: deposit-sources
//	    seeds: {addresses: [bcrt1q...]}
//	    direction: backward
//	matrix:                      # one matrix, or a list of them
//	  name: m                    # optional: prefixes the generated names
//	  seeds:                     # each seed set needs a name
//	    - {name: cyber2, program: CYBER2}
//	    - {name: wallets, file: wallets.csv}   # relative to the job file
//	  models: [poison, haircut, fifo, lifo, tiho]
//	  max_hops: [10, 50]         # a list is an axis; one value is an option
//
// The matrix above expands to jobs named m-cyber2-poison-h10,
// m-cyber2-poison-h50, ..., m-wallets-tiho-h50 (seed set, model, then hop
// limit; "-h<N>" only when max_hops is a list).
//
// Seeds: addresses (a list or one), file (a seed file: CSV, JSON or YAML,
// see sanctions/seeds), entity, program, profile (the stored sanctions
// list's XBT addresses), tag_category (stored tags of that category or
// abuse), tag_pack (every address of a stored pack). Set fields add up.
//
// Options are the keys of a trace specification (package tracer/spec,
// which states them and their defaults once): direction, model,
// fees_tainted, max_hops, min_value, since and until (heights or dates),
// max_txs, wide, stop, cluster (true, false; by default on when the store
// has clusters, as for tracer trace) and label_all_tags. They are decoded
// by the decoder tracer trace's flags and the API's parameters use; dates
// are checked against the store by Plan.Check before anything runs.
//
// Errors name the file, line, job and field (ParseError). Addresses are
// checked against the store's network and seed files must exist when the
// file is parsed; a selection that matches nothing on the store fails its
// job only.
//
// # Output folder
//
//	DIR/manifest.json      data versions (store tip, sanctions list, tag packs) and the job names
//	DIR/summary.csv        one row per job (see SummaryHeader), in job file order
//	DIR/summary.json       the same rows, and the data versions
//	DIR/<job>/job.json     the job's parameters, defaults filled in
//	DIR/<job>/report.json  the trace (tracer.Result, the schema of `tracer trace --format json`)
//	DIR/<job>/hits.csv     the hits (the CSV of `tracer trace --format csv`)
//	DIR/<job>/timing.json  the job's wall time
//	DIR/<job>/done         written last: the job's fingerprint and its outputs' SHA-256
//
// Every file is written to a temporary file and renamed into place, and
// done only after the outputs are complete, so after a crash or Ctrl-C the
// same command skips the finished jobs and recomputes the rest. A job whose
// report.json or hits.csv no longer matches the hash in its done marker
// (edited or damaged) is recomputed too.
//
// # Determinism
//
// A job's output depends only on its parameters and the data versions: the
// walk is deterministic, and report.json has params.started zeroed
// ("0001-01-01T00:00:00Z") and params.elapsed_seconds 0, since clock
// readings would make every run differ. Wall time is kept in timing.json
// and in the seconds column of the summary, the only bytes that differ
// between an interrupted-and-resumed batch and an uninterrupted one.
//
// A finished job's output never changes on a rerun: if the store's tip,
// the sanctions list or a tag pack changed since the folder was computed
// (manifest.json), Run refuses with ErrDataChanged, and if a finished job's
// parameters changed in the job file, with ErrJobChanged; Config.Force
// recomputes instead.
package jobs
