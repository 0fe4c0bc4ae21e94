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
	if cfg.Poll <= 0 {
		cfg.Poll = 2 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	status := cfg.Status
	if status == nil {
		status = &Status{}
	}
	sc := cfg.Sync
	sc.Logger = cfg.Logger
	wake := make(chan struct{}, 1)
	var alerter *alert.Alerter
	if cfg.Alerts {
		params, err := paramsOf(st, sc.Network)
		if err != nil {
			return err
		}
		alerter, err = alert.New(st, params)
		if err != nil {
			return err
		}
		status.WatchedAddresses.Store(int64(alerter.Addresses()))
		sc.Observer = alerter
	}
	userCommit := sc.OnCommit
	sc.OnCommit = func(h int32) {
		status.Tip.Store(int64(h))
		if alerter != nil { // the watch list may have changed (alert.Alerter reloads it)
			status.WatchedAddresses.Store(int64(alerter.Addresses()))
		}
		select {
		case wake <- struct{}{}:
		default:
		}
		if userCommit != nil {
			userCommit(h)
		}
	}

	g, gctx := errgroup.WithContext(ctx)
	if cfg.Listen != "" {
		ln, err := net.Listen("tcp", cfg.Listen)
		if err != nil {
			return fmt.Errorf("follow: listen: %w", err)
		}
		srv := &http.Server{Handler: handler(status, cfg.Poll), ReadHeaderTimeout: 5 * time.Second}
		g.Go(func() error {
			if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		})
		g.Go(func() error {
			<-gctx.Done()
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return srv.Shutdown(sctx)
		})
		if cfg.Ready != nil {
			cfg.Ready(ln.Addr().String())
		}
	}
	if cfg.Alerts && len(cfg.Sinks) > 0 {
		g.Go(func() error {
			return alert.Deliver(gctx, st, cfg.Sinks, alert.DeliverConfig{Wake: wake, Poll: cfg.Poll, Logger: cfg.Logger,
				OnDelivered: func(alert.Message) { status.Delivered.Add(1) }})
		})
	}
	g.Go(func() error {
		delay := cfg.Poll
		apply := cfg.Apply != nil // pending: the first round, or a failed Apply
		for {
			res, err := ingest.Sync(gctx, st, node, sc)
			if cfg.Apply != nil && gctx.Err() == nil && (apply || res.Blocks > 0 || res.Reorgs > 0) {
				apply = false
				if aerr := cfg.Apply(gctx, res); aerr != nil && gctx.Err() == nil {
					apply = true
					status.Errors.Add(1)
					cfg.Logger.Warn("follow: applying the new blocks to the derived indexes failed; retrying after the next poll", "err", aerr)
				}
			}
			status.Blocks.Add(res.Blocks)
			status.Txs.Add(res.Txs)
			status.Reorgs.Add(int64(res.Reorgs))
			status.Undone.Add(int64(res.Undone))
			status.Tip.Store(int64(st.State().Height))
			switch {
			case gctx.Err() != nil:
				return nil
			case errors.Is(err, ingest.ErrReorgTooDeep), errors.Is(err, ingest.ErrBadBlock),
				errors.Is(err, ingest.ErrNetwork), errors.Is(err, ingest.ErrFork), errors.Is(err, store.ErrCorrupt):
				return err
			case err != nil:
				status.Errors.Add(1)
				cfg.Logger.Warn("follow: sync failed; retrying", "in", delay, "err", err)
				delay = min(2*delay, 30*time.Second)
			default:
				delay = cfg.Poll
				status.LastOK.Store(time.Now().UnixNano())
				status.CaughtUpOnce.Store(true)
				if h, _, err := node.Tip(gctx); err == nil {
					status.NodeTip.Store(int64(h))
				}
				if cfg.OnSynced != nil {
					cfg.OnSynced(st.State())
				}
				if res.Blocks > 0 || res.Reorgs > 0 {
					cfg.Logger.Info("follow: synced", "tip", st.State().Height, "blocks", res.Blocks, "reorgs", res.Reorgs, "undone", res.Undone)
				}
			}
			timer := time.NewTimer(delay)
		wait:
			for {
				select {
				case <-gctx.Done():
					timer.Stop()
					return nil
				case job := <-cfg.Jobs:
					job(gctx)
					if alerter != nil {
						// A job may have changed the watch list: effective
						// from the next block.
						if err := alerter.Reset(); err != nil {
							return fmt.Errorf("follow: reload the watch list: %w", err)
						}
						status.WatchedAddresses.Store(int64(alerter.Addresses()))
					}
				case <-timer.C:
					break wait
				}
			}
		}
	})
	err := g.Wait()
	if err != nil && ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return nil
	}
	return err
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
