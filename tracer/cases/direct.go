package cases

import (
	"context"
	"errors"
	"fmt"

	"github.com/tracer-oss/tracer/tracer"
	"github.com/tracer-oss/tracer/tracer/spec"
)

// SpecTracer runs cases' traces with a spec.Runner: the seeds resolved,
// the labels (direct tags, then cluster labels when the store has them)
// and the walk as tracer trace, jobs and /v1/trace run them.
type SpecTracer struct {
	Runner *spec.Runner
}

// Trace implements Tracer.
func (t SpecTracer) Trace(ctx context.Context, p spec.Spec) (*tracer.Result, error) {
	out, err := t.Runner.Run(ctx, p, nil)
	if err != nil {
		return nil, err
	}
	return out.Result, nil
}

// specErr maps a Tracer's (spec) error to cases' own: bad specifications and seeds
// are ErrBadInput, a labelling failure ErrLabels.
func specErr(err error) error {
	var se *spec.SeedError
	switch {
	case errors.Is(err, spec.ErrLabels):
		// %v, not %w: a store read error here is not the caller's bad input.
		return fmt.Errorf("%w (its hits would miss labels; nothing was saved): %v", ErrLabels, err)
	case errors.Is(err, spec.ErrBadSpec), errors.Is(err, spec.ErrNoClusters), errors.As(err, &se):
		return fmt.Errorf("%w: %v", ErrBadInput, err)
	}
	return err
}
