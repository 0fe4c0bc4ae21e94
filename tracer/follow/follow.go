package follow

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/ingest"
	"github.com/tracer-oss/tracer/tracer/alert"
)

// Config is one follower.
type Config struct {
	Sync   ingest.Config // Network, Workers, MaxReorg, …; Observer is set by Run when Alerts
	Poll   time.Duration // how often to ask the node for its tip; 0: 2 s
	Alerts bool          // raise alerts for the store's watch list
	Sinks  []alert.Sink  // where alerts go; none: they stay pending in the outbox
	Listen string        // address for /healthz and /metrics; "": none
	Logger *slog.Logger
	// Ready, if set, receives the listener's address once it serves.
	Ready func(addr string)
	// OnSynced, if set, is called after each successful poll with the state.
	OnSynced func(store.State)
	// Apply, if set, runs on the loop that writes the store after each
	// Sync that changed it (and once before the first): a serving process
	// brings its derived structures (indexes, a published snapshot) to the
	// new tip there, so they never interleave with a block's writes. An
	// error is logged and counted, and Apply runs again after the next
	// poll.
	Apply func(ctx context.Context, res ingest.Result) error
	// Jobs, if set, are run on the same loop between polls, as they
	// arrive: every other write of the process (list, tag and watch
	// changes) goes through it. The watch list is reloaded after each, so
	// a watch added by one counts from the next block.
	Jobs <-chan func(ctx context.Context)
	// Status, if set, is where Run counts; nil: its own.
	Status *Status
}

// Status is what /metrics reports.
type Status struct {
	Tip, NodeTip     atomic.Int64
	Blocks, Txs      atomic.Int64
	Reorgs, Undone   atomic.Int64
	Delivered        atomic.Int64
	Errors           atomic.Int64
	LastOK           atomic.Int64 // unix nanoseconds of the last successful poll
	WatchedAddresses atomic.Int64
	CaughtUpOnce     atomic.Bool
}

// Run follows node until ctx ends (nil) or the chain cannot be followed
// (a reorganisation deeper than the limit, a bad block): then the error.
// Node errors are retried with a growing delay (at most 30 s).
func Run(ctx context.Context, st *store.Store, node ingest.Node, cfg Config) error {
	f, err := newFollower(st, node, cfg)
	if err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	if f.cfg.Listen != "" {
		if err := f.serve(gctx, g); err != nil {
			return err
		}
	}
	if f.cfg.Alerts && len(f.cfg.Sinks) > 0 {
		g.Go(func() error {
			return alert.Deliver(gctx, st, f.cfg.Sinks, alert.DeliverConfig{Wake: f.wake, Poll: f.cfg.Poll, Logger: f.cfg.Logger,
				OnDelivered: func(alert.Message) { f.status.Delivered.Add(1) }})
		})
	}
	g.Go(func() error { return f.loop(gctx) })
	err = g.Wait()
	if err != nil && ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// follower is one Run: what its sync loop, its commit hook and its HTTP
// server share.
type follower struct {
	st      *store.Store
	node    ingest.Node
	cfg     Config
	sc      ingest.Config // cfg.Sync with the logger, the alerter and the commit hook
	status  *Status
	alerter *alert.Alerter // nil unless cfg.Alerts
	wake    chan struct{}  // a commit wakes the alert delivery
}

// newFollower fills cfg's defaults, loads the watch list when alerting and
// hooks the sync's commits so the status and the delivery see each block.
func newFollower(st *store.Store, node ingest.Node, cfg Config) (*follower, error) {
	if cfg.Poll <= 0 {
		cfg.Poll = 2 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	f := &follower{st: st, node: node, cfg: cfg, sc: cfg.Sync, status: cfg.Status, wake: make(chan struct{}, 1)}
	if f.status == nil {
		f.status = &Status{}
	}
	f.sc.Logger = cfg.Logger
	if cfg.Alerts {
		params, err := paramsOf(st, f.sc.Network)
		if err != nil {
			return nil, err
		}
		if f.alerter, err = alert.New(st, params); err != nil {
			return nil, err
		}
		f.status.WatchedAddresses.Store(int64(f.alerter.Addresses()))
		f.sc.Observer = f.alerter
	}
	userCommit := f.sc.OnCommit
	f.sc.OnCommit = func(h int32) {
		f.status.Tip.Store(int64(h))
		if f.alerter != nil { // the watch list may have changed (alert.Alerter reloads it)
			f.status.WatchedAddresses.Store(int64(f.alerter.Addresses()))
		}
		select {
		case f.wake <- struct{}{}:
		default:
		}
		if userCommit != nil {
			userCommit(h)
		}
	}
	return f, nil
}

// serve starts /healthz and /metrics on cfg.Listen in g, shut down when
// ctx ends.
func (f *follower) serve(ctx context.Context, g *errgroup.Group) error {
	ln, err := net.Listen("tcp", f.cfg.Listen)
	if err != nil {
		return fmt.Errorf("follow: listen: %w", err)
	}
	srv := &http.Server{Handler: handler(f.status, f.cfg.Poll), ReadHeaderTimeout: 5 * time.Second}
	g.Go(func() error {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	g.Go(func() error {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(sctx)
	})
	if f.cfg.Ready != nil {
		f.cfg.Ready(ln.Addr().String())
	}
	return nil
}

// loop syncs, applies and counts each poll, then waits for the next one
// running jobs; it ends with ctx (nil) or on an error retrying cannot cure.
func (f *follower) loop(ctx context.Context) error {
	delay := f.cfg.Poll
	applyPending := f.cfg.Apply != nil // the first round, or a failed Apply
	for {
		res, err := ingest.Sync(ctx, f.st, f.node, f.sc)
		applyPending = f.apply(ctx, res, applyPending)
		f.count(res)
		switch {
		case ctx.Err() != nil:
			return nil
		case unrecoverable(err):
			return err
		case err != nil:
			f.status.Errors.Add(1)
			f.cfg.Logger.Warn("follow: sync failed; retrying", "in", delay, "err", err)
			delay = min(2*delay, 30*time.Second)
		default:
			delay = f.cfg.Poll
			f.synced(ctx, res)
		}
		if stop, err := f.wait(ctx, delay); stop {
			return err
		}
	}
}

// unrecoverable says whether a sync error ends Run: polling again would
// meet the same block, fork or damage.
func unrecoverable(err error) bool {
	return errors.Is(err, ingest.ErrReorgTooDeep) || errors.Is(err, ingest.ErrBadBlock) ||
		errors.Is(err, ingest.ErrNetwork) || errors.Is(err, ingest.ErrFork) || errors.Is(err, store.ErrCorrupt)
}

// apply runs cfg.Apply after a sync that changed the store, or when one
// is pending; it returns whether one is still pending (Apply failed).
func (f *follower) apply(ctx context.Context, res ingest.Result, pending bool) bool {
	if f.cfg.Apply == nil || ctx.Err() != nil || !pending && res.Blocks == 0 && res.Reorgs == 0 {
		return pending
	}
	if err := f.cfg.Apply(ctx, res); err != nil && ctx.Err() == nil {
		f.status.Errors.Add(1)
		f.cfg.Logger.Warn("follow: applying the new blocks to the derived indexes failed; retrying after the next poll", "err", err)
		return true
	}
	return false
}

// count adds one sync's result to the status.
func (f *follower) count(res ingest.Result) {
	f.status.Blocks.Add(res.Blocks)
	f.status.Txs.Add(res.Txs)
	f.status.Reorgs.Add(int64(res.Reorgs))
	f.status.Undone.Add(int64(res.Undone))
	f.status.Tip.Store(int64(f.st.State().Height))
}

// synced records a successful poll: the health clock, the node's tip, the
// caller's hook and a log line when the store moved.
func (f *follower) synced(ctx context.Context, res ingest.Result) {
	f.status.LastOK.Store(time.Now().UnixNano())
	f.status.CaughtUpOnce.Store(true)
	if h, _, err := f.node.Tip(ctx); err == nil {
		f.status.NodeTip.Store(int64(h))
	}
	if f.cfg.OnSynced != nil {
		f.cfg.OnSynced(f.st.State())
	}
	if res.Blocks > 0 || res.Reorgs > 0 {
		f.cfg.Logger.Info("follow: synced", "tip", f.st.State().Height, "blocks", res.Blocks, "reorgs", res.Reorgs, "undone", res.Undone)
	}
}

// wait sleeps delay, running the jobs that arrive meanwhile on this loop
// (the store's single writer). stop: ctx ended (err nil) or the watch
// list could not be reloaded after a job (err).
func (f *follower) wait(ctx context.Context, delay time.Duration) (stop bool, err error) {
	timer := time.NewTimer(delay)
	for {
		select {
		case <-ctx.Done():
			timer.Stop()
			return true, nil
		case job := <-f.cfg.Jobs:
			job(ctx)
			if f.alerter != nil {
				// A job may have changed the watch list: effective
				// from the next block.
				if err := f.alerter.Reset(); err != nil {
					return true, fmt.Errorf("follow: reload the watch list: %w", err)
				}
				f.status.WatchedAddresses.Store(int64(f.alerter.Addresses()))
			}
		case <-timer.C:
			return false, nil
		}
	}
}

// Healthy reports whether the follower synced within the last 3 polls
// (plus 30 s), with the time of the last good poll.
func (s *Status) Healthy(poll time.Duration) (bool, time.Time) {
	last := time.Unix(0, s.LastOK.Load())
	return s.CaughtUpOnce.Load() && time.Since(last) <= 3*poll+30*time.Second, last
}

// WriteMetrics writes the follower's metrics in Prometheus's text format.
func (s *Status) WriteMetrics(w io.Writer) {
	for _, m := range []struct {
		name, typ, help string
		v               int64
	}{
		{"tracer_follow_tip_height", "gauge", "height of the store's tip", s.Tip.Load()},
		{"tracer_follow_node_height", "gauge", "height of the node's tip at the last poll", s.NodeTip.Load()},
		{"tracer_follow_blocks_total", "counter", "blocks stored since start", s.Blocks.Load()},
		{"tracer_follow_txs_total", "counter", "transactions stored since start", s.Txs.Load()},
		{"tracer_follow_reorgs_total", "counter", "best-chain switches undone", s.Reorgs.Load()},
		{"tracer_follow_undone_blocks_total", "counter", "blocks undone by them", s.Undone.Load()},
		{"tracer_follow_alerts_delivered_total", "counter", "alerts and retractions delivered", s.Delivered.Load()},
		{"tracer_follow_sync_errors_total", "counter", "failed polls (node unreachable, …) and failed index updates", s.Errors.Load()},
		{"tracer_follow_watched_addresses", "gauge", "addresses the watch list resolves to", s.WatchedAddresses.Load()},
	} {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n%s %d\n", m.name, m.help, m.name, m.typ, m.name, m.v)
	}
}

func handler(s *Status, poll time.Duration) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		if ok, last := s.Healthy(poll); !ok {
			http.Error(w, fmt.Sprintf("not synced (last good poll %s)", last.Format(time.RFC3339)), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		s.WriteMetrics(w)
	})
	return mux
}
