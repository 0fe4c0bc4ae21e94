// Package cases keeps an investigator's cases in the store: the seeds and
// parameters of a trace, its latest result, notes on nodes, the hops an
// investigator added by hand, and a log of every change (who, when, what).
// It builds the case's graph for the viewer (tracer/graphview) and the
// evidence bundle that lets a colleague or a court check the trace again.
//
// A case's parameters are a trace specification (tracer/spec), decoded by
// spec's decoder (DecodeParams for JSON bodies); the trace runs behind the
// small Tracer interface, implemented by SpecTracer with a spec.Runner, so
// a case traces exactly what tracer trace, jobs and /v1/trace trace. View
// gives a browser the case's graph capped at graphview.MaxNodes, its
// addresses annotated with their exposure from the store's exposure index.
package cases
