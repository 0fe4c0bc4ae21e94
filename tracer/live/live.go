package live

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/btcsuite/btcd/chaincfg"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/ingest"
	"github.com/tracer-oss/tracer/store/network"
	"github.com/tracer-oss/tracer/tracer/cluster"
	"github.com/tracer-oss/tracer/tracer/follow"
	"github.com/tracer-oss/tracer/tracer/screen"
	"github.com/tracer-oss/tracer/tracer/screen/api"
	"github.com/tracer-oss/tracer/tracer/screen/audit"
	"github.com/tracer-oss/tracer/tracer/screen/policy"
	"github.com/tracer-oss/tracer/tracer/spec"
)

// Config is one live service.
type Config struct {
	// Follow is the follower: Sync (network, reorg depth), Poll, Alerts,
	// Sinks, Logger. Run sets its Apply, Jobs and Status.
	Follow follow.Config
	// Screen are the exposure index's options (as serve's screen flags);
	// Params defaults to the store's network.
	Screen screen.Options
	Policy *policy.Policy // nil: the built-in policy
	// Audit, if set, records every admin action.
	Audit  *audit.Log
	Logger *slog.Logger
	// OnPublish, if set, is called on the writing loop after each new view
	// is published, with its chain state.
	OnPublish func(store.State)
}

// Service owns a store while it follows a node: one loop (follow.Run's)
// writes everything — blocks, then the derived indexes, then admin
// changes — and publishes, after each step is complete, a new View on a
// snapshot of the store. Requests answer from the view they took, so a
// block is never half seen and every answer names its tip.
type Service struct {
	st     *store.Store
	cfg    Config
	params *chaincfg.Params
	log    *slog.Logger
	status follow.Status
	jobs   chan func(context.Context)

	mu  sync.RWMutex
	cur *view

	pending atomic.Pointer[api.Pending]

	// Owned by the writing loop (and New, before Run).
	base     *screen.Screener     // the list and tags of the index in force
	listV    uint32               // the list version base holds
	hdr      *store.ExposureIndex // the index generation in force; nil: none
	clus     *cluster.Clusterer   // nil: the store has no clusters
	rebuild  bool                 // the index must be rebuilt (none, or stale)
	building bool                 // a rebuild is queued or running
}

// view is one published View and the snapshot it reads.
type view struct {
	v       api.View
	state   store.State
	release func()
	refs    atomic.Int64
}

func (v *view) unref() {
	if v.refs.Add(-1) == 0 {
		v.release()
	}
}

// New prepares the service on st (open writable; the service writes it
// from Run on) and publishes the first view, of the store as it is.
func New(ctx context.Context, st *store.Store, cfg Config) (*Service, error) {
	if st.IsSnapshot() {
		return nil, errors.New("live: a snapshot cannot be followed")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Service{st: st, cfg: cfg, log: cfg.Logger, jobs: make(chan func(context.Context))}
	name := st.State().Network
	if name == "" {
		name = cfg.Follow.Sync.Network
	}
	if name == "" {
		name = "mainnet"
	}
	n, err := network.ByName(name)
	if err != nil {
		return nil, fmt.Errorf("live: %w", err)
	}
	s.params = n.Params
	if s.cfg.Screen.Params == nil {
		s.cfg.Screen.Params = n.Params
	}
	if err := s.openClusters(); err != nil {
		return nil, err
	}
	if err := s.load(ctx); err != nil {
		return nil, err
	}
	if err := s.publish(); err != nil {
		return nil, err
	}
	return s, nil
}

// load reads the list, tags and index header in force into the base
// screener, and decides whether the index needs a rebuild.
func (s *Service) load(context.Context) error {
	snap, release, err := s.st.Snapshot()
	if err != nil {
		return err
	}
	defer release()
	base, err := screen.New(snap, s.screenOptions())
	if err != nil {
		return err
	}
	base.SetPolicy(s.cfg.Policy)
	s.base, s.listV = base, base.Status().ListVersion
	s.hdr, s.rebuild = nil, true
	if ix := base.Status().Index; ix != nil {
		hdr, err := snap.ExposureIndexInfo()
		if err != nil {
			return err
		}
		s.hdr = &hdr
		// Behind the tip only: Apply brings it forward.
		s.rebuild = len(staleBeyondTip(ix.Stale, ix.TipHeight, snap.State().Height)) > 0
	}
	return nil
}

// screenOptions are the options of screeners: the index's, without its
// flow index (requests walk their snapshot, not the writer's files).
func (s *Service) screenOptions() screen.Options {
	o := s.cfg.Screen
	o.Flow, o.Progress = nil, nil
	return o
}

// publish makes a new view, on a snapshot of the store now, the one new
// requests take; the previous one ends when its last request does.
func (s *Service) publish() error {
	snap, release, err := s.st.Snapshot()
	if err != nil {
		return err
	}
	st := snap
	if s.listV != 0 {
		// Answer from the list the index was built for, even while the
		// stored pointer already names a newer one (a switch under way).
		if st, err = snap.WithSanctionsVersion(s.listV); err != nil {
			release()
			return err
		}
	}
	scr, err := s.base.At(st, s.hdr)
	if err != nil {
		release()
		return err
	}
	v := &view{v: api.View{Screener: scr, Tracer: spec.NewRunner(st, s.params, nil)}, state: snap.State(), release: release}
	v.refs.Store(1)
	s.mu.Lock()
	old := s.cur
	s.cur = v
	s.mu.Unlock()
	if old != nil {
		old.unref()
	}
	s.status.Tip.Store(int64(v.state.Height))
	if s.cfg.OnPublish != nil {
		s.cfg.OnPublish(v.state)
	}
	return nil
}

// View returns the view a request answers from and its release function.
func (s *Service) View() (api.View, func()) {
	s.mu.RLock()
	v := s.cur
	v.refs.Add(1)
	s.mu.RUnlock()
	out := v.v
	out.Pending = s.pending.Load()
	return out, v.unref
}

// Tip is the chain state of the published view.
func (s *Service) Tip() store.State {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.cur.state
}

// Status is the follower's counters (for /metrics and /healthz).
func (s *Service) Status() *follow.Status { return &s.status }

// Close ends the published view (after Run returned).
func (s *Service) Close() {
	s.mu.Lock()
	old := s.cur
	s.cur = nil
	s.mu.Unlock()
	if old != nil {
		old.unref()
	}
}

// Run follows node until ctx ends, applying each synced step and the
// admin changes on the one loop that writes the store.
func (s *Service) Run(ctx context.Context, node ingest.Node) error {
	fc := s.cfg.Follow
	fc.Apply, fc.Jobs, fc.Status = s.apply, s.jobs, &s.status
	if fc.Logger == nil {
		fc.Logger = s.log
	}
	return follow.Run(ctx, s.st, node, fc)
}

// apply brings the derived indexes to the store's new tip, then publishes
// it: clusters, then the exposure index. An index that cannot be brought
// forward (built for a list, tags or options no longer in force) is
// rebuilt: until then the published view stays where it was, answering
// from the previous data. Without any index, the new tip is published and
// screens walk fresh, as serve does without --rpc.
func (s *Service) apply(ctx context.Context, res ingest.Result) error {
	if s.clus != nil || res.Reorgs > 0 {
		if err := s.extendClusters(ctx, res.Reorgs > 0); err != nil {
			return err
		}
	}
	publish := true
	if s.hdr != nil && !s.rebuild {
		hdr, err := updateIndex(ctx, s.st, s.hdr.Gen, s.cfg.Screen)
		switch {
		case errors.Is(err, errIndexStale):
			s.log.Warn("live: the exposure index cannot be brought forward; rebuilding it, screens answer from the last view meanwhile", "err", err)
			s.rebuild = true
		case err != nil:
			return fmt.Errorf("live: update the exposure index: %w", err)
		default:
			s.hdr = &hdr
		}
	}
	if s.hdr != nil && s.rebuild {
		publish = false
	}
	if publish {
		if err := s.publish(); err != nil {
			return err
		}
	}
	if state := s.st.State(); s.rebuild && !s.building && !state.Empty() {
		s.startRebuild(ctx, 0)
	}
	return nil
}

// startRebuild builds the exposure index for the data in force — with
// list version list in force instead, when not 0 — and switches to it
// when it is caught up. Requests keep answering from the published view
// all the while: with a pending build (buildPending) it runs beside the
// writing loop on a snapshot, which keeps applying blocks to the index in
// force; without, it runs on the writing loop, which applies no block
// meanwhile. Call it on the writing loop.
func (s *Service) startRebuild(ctx context.Context, list uint32) {
	s.building = true
	p := &api.Pending{ListVersion: list, Since: time.Now().UTC(), Stage: "building"}
	if list == 0 {
		p.ListVersion = s.listV
		if v, err := s.st.Lists().Current(); err == nil {
			p.ListVersion = v
		}
	}
	if h, err := s.st.Lists().Version(p.ListVersion); err == nil {
		p.SanctionsList = screen.ListName(h)
	}
	s.pending.Store(p)
	fail := func(err error) {
		s.building, s.rebuild = false, true
		q := *p
		q.Error = err.Error()
		s.pending.Store(&q)
		s.log.Error("live: exposure index build failed; the previous index and list stay in force, retrying after the next block", "list_version", p.ListVersion, "err", err)
	}
	if !pendingBuilds {
		go s.queue(ctx, func(ctx context.Context) {
			if err := s.rebuildNow(ctx, list); err != nil && ctx.Err() == nil {
				fail(err)
			}
		})
		return
	}
	snap, release, err := s.st.Snapshot()
	if err == nil && list != 0 {
		var over *store.Store
		if over, err = snap.WithSanctionsVersion(list); err == nil {
			snap = over
		} else {
			release()
		}
	}
	if err != nil {
		fail(err)
		return
	}
	go func() {
		start := time.Now()
		hdr, err := buildPending(ctx, snap, s.st, s.cfg.Screen)
		release()
		s.queue(ctx, func(ctx context.Context) {
			if err == nil {
				err = s.switchTo(ctx, list, hdr, start)
			}
			if err != nil && ctx.Err() == nil {
				fail(err)
			}
		})
	}()
}

// switchTo makes a pending generation (and list, when not 0) the one in
// force, after bringing it to the tip, and publishes it.
func (s *Service) switchTo(ctx context.Context, list uint32, hdr store.ExposureIndex, start time.Time) error {
	if p := s.pending.Load(); p != nil {
		q := *p
		q.Stage = "catching up"
		s.pending.Store(&q)
	}
	if list != 0 {
		if err := s.st.Lists().Use(list); err != nil {
			return err
		}
	}
	if _, err := updateIndex(ctx, s.st, hdr.Gen, s.cfg.Screen); err != nil {
		return fmt.Errorf("live: bring the new exposure index to the tip: %w", err)
	}
	if err := useIndex(s.st, hdr.Gen); err != nil {
		return err
	}
	return s.finishRebuild(ctx, start)
}

// rebuildNow builds the index for the data in force (with list version
// list made current first, when not 0) on the writing loop, then reloads
// and publishes.
func (s *Service) rebuildNow(ctx context.Context, list uint32) error {
	start := time.Now()
	if list != 0 {
		if err := s.st.Lists().Use(list); err != nil {
			return err
		}
	}
	if _, err := buildIndex(ctx, s.st, s.cfg.Screen); err != nil {
		return fmt.Errorf("live: build the exposure index: %w", err)
	}
	return s.finishRebuild(ctx, start)
}

// finishRebuild reloads the list, tags and index in force and publishes them.
func (s *Service) finishRebuild(ctx context.Context, start time.Time) error {
	if err := s.load(ctx); err != nil {
		return err
	}
	s.rebuild, s.building = false, false
	s.pending.Store(nil)
	s.log.Info("live: exposure index built", "list_version", s.listV, "tip", s.st.State().Height, "took", time.Since(start).Round(time.Millisecond))
	return s.publish()
}

// staleBeyondTip drops the staleness reason that only says the index is
// behind the tip.
func staleBeyondTip(why []string, built, tip int32) []string {
	var out []string
	behind := fmt.Sprintf("built at tip %d, the store's tip is %d", built, tip)
	for _, w := range why {
		if w != behind {
			out = append(out, w)
		}
	}
	return out
}

// openClusters opens the stored clusters, if any, for per-block extension.
func (s *Service) openClusters() error {
	cs, ok, err := s.st.ClusterState()
	if err != nil || !ok || cs.NextTx == 0 {
		return err
	}
	rules, err := cluster.ParseRules(cs.Rules)
	if err != nil {
		return err
	}
	c, err := cluster.Open(s.st, cluster.Options{Change: rules, MaxMerge: cs.MaxMerge})
	if err != nil {
		return fmt.Errorf("live: open the clusters: %w", err)
	}
	s.clus = c
	return nil
}

// extendClusters clusters the new transactions; after a reorganisation
// it reopens the clusters from the store first.
func (s *Service) extendClusters(ctx context.Context, reorg bool) error {
	if reorg || s.clus == nil {
		s.clus = nil
		if err := s.openClusters(); err != nil || s.clus == nil {
			return err
		}
	}
	if _, err := s.clus.Extend(ctx); err != nil {
		s.clus = nil // reopened from the store next time
		return fmt.Errorf("live: extend the clusters: %w", err)
	}
	return nil
}

// do runs fn on the writing loop and waits for it.
func (s *Service) do(ctx context.Context, fn func(context.Context) error) error {
	done := make(chan error, 1)
	select {
	case s.jobs <- func(ctx context.Context) { done <- fn(ctx) }:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}
