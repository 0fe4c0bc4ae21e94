package spec

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/btcsuite/btcd/chaincfg"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/flow"
	"github.com/tracer-oss/tracer/tracer"
	"github.com/tracer-oss/tracer/tracer/cluster"
	"github.com/tracer-oss/tracer/tracer/seedsel"
	"github.com/tracer-oss/tracer/tracer/taint"
)

// Runner runs specifications over one store. It reads the sanctions list,
// the tags and the cluster labels once and shares them between runs; it is
// safe for concurrent use (jobs run in parallel, the API serves requests
// at once).
type Runner struct {
	st     *store.Store
	params *chaincfg.Params
	flow   *flow.Index
	sel    *seedsel.Selector

	mu       sync.Mutex
	clusters map[bool]*clusterLabels // by LabelAllTags
}

type clusterLabels struct {
	lab      *cluster.Labeler
	info     string
	warnings []string
}

// NewRunner returns a Runner over st (of the network of params). x, if not
// nil, is the store's current trace index: forward walks read it (the same
// results, faster).
func NewRunner(st *store.Store, params *chaincfg.Params, x *flow.Index) *Runner {
	return &Runner{st: st, params: params, flow: x, sel: seedsel.New(st, params), clusters: map[bool]*clusterLabels{}}
}

// Selector is the runner's seed selector.
func (r *Runner) Selector() *seedsel.Selector { return r.sel }

// Outcome is a finished (or partial) run.
type Outcome struct {
	Result *tracer.Result
	// Skipped counts listed or tagged seed addresses of another network.
	Skipped int
	// Clustered says cluster labels were used.
	Clustered bool
	// Warnings are things a user should know (cluster conflicts, clusters
	// behind the chain); the CLI prints them, jobs log them.
	Warnings []string
}

// Run runs s: seeds resolved, labels (direct tags, then cluster labels when
// s says so), the walk in s's direction, the data versions stated. Errors:
// ErrBadSpec (FieldError) for a specification that cannot run, ErrNoSeeds,
// ErrNoClusters, SeedError for seeds that do not resolve.
func (r *Runner) Run(ctx context.Context, s Spec, progress func(visited, pending int)) (*Outcome, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	seeds, stats, err := r.seeds(ctx, s)
	if err != nil {
		return nil, err
	}
	opt, err := r.options(s)
	if err != nil {
		return nil, err
	}
	opt.Progress = progress
	out := &Outcome{Skipped: stats.Skipped}
	backward := s.Direction == "backward"
	direct, err := r.sel.Labels(backward)
	if err != nil {
		return nil, err
	}
	var lab tracer.Labeler = direct
	packs, err := seedsel.PackInfo(r.st)
	if err != nil {
		return nil, err
	}
	cl, err := r.clusterLabels(s)
	if err != nil {
		return nil, err
	}
	if cl != nil {
		lab = tracer.Labelers{direct, cl.lab} // direct tags first; cluster labels fill in
		packs = append(packs, cl.info)
		out.Clustered, out.Warnings = true, cl.warnings
	}
	res, err := r.walk(ctx, backward, lab, seeds, opt)
	if cl != nil && err == nil {
		if lerr := cl.lab.Err(); lerr != nil {
			err = fmt.Errorf("%w: %v", ErrLabels, lerr) // %v: a store error, not bad input
		}
	}
	if errors.Is(err, tracer.ErrNoSeeds) {
		state := r.st.State()
		return nil, fmt.Errorf("%w: none of the %d seed addresses received anything in blocks %d–%d%s", tracer.ErrNoSeeds, len(seeds),
			state.StartHeight, state.Height, windowNote(opt))
	}
	if err != nil {
		return nil, err
	}
	state := r.st.State()
	res.Data = tracer.DataInfo{Network: state.Network, TipHeight: state.Height, TipHash: state.Hash.String(),
		SanctionsList: seedsel.ListInfo(r.st), TagPacks: packs}
	out.Result = res
	return out, nil
}

// seeds resolves s's seeds; a selection that resolves to none of this
// network's addresses is a SeedError.
func (r *Runner) seeds(ctx context.Context, s Spec) ([]tracer.Seed, seedsel.Stats, error) {
	seeds, stats, err := r.sel.Seeds(ctx, s.Seeds)
	if err != nil {
		if ctx.Err() != nil {
			return nil, stats, ctx.Err()
		}
		return nil, stats, &SeedError{err}
	}
	if len(seeds) == 0 {
		return nil, stats, &SeedError{fmt.Errorf("%w: the selection has no address of this network", seedsel.ErrNoMatch)}
	}
	return seeds, stats, nil
}

// walk runs the walk: backward over the store, forward over one store
// reader (or the flow index when the Runner has one).
func (r *Runner) walk(ctx context.Context, backward bool, lab tracer.Labeler, seeds []tracer.Seed, opt tracer.Options) (*tracer.Result, error) {
	if backward {
		return tracer.Backward(ctx, r.st, lab, seeds, nil, opt)
	}
	rd := r.st.NewReader()
	defer rd.Close()
	var g tracer.Graph = rd
	if r.flow != nil {
		g = &tracer.FlowGraph{Graph: rd, Flow: r.flow}
	}
	return tracer.Forward(ctx, g, lab, seeds, opt)
}

// Check validates s against the store without running it: Validate, and
// the window once dates are resolved to heights.
func (r *Runner) Check(s Spec) error {
	if err := s.Validate(); err != nil {
		return err
	}
	_, err := r.options(s)
	return err
}

func windowNote(opt tracer.Options) string {
	switch {
	case opt.SinceHeight > 0 && opt.UntilHeight > 0:
		return fmt.Sprintf(" within the window %d–%d", opt.SinceHeight, opt.UntilHeight)
	case opt.SinceHeight > 0:
		return fmt.Sprintf(" at or after height %d", opt.SinceHeight)
	case opt.UntilHeight > 0:
		return fmt.Sprintf(" up to height %d", opt.UntilHeight)
	}
	return ""
}

// options turns s into the walker's options, resolving dates to heights.
func (r *Runner) options(s Spec) (tracer.Options, error) {
	model, err := taint.Parse(s.Model)
	if err != nil {
		return tracer.Options{}, &FieldError{Key: "model", Value: s.Model, Msg: err.Error()}
	}
	opt := tracer.Options{Model: model, FeesTainted: s.FeesTainted, MaxHops: s.MaxHops, MinValue: max(s.MinValue, 1),
		SinceHeight: s.SinceHeight, UntilHeight: s.UntilHeight, MaxTxs: s.MaxTxs, WideOutputs: s.WideOutputs,
		StopCategories: append([]string{}, s.Stop...), Params: r.params}
	if s.SinceDate != "" {
		if opt.SinceHeight, err = r.heightAt(s.SinceDate); err != nil {
			return opt, err
		}
	}
	if s.UntilDate != "" {
		if opt.UntilHeight, err = r.heightAt(s.UntilDate); err != nil {
			return opt, err
		}
		// Height 0 means no bound: a date before the store's first block
		// would trace everything.
		if state := r.st.State(); opt.UntilHeight == state.StartHeight {
			if b, err := r.st.BlockByHeight(opt.UntilHeight); err == nil && b.Time().UTC().Format("2006-01-02") > s.UntilDate {
				return opt, &FieldError{Key: "until", Value: s.UntilDate, Msg: fmt.Sprintf("%s is before the store's first block (height %d, %s): nothing to trace",
					s.UntilDate, state.StartHeight, b.Time().UTC().Format("2006-01-02"))}
			}
		}
	}
	if opt.SinceHeight > 0 && opt.UntilHeight > 0 && opt.SinceHeight > opt.UntilHeight {
		return opt, &FieldError{Key: "since", Value: orHeight(s.SinceDate, opt.SinceHeight),
			Msg: fmt.Sprintf("%s is after until %s (height %d > %d): nothing can be traced in that window",
				orHeight(s.SinceDate, opt.SinceHeight), orHeight(s.UntilDate, opt.UntilHeight), opt.SinceHeight, opt.UntilHeight)}
	}
	return opt, nil
}

func orHeight(date string, h int32) string {
	if date != "" {
		return date
	}
	return fmt.Sprint(h)
}

// heightAt is the height of the first block at or after the UTC date.
func (r *Runner) heightAt(date string) (int32, error) {
	t, err := time.Parse("2006-01-02", date)
	if err != nil {
		return 0, &FieldError{Key: "date", Value: date, Msg: "want YYYY-MM-DD"}
	}
	state := r.st.State()
	lo, hi := state.StartHeight, state.Height+1
	for lo < hi {
		mid := lo + (hi-lo)/2
		b, err := r.st.BlockByHeight(mid)
		if err != nil {
			return 0, err
		}
		if b.Time().Before(t) {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo, nil
}

// clusterLabels returns the cluster labeler s asks for, nil for none: with
// cluster auto, exactly when the store has clusters.
func (r *Runner) clusterLabels(s Spec) (*clusterLabels, error) {
	if s.Clusters == ClustersOff {
		return nil, nil
	}
	cs, clustered, err := r.st.ClusterState()
	if err != nil {
		return nil, err
	}
	if !clustered {
		if s.Clusters == ClustersOn {
			return nil, fmt.Errorf("%w: %s", ErrNoClusters, r.st.Dir())
		}
		return nil, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if cl := r.clusters[s.LabelAllTags]; cl != nil {
		return cl, nil
	}
	lab, err := cluster.NewLabeler(r.st, r.params, cluster.LabelOptions{AllTags: s.LabelAllTags})
	if err != nil {
		return nil, err
	}
	cl := &clusterLabels{lab: lab, info: ClusterInfo(cs)}
	for _, e := range lab.Conflicts() {
		cl.warnings = append(cl.warnings, fmt.Sprintf("cluster %d (%d addresses) has conflicting labels %s: not used", e.Root, e.Size, strings.Join(e.Names(), " / ")))
	}
	if next := r.st.State().NextTx; cs.NextTx < next {
		cl.warnings = append(cl.warnings, fmt.Sprintf("clusters cover %d of %d txs (run tracer cluster to update)", cs.NextTx, next))
	}
	r.clusters[s.LabelAllTags] = cl
	return cl, nil
}

// ClusterInfo states a clustering as reports list it with the tag packs.
func ClusterInfo(cs store.ClusterState) string {
	rules := "none"
	if len(cs.Rules) > 0 {
		rules = strings.Join(cs.Rules, ", ")
	}
	return fmt.Sprintf("clusters of %d addresses up to tx %d (change rules: %s)", cs.Addresses, cs.NextTx, rules)
}

// ClusterLabels returns the cluster labels the default rule (cluster
// auto) gives, with the clustering's description and warnings; nil when
// the store has no clusters. Screening stops at them, so a branch ends at
// an exchange found through its cluster exactly as in a trace.
func (r *Runner) ClusterLabels() (*cluster.Labeler, string, []string, error) {
	cl, err := r.clusterLabels(Spec{})
	if err != nil || cl == nil {
		return nil, "", nil, err
	}
	return cl.lab, cl.info, cl.warnings, nil
}
