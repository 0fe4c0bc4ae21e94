package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/tracer-oss/tracer/tracer/export"
	"github.com/tracer-oss/tracer/tracer/jobs"
	"github.com/tracer-oss/tracer/tracer/spec"
)

func jobsCommand() *cli.Command {
	return &cli.Command{
		Name:  "jobs",
		Usage: "batches of traces for research: many seeds × models × limits, resumable",
		Subcommands: []*cli.Command{{
			Name:      "run",
			Usage:     "run the traces of a job file in parallel, each into its own folder, with a summary table",
			ArgsUsage: "JOBS.yaml",
			Description: `Runs every trace of a job file (see the README, or go doc ./tracer/jobs)
over the store, --workers at a time, into DIR/<job>/report.json and hits.csv,
and writes DIR/summary.csv and summary.json across jobs.

Interrupted (Ctrl-C, a crash), the same command resumes: finished jobs
(DIR/<job>/done) are skipped and the rest recomputed; the outputs are then
byte for byte those of an uninterrupted run (only wall times differ). If
the store's tip, sanctions list or tag packs changed since DIR was
computed, or a finished job's parameters changed, it refuses unless --force.

Exit codes: 0 every job finished, 1 some job failed (the summary says why),
2 a bad job file.

Example:
  tracer jobs run study.yaml --out study --workers 2`,
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "out", Value: "jobs-out", Usage: "output `DIR`"},
				&cli.IntFlag{Name: "workers", Value: 2, Usage: "traces run at once"},
				&cli.BoolFlag{Name: "force", Usage: "recompute finished jobs whose data or parameters changed instead of refusing"},
				noIndexFlag,
			},
			Action: runJobs,
		}},
	}
}

func runJobs(c *cli.Context) (err error) {
	if c.NArg() != 1 {
		return usageErrorf("jobs run: want one job file, got %d arguments", c.NArg())
	}
	if c.Int("workers") <= 0 {
		return usageErrorf("--workers must be positive")
	}
	if err := export.CheckDir(c.String("out")); err != nil {
		return badInput(err)
	}
	st, params, err := openChain(c)
	if err != nil {
		return err
	}
	defer closing(st, &err)
	plan, err := jobs.ParseFile(c.Context, c.Args().First(), params)
	if err != nil {
		return badInput(err)
	}
	if err := plan.Check(spec.NewRunner(st, params, nil)); err != nil {
		return badInputIf(err, jobs.ErrBadValue)
	}
	x, err := openFlow(c, st)
	if err != nil {
		return err
	}
	if x != nil {
		defer closing(x, &err)
	}
	out := c.String("out")
	prog := newProgress(c.App.ErrWriter)
	start := time.Now()
	sum, err := jobs.Run(c.Context, st, plan, jobs.Config{
		Out: out, Workers: c.Int("workers"), Force: c.Bool("force"), Params: params, Logger: logger(c), Flow: x,
		Progress: func(p jobs.Progress) { prog.line(jobsProgressLine(p)) },
	})
	prog.finish()
	if errors.Is(err, jobs.ErrDataChanged) || errors.Is(err, jobs.ErrJobChanged) {
		return badInput(err)
	}
	if sum == nil {
		return err
	}
	return jobsSummary(c.App.ErrWriter, sum, err, time.Since(start), out)
}

// jobsProgressLine is the progress line of a batch run.
func jobsProgressLine(p jobs.Progress) string {
	rate := 0.0
	if s := p.Elapsed.Seconds(); s > 0 {
		rate = float64(p.Finished) / s
	}
	return fmt.Sprintf("jobs: %d/%d done (%d earlier, %d failed), %d running, %d txs visited, %.1f jobs/s",
		p.Finished+p.Skipped, p.Jobs, p.Skipped, p.Failed, p.Running, p.TxsVisited, rate)
}

// jobsSummary reports a finished or interrupted batch run on w and returns
// its exit: failure when it was interrupted or a job failed, else err.
func jobsSummary(w io.Writer, sum *jobs.Summary, err error, took time.Duration, out string) error {
	if errors.Is(err, context.Canceled) {
		n := 0
		for _, r := range sum.Rows {
			if r.Status != jobs.StatusInterrupted {
				n++
			}
		}
		fmt.Fprintf(w, "jobs: interrupted with %d of %d jobs finished; the same command resumes\n", n, len(sum.Rows))
		return cli.Exit("", exitFailure)
	}
	failed := sum.Failed()
	fmt.Fprintf(w, "jobs: %d jobs: %d computed in %s, %d finished earlier, %d failed; summary in %s\n",
		len(sum.Rows), sum.Ran, took.Round(time.Millisecond), sum.Skipped, len(failed), out+"/summary.csv")
	for _, r := range failed {
		fmt.Fprintf(w, "  %s: %s\n", r.Job, r.Error)
	}
	if errors.Is(err, jobs.ErrFailed) {
		return cli.Exit("", exitFailure)
	}
	return err
}
