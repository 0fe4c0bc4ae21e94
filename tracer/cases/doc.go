// Package cases keeps an investigator's cases in the store: the seeds and
// parameters of a trace, its latest result, notes on nodes, the hops an
// investigator added by hand, and a log of every change (who, when, what).
// It builds the case's graph for the viewer (tracer/graphview) and the
// evidence bundle that lets a colleague or a court check the trace again.
//
// The trace itself runs behind the small Tracer interface, so the entry
// point can change without touching cases.
package cases
