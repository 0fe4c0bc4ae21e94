package report

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/tracer-oss/tracer/tracer"
)

// JSON writes r's JSON form (the schema in the package doc), indented by two
// spaces and ending in a newline. Field order is the struct's and map keys
// are sorted, so the same result always gives the same bytes.
func (rd Renderer) JSON(w io.Writer, r *tracer.Result) error {
	if r == nil {
		return ErrNilResult
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("report: json: %w", err)
	}
	b = append(b, '\n')
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("report: json: %w", err)
	}
	return nil
}
