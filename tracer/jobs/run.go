package jobs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/btcsuite/btcd/chaincfg"
	"golang.org/x/sync/errgroup"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/flow"
	"github.com/tracer-oss/tracer/store/outdir"
	"github.com/tracer-oss/tracer/tracer"
	"github.com/tracer-oss/tracer/tracer/report"
	"github.com/tracer-oss/tracer/tracer/spec"
)

// File names in the output folder.
const (
	ManifestFile    = "manifest.json"
	SummaryCSVFile  = "summary.csv"
	SummaryJSONFile = "summary.json"
	JobFile         = "job.json"
	ReportFile      = "report.json"
	HitsFile        = "hits.csv"
	TimingFile      = "timing.json"
	DoneFile        = "done"
)

// Config configures Run.
type Config struct {
	Out     string // output folder
	Workers int    // jobs run at once; 0 means 2
	// Force recomputes finished jobs whose data versions or parameters
	// changed instead of refusing.
	Force    bool
	Params   *chaincfg.Params // the store's network
	Progress func(Progress)   // called as jobs start and finish and about once a second per running trace
	Logger   *slog.Logger     // nil: discard
	// Flow, if set, is the store's flow index: forward jobs walk it (the
	// results are the same, the walks faster).
	Flow *flow.Index
}

// Progress is the state of a batch.
type Progress struct {
	Jobs       int   // in the plan
	Finished   int   // finished in this run (ok, partial or failed)
	Skipped    int   // finished by an earlier run
	Failed     int   // failed in this run
	Running    int   // running now
	TxsVisited int64 // by the traces of this run, finished and running
	Elapsed    time.Duration
}

// Status of a job in the summary.
const (
	StatusOK          = "ok"          // finished
	StatusPartial     = "partial"     // finished, cut by a limit (max_txs): the report says which
	StatusFailed      = "failed"      // the error column says why; rerun to retry
	StatusInterrupted = "interrupted" // cancelled; rerun to resume
)

// Row is one job's line in the summary.
type Row struct {
	Job        string  `json:"job"`
	Status     string  `json:"status"`
	Seeds      int     `json:"seeds"` // seed addresses
	Direction  string  `json:"direction"`
	Model      string  `json:"model"`
	Hits       int     `json:"hits"`
	Traced     int64   `json:"traced_sat"`
	ToEntities int64   `json:"to_entities_sat"`
	Unspent    int64   `json:"unspent_sat"`
	TxsVisited int     `json:"txs_visited"`
	Seconds    float64 `json:"seconds"` // wall time of the run that computed it: the one column that differs between runs
	Error      string  `json:"error,omitempty"`
}

// Summary is the table across jobs, in plan order.
type Summary struct {
	Data Versions `json:"data"`
	Rows []Row    `json:"jobs"`
	// Ran and Skipped count the jobs computed now and those an earlier run
	// had finished; they are not written to summary.json, whose bytes
	// must not depend on how a batch was interrupted.
	Ran     int `json:"-"`
	Skipped int `json:"-"`
}

// Failed returns the failed rows.
func (s *Summary) Failed() []Row {
	var out []Row
	for _, r := range s.Rows {
		if r.Status == StatusFailed {
			out = append(out, r)
		}
	}
	return out
}

// manifest records what an output folder was computed on.
type manifest struct {
	Schema int      `json:"schema_version"` // 1
	Data   Versions `json:"data"`
	Jobs   []string `json:"jobs"`
}

// doneMark is a finished job's marker, written last and atomically: its
// presence says every output file is complete. Its bytes depend only on
// the job, the data and the outputs.
type doneMark struct {
	Job         string            `json:"job"`
	Fingerprint string            `json:"fingerprint"`
	SHA256      map[string]string `json:"sha256"` // output file → content hash
}

type timing struct {
	Seconds float64 `json:"seconds"`
}

// Fingerprint identifies a job's output: a hash of its parameters and the
// data versions it runs on.
func Fingerprint(j Job, v Versions) string {
	b, _ := json.Marshal(struct {
		Job  Job      `json:"job"`
		Data Versions `json:"data"`
	}{j, v})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

type runner struct {
	st   *store.Store
	cfg  Config
	spec *spec.Runner
	data Versions
	log  *slog.Logger

	mu       sync.Mutex
	prog     Progress
	visited  map[string]int64 // running job → txs visited so far
	started  time.Time
	lastTick time.Time
}

// Run runs plan's jobs over st, up to cfg.Workers at once, each into its
// own folder under cfg.Out, skipping jobs an earlier run finished, then
// writes the summary. A failing job does not stop the others: Run returns
// the summary and ErrFailed. On cancellation it returns ctx's error; the
// finished jobs stay finished and a rerun resumes.
func Run(ctx context.Context, st *store.Store, plan *Plan, cfg Config) (*Summary, error) {
	r, err := newRunner(st, cfg)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(r.cfg.Out, 0o755); err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	removeTemps(r.cfg.Out)
	if err := r.checkManifest(plan); err != nil {
		return nil, err
	}
	rows, todo, err := r.triage(plan)
	if err != nil {
		return nil, err
	}
	m := manifest{Schema: 1, Data: r.data}
	for _, j := range plan.Jobs {
		m.Jobs = append(m.Jobs, j.Name)
	}
	if err := writeJSON(filepath.Join(r.cfg.Out, ManifestFile), m); err != nil {
		return nil, err
	}
	r.prog.Jobs = len(plan.Jobs)
	r.report(true)

	r.runAll(ctx, plan, todo, rows)
	sum := &Summary{Data: r.data, Rows: rows, Ran: len(todo), Skipped: r.prog.Skipped}
	for i, j := range plan.Jobs {
		if rows[i].Job == "" { // never started: cancelled first
			rows[i] = Row{Job: j.Name, Status: StatusInterrupted, Direction: j.Direction, Model: j.Model}
		}
	}
	if err := writeSummary(r.cfg.Out, sum); err != nil {
		return sum, err
	}
	if err := ctx.Err(); err != nil {
		return sum, err
	}
	if len(sum.Failed()) > 0 {
		return sum, ErrFailed
	}
	return sum, nil
}

// newRunner fills cfg's defaults and reads the data versions the jobs run on.
func newRunner(st *store.Store, cfg Config) (*runner, error) {
	if cfg.Workers <= 0 {
		cfg.Workers = 2
	}
	if cfg.Params == nil {
		return nil, fmt.Errorf("jobs: no network parameters")
	}
	r := &runner{st: st, cfg: cfg, spec: spec.NewRunner(st, cfg.Params, cfg.Flow), log: cfg.Logger, visited: map[string]int64{}, started: time.Now()}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	var err error
	if r.data, err = CurrentVersions(st); err != nil {
		return nil, err
	}
	return r, nil
}

// triage splits plan's jobs into those an earlier run finished (their rows
// filled) and those to run (todo, by index). A finished job whose
// parameters changed is refused, all of them named, unless Force.
func (r *runner) triage(plan *Plan) (rows []Row, todo []int, err error) {
	rows = make([]Row, len(plan.Jobs))
	var changed []string
	for i, j := range plan.Jobs {
		row, ok, err := r.finished(j)
		switch {
		case errors.Is(err, ErrJobChanged) && r.cfg.Force:
			todo = append(todo, i)
		case errors.Is(err, ErrJobChanged):
			changed = append(changed, j.Name)
		case err != nil:
			return nil, nil, err
		case ok:
			rows[i] = row
			r.prog.Skipped++
		default:
			todo = append(todo, i)
		}
	}
	if len(changed) > 0 {
		return nil, nil, fmt.Errorf("%w: %s finished with other parameters (%s); use --force to recompute them, or another --out",
			ErrJobChanged, r.cfg.Out, names(changed))
	}
	return rows, todo, nil
}

// runAll runs the jobs todo on cfg.Workers workers, each job's row into
// rows; a job's failure is its row's, and cancellation leaves the jobs
// not started with empty rows.
func (r *runner) runAll(ctx context.Context, plan *Plan, todo []int, rows []Row) {
	work := make(chan int)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		defer close(work)
		for _, i := range todo {
			select {
			case work <- i:
			case <-gctx.Done():
				return nil
			}
		}
		return nil
	})
	for w := 0; w < r.cfg.Workers; w++ {
		g.Go(func() error {
			for i := range work {
				rows[i] = r.run(gctx, plan.Jobs[i])
			}
			return nil
		})
	}
	_ = g.Wait() // workers record job errors in rows; they never fail the group
}

func names(list []string) string {
	if len(list) > 5 {
		return strings.Join(list[:5], ", ") + fmt.Sprintf(" and %d more", len(list)-5)
	}
	return strings.Join(list, ", ")
}

// checkManifest refuses an output folder computed on other data unless Force.
func (r *runner) checkManifest(plan *Plan) error {
	b, err := os.ReadFile(filepath.Join(r.cfg.Out, ManifestFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("jobs: %w", err)
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("jobs: %s: %w", filepath.Join(r.cfg.Out, ManifestFile), err)
	}
	if diff := m.Data.Diff(r.data); diff != "" && !r.cfg.Force {
		return fmt.Errorf("%w: %s was computed on other data: %s. Finished jobs would not match new ones: use --force to recompute every job, or another --out",
			ErrDataChanged, r.cfg.Out, diff)
	}
	return nil
}

// finished reports whether j's folder holds a finished run of this job on
// this data, and its summary row if so.
func (r *runner) finished(j Job) (Row, bool, error) {
	dir := filepath.Join(r.cfg.Out, j.Name)
	b, err := os.ReadFile(filepath.Join(dir, DoneFile))
	if errors.Is(err, os.ErrNotExist) {
		return Row{}, false, nil
	}
	if err != nil {
		return Row{}, false, fmt.Errorf("jobs: %w", err)
	}
	var d doneMark
	if err := json.Unmarshal(b, &d); err != nil {
		return Row{}, false, nil // a torn marker from another tool: recompute
	}
	if d.Fingerprint != Fingerprint(j, r.data) {
		return Row{}, false, ErrJobChanged
	}
	// Outputs that no longer match their recorded hashes (edited, or
	// damaged) make the job unfinished: it is recomputed, to the same bytes.
	var rb []byte
	for name, want := range d.SHA256 {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if sum := sha256.Sum256(b); err != nil || hex.EncodeToString(sum[:]) != want {
			r.log.Info("recomputing a job whose output changed", "job", j.Name, "file", name)
			return Row{}, false, nil
		}
		if name == ReportFile {
			rb = b
		}
	}
	var res tracer.Result
	if err := json.Unmarshal(rb, &res); err != nil {
		return Row{}, false, nil
	}
	var tm timing
	if tb, err := os.ReadFile(filepath.Join(dir, TimingFile)); err == nil {
		_ = json.Unmarshal(tb, &tm)
	}
	return rowOf(j, &res, tm.Seconds), true, nil
}

func rowOf(j Job, res *tracer.Result, secs float64) Row {
	status := StatusOK
	if res.Partial {
		status = StatusPartial
	}
	return Row{Job: j.Name, Status: status, Seeds: len(res.Seeds), Direction: j.Direction, Model: j.Model, Hits: res.Totals.Hits,
		Traced: res.Totals.Traced, ToEntities: res.Totals.ToEntities, Unspent: res.Totals.Unspent, TxsVisited: res.Params.TxsVisited, Seconds: secs}
}

// run computes one job into its folder.
func (r *runner) run(ctx context.Context, j Job) Row {
	start := time.Now()
	r.update(j.Name, 0, +1, "")
	row, err := r.compute(ctx, j, start)
	status := ""
	if err != nil {
		row = Row{Job: j.Name, Status: StatusFailed, Direction: j.Direction, Model: j.Model, Error: err.Error(), Seconds: seconds(time.Since(start))}
		if ctx.Err() != nil {
			row.Status, row.Error = StatusInterrupted, ""
		}
		r.log.Debug("job failed", "job", j.Name, "err", err)
	}
	status = row.Status
	r.update(j.Name, int64(row.TxsVisited), -1, status)
	return row
}

func seconds(d time.Duration) float64 {
	return float64(d.Round(time.Millisecond)) / float64(time.Second)
}

func (r *runner) compute(ctx context.Context, j Job, start time.Time) (Row, error) {
	dir, err := outdir.Mkdir(r.cfg.Out, j.Name)
	if err != nil {
		return Row{}, err
	}
	removeTemps(dir)
	for _, f := range []string{DoneFile, ReportFile, HitsFile, TimingFile} {
		if err := os.Remove(filepath.Join(dir, f)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return Row{}, err
		}
	}
	if err := writeJSON(filepath.Join(dir, JobFile), j); err != nil {
		return Row{}, err
	}
	out, err := r.spec.Run(ctx, j.Spec, func(visited, _ int) { r.update(j.Name, int64(visited), 0, "") })
	if err != nil {
		return Row{}, err
	}
	for _, w := range out.Warnings {
		r.log.Warn(w, "job", j.Name)
	}
	res := out.Result
	if err := ctx.Err(); err != nil {
		return Row{}, err // a partial, interrupted result is not a finished job
	}
	// The two clock readings would make every run's report differ; the
	// summary keeps the wall time instead.
	res.Params.Started, res.Params.ElapsedSeconds = time.Time{}, 0
	mark := doneMark{Job: j.Name, Fingerprint: Fingerprint(j, r.data), SHA256: map[string]string{}}
	for _, f := range []struct{ name, format string }{{ReportFile, "json"}, {HitsFile, "csv"}} {
		sum, err := writeAtomic(filepath.Join(dir, f.name), func(w io.Writer) error { return report.Write(w, f.format, res) })
		if err != nil {
			return Row{}, err
		}
		mark.SHA256[f.name] = sum
	}
	secs := seconds(time.Since(start))
	if err := writeJSON(filepath.Join(dir, TimingFile), timing{Seconds: secs}); err != nil {
		return Row{}, err
	}
	if err := writeJSON(filepath.Join(dir, DoneFile), mark); err != nil {
		return Row{}, err
	}
	return rowOf(j, res, secs), nil
}

// update records progress: a job's visited count, a start (+1) or finish
// (-1) with its status; and calls Progress.
func (r *runner) update(job string, visited int64, delta int, status string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch delta {
	case +1:
		r.prog.Running++
		r.visited[job] = 0
	case -1:
		r.prog.Running--
		delete(r.visited, job)
		r.prog.TxsVisited += visited
		switch status {
		case StatusFailed:
			r.prog.Failed++
			r.prog.Finished++
		case StatusInterrupted:
		default:
			r.prog.Finished++
		}
	default:
		r.visited[job] = visited
		if time.Since(r.lastTick) < time.Second {
			return
		}
	}
	r.report(false)
}

// report calls Progress; the caller holds r.mu (or runs alone).
func (r *runner) report(bool) {
	if r.cfg.Progress == nil {
		return
	}
	r.lastTick = time.Now()
	p := r.prog
	for _, v := range r.visited {
		p.TxsVisited += v
	}
	p.Elapsed = time.Since(r.started)
	r.cfg.Progress(p)
}
