package accuracy

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/btcsuite/btcd/chaincfg"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/tracer/cluster"
)

// Config is one clustering to score: the multi-input heuristic with the
// named change rules, the default size guard.
type Config struct {
	Name   string
	Change []cluster.Rule
}

// Configs are the clusterings Evaluate scores: multi-input alone, with
// each change rule alone, and with all of them together.
var Configs = func() []Config {
	out := []Config{{Name: "multi-input"}}
	for _, r := range cluster.Rules {
		out = append(out, Config{Name: "+" + string(r), Change: []cluster.Rule{r}})
	}
	return append(out, Config{Name: "+all change rules", Change: cluster.Rules})
}()

// Scored is one configuration's score.
type Scored struct {
	Config Config    `json:"config"`
	Score  *Pairwise `json:"score"`
}

// Report is Evaluate's result for one chain.
type Report struct {
	Scores    []Scored  `json:"scores"`
	Confusion Confusion `json:"confusion"`
}

// Evaluate clusters st under every Config (each a rebuild, so st must be
// writable and its stored clusters are replaced; the last stays) and
// scores each against truthDir/owners.csv, then counts the detectors
// against truthDir/collaborative.csv.
func Evaluate(ctx context.Context, st *store.Store, truthDir string, params *chaincfg.Params) (*Report, error) {
	rep := &Report{}
	for _, cfg := range Configs {
		if _, err := cluster.Run(ctx, st, cluster.Options{Change: cfg.Change, MaxMerge: cluster.DefaultMaxMerge, Rebuild: true}); err != nil {
			return nil, fmt.Errorf("cluster %s: %w", cfg.Name, err)
		}
		s, err := Score(ctx, st, filepath.Join(truthDir, "owners.csv"), params)
		if err != nil {
			return nil, fmt.Errorf("score %s: %w", cfg.Name, err)
		}
		rep.Scores = append(rep.Scores, Scored{Config: cfg, Score: s})
	}
	truth, err := ReadCollaborative(filepath.Join(truthDir, "collaborative.csv"))
	if err != nil {
		return nil, err
	}
	if rep.Confusion, err = Detections(ctx, st, truth); err != nil {
		return nil, err
	}
	return rep, nil
}

// WriteText renders the report as two aligned tables.
func (r *Report) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "clustering\tprecision\trecall\tclusters\tlargest\tlargest false (owners, top share)\tfalse clusters")
	for _, s := range r.Scores {
		p := s.Score
		fmt.Fprintf(tw, "%s\t%.4f\t%.4f\t%d\t%d\t%d (%d, %.2f)\t%d\n", s.Config.Name, p.Precision, p.Recall, p.Clusters,
			p.Largest, p.LargestFalse, p.LargestFalseOwners, p.LargestFalseShare, p.FalseClusters)
	}
	fmt.Fprintln(tw)
	rows, cols := r.Confusion.Kinds()
	fmt.Fprintf(tw, "true \\ detected\t%s\n", strings.Join(cols, "\t"))
	for _, row := range rows {
		cells := make([]string, len(cols))
		for i, c := range cols {
			cells[i] = fmt.Sprint(r.Confusion[row][c])
		}
		fmt.Fprintf(tw, "%s\t%s\n", row, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

// Add sums another chain's counts into r (scores are recomputed from the
// summed pair counts, so they are pooled, not averaged).
func (r *Report) Add(o *Report) {
	if len(r.Scores) == 0 {
		for _, s := range o.Scores {
			c := *s.Score
			r.Scores = append(r.Scores, Scored{Config: s.Config, Score: &c})
		}
	} else {
		for i, s := range o.Scores {
			p, q := r.Scores[i].Score, s.Score
			p.Addresses += q.Addresses
			p.Owners += q.Owners
			p.Clusters += q.Clusters
			p.TruePairs += q.TruePairs
			p.PredictedPairs += q.PredictedPairs
			p.CorrectPairs += q.CorrectPairs
			p.FalseClusters += q.FalseClusters
			p.Largest = max(p.Largest, q.Largest)
			if q.LargestFalse > p.LargestFalse {
				p.LargestFalse, p.LargestFalseOwners, p.LargestFalseShare = q.LargestFalse, q.LargestFalseOwners, q.LargestFalseShare
			}
			p.Precision, p.Recall = 1, 1
			if p.PredictedPairs > 0 {
				p.Precision = float64(p.CorrectPairs) / float64(p.PredictedPairs)
			}
			if p.TruePairs > 0 {
				p.Recall = float64(p.CorrectPairs) / float64(p.TruePairs)
			}
		}
	}
	if r.Confusion == nil {
		r.Confusion = Confusion{}
	}
	for row, m := range o.Confusion {
		if r.Confusion[row] == nil {
			r.Confusion[row] = map[string]int64{}
		}
		for c, n := range m {
			r.Confusion[row][c] += n
		}
	}
}
