package export_test

import (
	"context"
	"io"
	"testing"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/flow"
	"github.com/tracer-oss/tracer/tracer"
	"github.com/tracer-oss/tracer/tracer/report"
)

func reportJSON(w io.Writer, r *tracer.Result) error { return report.JSON(w, r) }

// openFlow opens st's flow index, building it when missing, and closes it
// when the test ends.
func openFlow(tb testing.TB, st *store.Store) *flow.Index {
	tb.Helper()
	x, err := flow.Open(context.Background(), st, flow.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := x.Close(); err != nil {
			tb.Error(err)
		}
	})
	return x
}
