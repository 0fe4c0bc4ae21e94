package cases

import (
	"context"
	"fmt"

	"github.com/btcsuite/btcd/chaincfg"

	"github.com/tracer-oss/tracer/store/address"
	"github.com/tracer-oss/tracer/tracer"
	"github.com/tracer-oss/tracer/tracer/taint"
)

// DirectTracer runs cases' traces with tracer.Forward and tracer.Backward,
// as tracer trace does.
type DirectTracer struct {
	Graph  tracer.Graph
	Params *chaincfg.Params
	// Labels returns the labeler for a direction (seedsel.Selector.Labels).
	Labels func(backward bool) (tracer.Labeler, error)
	// Data names the data versions the result is computed on.
	Data func() tracer.DataInfo
}

// Trace implements Tracer.
func (d DirectTracer) Trace(ctx context.Context, seeds []string, p Params) (*tracer.Result, error) {
	model, err := taint.Parse(p.Model)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadInput, err)
	}
	var ss []tracer.Seed
	for _, s := range seeds {
		a, err := address.Parse(s, d.Params)
		if err != nil {
			return nil, fmt.Errorf("%w: seed %q: %v", ErrBadInput, s, err)
		}
		ss = append(ss, tracer.Seed{Addr: a, Source: "case"})
	}
	lab, err := d.Labels(p.Direction == "backward")
	if err != nil {
		return nil, err
	}
	opt := tracer.Options{Model: model, MaxHops: p.MaxHops, MinValue: p.MinValue, SinceHeight: p.SinceHeight, UntilHeight: p.UntilHeight,
		MaxTxs: p.MaxTxs, WideOutputs: p.WideOutputs, StopCategories: p.Stop, Params: d.Params}
	var r *tracer.Result
	if p.Direction == "backward" {
		r, err = tracer.Backward(ctx, d.Graph, lab, ss, nil, opt)
	} else {
		r, err = tracer.Forward(ctx, d.Graph, lab, ss, opt)
	}
	if err == nil {
		err = labelErr(lab)
	}
	if err != nil {
		return nil, err
	}
	if d.Data != nil {
		r.Data = d.Data()
	}
	return r, nil
}

// labelErr is the first error a labeler met while labelling (cluster
// labels cannot return one from Label, so they keep it: tracer trace
// checks it the same way).
func labelErr(l tracer.Labeler) error {
	if ls, ok := l.(tracer.Labelers); ok {
		for _, x := range ls {
			if err := labelErr(x); err != nil {
				return err
			}
		}
		return nil
	}
	if e, ok := l.(interface{ Err() error }); ok && e.Err() != nil {
		// %v, not %w: a store read error here is not the caller's bad input.
		return fmt.Errorf("%w (its hits would miss labels; nothing was saved): %v", ErrLabels, e.Err())
	}
	return nil
}
