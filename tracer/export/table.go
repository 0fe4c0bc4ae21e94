package export

import (
	"encoding/csv"
	"fmt"
	"io"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"
)

// Format is an output format.
type Format string

const (
	Parquet Format = "parquet"
	CSV     Format = "csv"
)

// ParseFormat checks a format name.
func ParseFormat(s string) (Format, error) {
	switch Format(s) {
	case Parquet, CSV:
		return Format(s), nil
	}
	return "", fmt.Errorf("%w: %q", ErrFormat, s)
}

// Ext is the file name extension of f, with the dot.
func (f Format) Ext() string { return "." + string(f) }

// RowGroupRows bounds a Parquet row group, and with it the writer's memory:
// rows are buffered column by column until a group is full.
const RowGroupRows = 128 * 1024

// row is a table row that can also render itself as CSV.
type row interface {
	record() []string
}

// table streams rows of one type to a Parquet or CSV file.
type table[T row] struct {
	pw   *parquet.GenericWriter[T]
	cw   *csv.Writer
	buf  []T
	rows int64
}

func newTable[T row](w io.Writer, f Format, header []string) (*table[T], error) {
	t := &table[T]{}
	switch f {
	case Parquet:
		t.pw = parquet.NewGenericWriter[T](w, parquet.Compression(&zstd.Codec{Level: zstd.SpeedFastest}), parquet.MaxRowsPerRowGroup(RowGroupRows),
			parquet.CreatedBy("tracer", "", ""))
	case CSV:
		t.cw = csv.NewWriter(w)
		if err := t.cw.Write(header); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("%w: %q", ErrFormat, f)
	}
	return t, nil
}

func (t *table[T]) add(r T) error {
	t.rows++
	if t.cw != nil {
		return t.cw.Write(r.record())
	}
	t.buf = append(t.buf, r)
	if len(t.buf) == 4096 {
		return t.flush()
	}
	return nil
}

func (t *table[T]) flush() error {
	if len(t.buf) == 0 {
		return nil
	}
	_, err := t.pw.Write(t.buf)
	clear(t.buf)
	t.buf = t.buf[:0]
	return err
}

func (t *table[T]) close() error {
	if t.cw != nil {
		t.cw.Flush()
		return t.cw.Error()
	}
	if err := t.flush(); err != nil {
		return err
	}
	return t.pw.Close()
}
