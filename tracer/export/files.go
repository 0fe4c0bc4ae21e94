package export

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"path/filepath"
	"strings"

	"github.com/btcsuite/btcd/chaincfg"

	"github.com/tracer-oss/tracer/store/flow"
	"github.com/tracer-oss/tracer/tracer"
)

// CheckFile reports (ErrOutput) before any work is done whether a file can
// be written at path: its folder exists and path is not a folder. Commands
// call it first so a long trace does not fail at its very end.
func CheckFile(path string) error {
	if path == "" {
		return fmt.Errorf("%w: empty path", ErrOutput)
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return fmt.Errorf("%w: %s is a folder, not a file", ErrOutput, path)
	}
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("%w %s: folder %s does not exist", ErrOutput, path, dir)
	}
	if !fi.IsDir() {
		return fmt.Errorf("%w %s: %s is not a folder", ErrOutput, path, dir)
	}
	return nil
}

// CheckDir reports (ErrOutput) whether dir is a folder or can be created as
// one: its parent exists.
func CheckDir(dir string) error {
	if dir == "" {
		return fmt.Errorf("%w: empty path", ErrOutput)
	}
	if fi, err := os.Stat(dir); err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("%w: %s is a file, not a folder", ErrOutput, dir)
		}
		return nil
	}
	parent := filepath.Dir(filepath.Clean(dir))
	if fi, err := os.Stat(parent); err != nil || !fi.IsDir() {
		return fmt.Errorf("%w %s: folder %s does not exist", ErrOutput, dir, parent)
	}
	return nil
}

// WriteDir runs fill to write into dir, creating dir when missing. When
// fill fails and WriteDir created dir, dir is removed with everything in
// it: a failed command leaves nothing behind. A folder that existed stays.
func WriteDir(dir string, fill func() error) error {
	if err := CheckDir(dir); err != nil {
		return err
	}
	created := false
	if _, err := os.Stat(dir); err != nil {
		if err := os.Mkdir(dir, 0o755); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		created = true
	}
	err := fill()
	if err != nil && created {
		err = errors.Join(err, os.RemoveAll(dir))
	}
	return err
}

// WriteFile writes path through a temporary file renamed into place, so a
// reader never sees half a file, and a failed fill leaves nothing.
func WriteFile(path string, fill func(io.Writer) error) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, ".tmp-"+base+"-*")
	if err != nil {
		return fmt.Errorf("%w %s: %w", ErrOutput, path, err)
	}
	defer os.Remove(f.Name())              //nolint:errcheck // a no-op after the rename; else drops a discarded temp file
	if err := f.Chmod(0o644); err != nil { // CreateTemp's 0600 is for secrets
		return errors.Join(fmt.Errorf("export: %w", err), f.Close())
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	if err := fill(bw); err != nil {
		return errors.Join(err, f.Close())
	}
	if err := bw.Flush(); err != nil {
		return errors.Join(fmt.Errorf("export: %w", err), f.Close())
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return os.Rename(f.Name(), path)
}

// GraphFiles names the graph tables in a folder.
func GraphFiles(dir string, f Format) (txs, inputs, outputs string) {
	return filepath.Join(dir, "txs"+f.Ext()), filepath.Join(dir, "inputs"+f.Ext()), filepath.Join(dir, "outputs"+f.Ext())
}

// GraphDir writes the graph of blocks from..to into dir as txs, inputs and
// outputs files of format f, reading x as Graph does.
// progress, if not nil, is called as GraphWriters.Progress.
func GraphDir(ctx context.Context, src GraphSource, x *flow.Index, params *chaincfg.Params, from, to int32, f Format, dir string, progress func(GraphStats, int32)) (GraphStats, error) {
	tp, ip, op := GraphFiles(dir, f)
	var st GraphStats
	// Three nested atomic writes: the files appear together at the end; a
	// folder created for them goes again on failure.
	err := WriteDir(dir, func() error {
		return WriteFile(tp, func(tw io.Writer) error {
			return WriteFile(ip, func(iw io.Writer) error {
				return WriteFile(op, func(ow io.Writer) error {
					var err error
					st, err = Graph(ctx, src, x, params, from, to, f, GraphWriters{Txs: tw, Inputs: iw, Outputs: ow, Progress: progress})
					return err
				})
			})
		})
	})
	return st, err
}

// LoadTraces reads the trace results at path, one at a time as they are
// consumed: a report.json (`tracer trace --format json`), a job folder
// holding one, or a `tracer jobs run` output folder (every finished job, in
// manifest order). Each is named by its job (the folder's name) or, for a
// bare report, the file name without .json.
func LoadTraces(path string) iter.Seq2[Trace, error] {
	return func(yield func(Trace, error) bool) {
		list, err := traceFiles(path)
		if err != nil {
			yield(Trace{}, err)
			return
		}
		for _, tf := range list {
			r, err := readReport(tf.path)
			if !yield(Trace{Job: tf.job, Result: r}, err) || err != nil {
				return
			}
		}
	}
}

type traceFile struct{ job, path string }

func traceFiles(path string) ([]traceFile, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	if !fi.IsDir() {
		name := strings.TrimSuffix(filepath.Base(path), ".json")
		if name == "report" {
			abs, _ := filepath.Abs(path)
			name = filepath.Base(filepath.Dir(abs))
		}
		return []traceFile{{name, path}}, nil
	}
	if _, err := os.Stat(filepath.Join(path, "report.json")); err == nil {
		abs, _ := filepath.Abs(path)
		return []traceFile{{filepath.Base(abs), filepath.Join(path, "report.json")}}, nil
	}
	b, err := os.ReadFile(filepath.Join(path, "manifest.json"))
	if err != nil {
		return nil, fmt.Errorf("%w: %s holds neither report.json nor manifest.json", ErrNotTrace, path)
	}
	var m struct {
		Jobs []string `json:"jobs"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrNotTrace, filepath.Join(path, "manifest.json"), err)
	}
	var out []traceFile
	for _, j := range m.Jobs {
		dir := filepath.Join(path, j)
		if _, err := os.Stat(filepath.Join(dir, "done")); errors.Is(err, os.ErrNotExist) {
			continue // unfinished or failed
		}
		out = append(out, traceFile{j, filepath.Join(dir, "report.json")})
	}
	return out, nil
}

func readReport(path string) (*tracer.Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	defer f.Close() //nolint:errcheck // opened read-only: Close cannot lose data
	var r tracer.Result
	if err := json.NewDecoder(bufio.NewReader(f)).Decode(&r); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrNotTrace, path, err)
	}
	if r.SchemaVersion != 1 {
		return nil, fmt.Errorf("%w: %s (schema_version %d)", ErrNotTrace, path, r.SchemaVersion)
	}
	return &r, nil
}
