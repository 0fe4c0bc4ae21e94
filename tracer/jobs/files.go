package jobs

import (
	"bufio"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

const tempPrefix = ".tmp-"

// writeAtomic writes a file through a temporary file in the same folder,
// synced and renamed into place, so a crash leaves either the old state
// or the whole new file. It returns the SHA-256 of what it wrote.
func writeAtomic(path string, fill func(io.Writer) error) (string, error) {
	dir, base := filepath.Split(path)
	f, err := os.CreateTemp(dir, tempPrefix+base+"-*")
	if err != nil {
		return "", fmt.Errorf("jobs: %w", err)
	}
	defer os.Remove(f.Name())              //nolint:errcheck // a no-op after the rename; else drops a discarded temp file
	if err := f.Chmod(0o644); err != nil { // CreateTemp's 0600 is for secrets
		return "", errors.Join(fmt.Errorf("jobs: %w", err), f.Close())
	}
	h := sha256.New()
	bw := bufio.NewWriter(io.MultiWriter(f, h))
	if err := fill(bw); err != nil {
		return "", errors.Join(fmt.Errorf("jobs: write %s: %w", path, err), f.Close())
	}
	if err := bw.Flush(); err != nil {
		return "", errors.Join(fmt.Errorf("jobs: write %s: %w", path, err), f.Close())
	}
	if err := f.Sync(); err != nil {
		return "", errors.Join(fmt.Errorf("jobs: write %s: %w", path, err), f.Close())
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("jobs: write %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return "", fmt.Errorf("jobs: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func writeJSON(path string, v any) error {
	_, err := writeAtomic(path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	})
	return err
}

// removeTemps removes temporary files a killed run left in dir.
func removeTemps(dir string) {
	list, _ := filepath.Glob(filepath.Join(dir, tempPrefix+"*"))
	for _, f := range list {
		os.Remove(f) //nolint:errcheck // best effort: a temp file left now is removed on the next run
	}
}

// SummaryHeader names the columns of summary.csv.
var SummaryHeader = []string{"job", "status", "seeds", "direction", "model", "hits", "traced_sat", "to_entities_sat", "unspent_sat", "txs_visited", "seconds", "error"}

func writeSummary(dir string, s *Summary) error {
	if err := writeJSON(filepath.Join(dir, SummaryJSONFile), s); err != nil {
		return err
	}
	_, err := writeAtomic(filepath.Join(dir, SummaryCSVFile), func(w io.Writer) error { return WriteSummaryCSV(w, s) })
	return err
}

// WriteSummaryCSV writes the summary table, one row per job.
func WriteSummaryCSV(w io.Writer, s *Summary) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(SummaryHeader); err != nil {
		return err
	}
	for _, r := range s.Rows {
		i := strconv.Itoa
		n := func(v int64) string { return strconv.FormatInt(v, 10) }
		rec := []string{r.Job, r.Status, i(r.Seeds), r.Direction, r.Model, i(r.Hits), n(r.Traced), n(r.ToEntities), n(r.Unspent),
			i(r.TxsVisited), strconv.FormatFloat(r.Seconds, 'f', 3, 64), cell(r.Error)}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// cell keeps a spreadsheet from taking an error message for a formula.
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@", rune(s[0])) {
		return "'" + s
	}
	return s
}
