package export_test

import (
	"io"

	"github.com/tracer-oss/tracer/tracer"
	"github.com/tracer-oss/tracer/tracer/report"
)

func reportJSON(w io.Writer, r *tracer.Result) error { return report.JSON(w, r) }
