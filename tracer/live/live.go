package live

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/btcsuite/btcd/chaincfg"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/ingest"
	"github.com/tracer-oss/tracer/store/network"
	"github.com/tracer-oss/tracer/tracer/cases"
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
	// Sinks, Logger. Run sets its Apply, Jobs and Status. Sync.MaxReorg
	// 0 is DefaultMaxReorg.
	Follow follow.Config
	// Screen are the exposure index's options (as serve's screen flags);
	// Params defaults to the store's network. UndoDepth 0 is
	// Follow.Sync.MaxReorg: every reorganisation the follower accepts is
	// then undone in the index exactly, never by a rebuild.
	Screen screen.Options
	Policy *policy.Policy // nil: the built-in policy
	// Audit, if set, records every admin action.
	Audit  *audit.Log
	Logger *slog.Logger
	// OnPublish, if set, is called on the writing loop after each new view
	// is published, with its chain state.
	OnPublish func(store.State)
	// buildGate, if set, runs before each exposure index build (tests
	// hold a build with it).
	buildGate func(context.Context)
}

// DefaultMaxReorg is the deepest reorganisation followed when
// Config.Follow.Sync.MaxReorg is 0: ingest's own default, and the
// exposure index's undo depth.
const DefaultMaxReorg = 100

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
	// stopped is closed when Run returns: writes sent to the loop after
	// that fail instead of waiting.
	stopped chan struct{}
	// builds are the pending index builds running beside the loop: Run
	// waits for them, so the store never closes under one.
	builds sync.WaitGroup

	mu  sync.RWMutex
	cur *view
	// caseSnap is the snapshot case reads answer from: the view's, or a
	// newer one after a case write (a case written is read back at once,
	// even while the view is held).
	caseSnap *store.Store

	pending atomic.Pointer[api.Pending]
	// held, when set, is why the published view is held behind the
	// store's tip (View.Stale).
	held atomic.Pointer[string]

	// Owned by the writing loop (and New, before Run).
	base     *screen.Screener     // the list and tags of the index in force
	listV    uint32               // the list version base holds
	hdr      *store.ExposureIndex // the index generation in force; nil: none
	clus     *cluster.Clusterer   // nil: the store has no clusters
	rebuild  bool                 // the index must be rebuilt (none, or stale)
	building bool                 // a rebuild is queued or running
	why      string               // why it is rebuilt, when it is
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
	if cfg.Follow.Sync.MaxReorg <= 0 {
		cfg.Follow.Sync.MaxReorg = DefaultMaxReorg
	}
	if cfg.Screen.UndoDepth == 0 {
		cfg.Screen.UndoDepth = cfg.Follow.Sync.MaxReorg
	}
	s := &Service{st: st, cfg: cfg, log: cfg.Logger, jobs: make(chan func(context.Context)), stopped: make(chan struct{})}
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
		hdr, err := snap.Exposure().Info()
		if err != nil {
			return err
		}
		s.hdr = &hdr
		// Behind the tip only: Apply brings it forward.
		why := staleBeyondTip(ix.Stale, ix.TipHeight, snap.State().Height)
		s.rebuild, s.why = len(why) > 0, strings.Join(why, "; ")
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
	runner := spec.NewRunner(st, s.params, nil)
	// Cases trace and read the chain on the view's snapshot, read their
	// records from the latest published snapshot and write on this loop.
	cs := cases.ForRoom(st, caseRoom{s}, runner, st, s.params)
	cs.Exposure = cases.StoreExposureAt(st, s.hdr, s.params)
	v := &view{v: api.View{Screener: scr, Tracer: runner, Cases: cs}, state: snap.State(), release: release}
	v.refs.Store(1)
	snap.Retain() // the case reads' reference
	s.mu.Lock()
	old, oldCases := s.cur, s.caseSnap
	s.cur, s.caseSnap = v, snap
	s.mu.Unlock()
	s.held.Store(nil)
	if old != nil {
		old.unref()
	}
	if oldCases != nil {
		oldCases.Release()
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
	if why := s.held.Load(); why != nil {
		out.Stale = *why
	}
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
	old, oldCases := s.cur, s.caseSnap
	s.cur, s.caseSnap = nil, nil
	s.mu.Unlock()
	if old != nil {
		old.unref()
	}
	if oldCases != nil {
		oldCases.Release()
	}
}

// Run follows node until ctx ends, applying each synced step and the
// admin changes on the one loop that writes the store.
func (s *Service) Run(ctx context.Context, node ingest.Node) error {
	defer close(s.stopped)
	fc := s.cfg.Follow
	fc.Apply, fc.Jobs, fc.Status = s.apply, s.jobs, &s.status
	if fc.Logger == nil {
		fc.Logger = s.log
	}
	ctx, cancel := context.WithCancel(ctx)
	s.dropOlderIndexes(ctx)
	err := follow.Run(ctx, s.st, node, fc)
	// Pending builds end soon once ctx has; the store must not close
	// under one.
	cancel()
	s.builds.Wait()
	return err
}

// apply brings the derived indexes to the store's new tip, then publishes
// it: clusters, then the exposure index. An index that cannot be brought
// forward (built for a list, tags or options no longer in force, or
// behind a reorganisation deeper than its undo records) is rebuilt: until
// then the published view stays where it was — one consistent snapshot,
// answering from its own tip and the previous data — and every answer
// says so (View.Stale: "stale" beside tip_height and tip_hash), naming
// its tip and, after a reorganisation, that the tip is no longer on the
// best chain. Without any index, the new tip is published and screens
// walk fresh, as serve does without --rpc.
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
			s.rebuild, s.why = true, err.Error()
			if res.Reorgs > 0 {
				s.why = fmt.Sprintf("the best chain reorganised (%d blocks undone), deeper than the exposure index's undo records (%d blocks; %v)",
					res.Undone, s.cfg.Screen.UndoDepth, err)
			}
		case err != nil:
			return fmt.Errorf("live: update the exposure index: %w", err)
		default:
			s.hdr = &hdr
		}
	}
	if s.hdr != nil && s.rebuild {
		publish = false
		s.hold()
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

// hold marks the published view as held behind the store's tip, and why.
func (s *Service) hold() {
	v, state := s.Tip(), s.st.State()
	if v.Hash == state.Hash { // the chain came back to the view's tip
		s.held.Store(nil)
		return
	}
	tip := fmt.Sprintf("tip %d (%s)", v.Height, v.Hash)
	if b, err := s.st.BlockByHeight(v.Height); err != nil || b.Hash != v.Hash {
		tip += ", which is no longer on the best chain,"
	}
	why := fmt.Sprintf("answered from %s while the exposure index is rebuilt (GET /v1/status: pending): %s; the store is at tip %d",
		tip, orDash(s.why), state.Height)
	s.held.Store(&why)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
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
		p.Reason = s.why
	}
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
			if s.cfg.buildGate != nil {
				s.cfg.buildGate(ctx)
			}
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
	s.builds.Add(1)
	go func() {
		defer s.builds.Done()
		if s.cfg.buildGate != nil {
			s.cfg.buildGate(ctx)
		}
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

// dropOlderIndexes deletes, beside the loop, what an earlier run left of
// exposure index generations older than the one in force (a drop cut
// short by a stop or a kill).
func (s *Service) dropOlderIndexes(ctx context.Context) {
	hdr, err := s.st.Exposure().Info()
	if err != nil {
		return // none built yet
	}
	s.builds.Add(1)
	go func() {
		defer s.builds.Done()
		if err := s.st.Exposure().DropOlder(ctx, hdr.Gen); err != nil && ctx.Err() == nil {
			s.log.Warn("live: deleting older exposure index generations", "err", err)
		}
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
	if err := s.st.Exposure().Switch(hdr.Gen); err != nil {
		return err
	}
	// The older generation's keys are deleted beside the loop: at 10 M
	// transactions that takes minutes, which blocks must not wait for.
	s.dropOlderIndexes(ctx)
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
	s.rebuild, s.building, s.why = false, false, ""
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
	case <-s.stopped:
		return errStopped
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

// errStopped is a write sent after the writing loop stopped.
var errStopped = errors.New("live: the service has stopped following the node: the store takes no more writes")

// caseRoom is the case workspace of a live server (cases.Store): reads
// answer from the latest published snapshot, writes run on the writing
// loop, which then publishes a snapshot holding them.
type caseRoom struct{ s *Service }

var _ cases.Store = caseRoom{}

func (c caseRoom) read(fn func(store.Cases) error) error {
	c.s.mu.RLock()
	snap := c.s.caseSnap
	if snap != nil {
		snap.Retain()
	}
	c.s.mu.RUnlock()
	if snap == nil {
		return errStopped
	}
	defer snap.Release()
	return fn(snap.Cases())
}

// caseWriteWait bounds how long a case write waits for the writing loop
// (busy with a long sync, the first one above all): then the request
// fails with context.DeadlineExceeded (503) and nothing is written.
const caseWriteWait = 30 * time.Second

// write runs fn on the writing loop, then makes a snapshot with its
// write the one case reads answer from. Once the loop has taken it, it
// waits for it to end (a case write is short), so an answer never says
// "not written" about a write that happened.
func (c caseRoom) write(fn func(store.Cases) error) error {
	s := c.s
	done := make(chan error, 1)
	job := func(context.Context) {
		if err := fn(s.st.Cases()); err != nil {
			done <- err
			return
		}
		// The snapshot's reference is caseSnap's, dropped by Release.
		snap, _, err := s.st.Snapshot()
		if err != nil {
			// Written: the next published view shows it.
			s.log.Error("live: no snapshot after a case write; it shows from the next block", "err", err)
			done <- nil
			return
		}
		s.mu.Lock()
		old := s.caseSnap
		s.caseSnap = snap
		s.mu.Unlock()
		if old != nil {
			old.Release()
		}
		done <- nil
	}
	wait := time.NewTimer(caseWriteWait)
	defer wait.Stop()
	select {
	case s.jobs <- job:
		return <-done
	case <-s.stopped:
		return errStopped
	case <-wait.C:
		return fmt.Errorf("live: the writing loop is busy (syncing or applying blocks): the case change was not written; retry: %w", context.DeadlineExceeded)
	}
}

func (c caseRoom) Create(rec func(id uint64) ([]byte, error), result []byte, ev store.CaseEvent) (id uint64, err error) {
	err = c.write(func(cs store.Cases) error {
		id, err = cs.Create(rec, result, ev)
		return err
	})
	return id, err
}

func (c caseRoom) Update(id uint64, fn func(rec []byte) (newRec, newResult []byte, err error), ev store.CaseEvent) error {
	return c.write(func(cs store.Cases) error { return cs.Update(id, fn, ev) })
}

func (c caseRoom) Record(id uint64) (b []byte, err error) {
	err = c.read(func(cs store.Cases) error { b, err = cs.Record(id); return err })
	return b, err
}

func (c caseRoom) Result(id uint64) (b []byte, err error) {
	err = c.read(func(cs store.Cases) error { b, err = cs.Result(id); return err })
	return b, err
}

func (c caseRoom) Each(fn func(id uint64, rec []byte) error) error {
	return c.read(func(cs store.Cases) error { return cs.Each(fn) })
}

func (c caseRoom) Log(id uint64) (evs []store.CaseEvent, err error) {
	err = c.read(func(cs store.Cases) error { evs, err = cs.Log(id); return err })
	return evs, err
}
