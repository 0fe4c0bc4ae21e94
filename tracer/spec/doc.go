// Package spec is the one trace specification: what `tracer trace`, a job
// of `tracer jobs run`, the API's GET /v1/trace and the screening walks are
// asked to do, with one set of defaults, one decoder and one Run.
//
// A Spec names its seeds (addresses, a seed file, sanctions entity, program
// or profile, tag category or pack), the direction, the taint model, the
// limits, the stop categories, whether cluster labels are used, and a
// block window. Every front end decodes its settings through Spec.Set and
// Spec.SetSeed with the same keys, so names, defaults and validation are
// the same everywhere:
//
//	key             CLI flag          default     meaning
//	direction       --direction       forward     forward (where did it go) or backward (where did it come from)
//	model           --model           haircut     poison, haircut, fifo, lifo, tiho
//	fees_tainted    --fees-tainted    false       pay fees from tainted value first
//	max_hops        --max-hops        50          hops followed from a seed (see Hops below)
//	min_value       --min-value       546         dust: tainted amounts below this many satoshi are not followed
//	since           --since           none        seed outputs received at or after this height or YYYY-MM-DD
//	until           --until           none        no transaction after this height or YYYY-MM-DD is followed
//	max_txs         --max-txs         1000000     transactions visited at most (the result is marked partial)
//	wide            --wide            1000        transactions with more outputs are not followed through
//	stop            --stop            exchange    tag categories that end a branch as a hit; "none" for none
//	cluster         --cluster         auto        cluster labels: on when `tracer cluster` has run
//	label_all_tags  --label-all-tags  false       every exchange tag labels its cluster, not only definers
//
// Seeds: addresses (CLI arguments, the API's seed=), file (--seeds; not
// over the API), entity, program, profile, tag_category, tag_pack.
//
// Stop categories must be known GraphSense categories or abuse kinds, or
// "sanctioned"; an unknown one (a typo such as "mixer") is refused with
// the list of known ones. since must not be after until.
//
// # Hops
//
// One convention everywhere (trace hits and holdings, screening exposures,
// the page): the hop count of an output is the number of transactions from
// the seed's (or source's) output to it, counting the transaction that
// pays it. A seed address paying a deposit address directly is 1 hop; one
// intermediate wallet makes it 2. max_hops bounds that count.
//
// # Clusters
//
// With clusters on, an address whose common-input cluster carries a
// tag's label is labelled as that tag's entity ("via cluster"); direct
// tags come first. The default (auto) turns them on exactly when the store
// has clusters, for every front end. Screening applies the same labels as
// barriers, so a branch ends at an exchange found through its cluster as
// it does in a trace.
package spec
