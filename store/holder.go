package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// HolderFile is the file, in the store's directory, in which a long-running
// process that holds the store (tracer serve) says who it is, so that a
// command refused by the store's lock can name it and say what to do
// instead. It is removed when the store is closed; a file left by a killed
// process is ignored (its pid is gone) and removed by the next writer.
const HolderFile = "tracer-holder.json"

// Holder describes the process holding a store.
type Holder struct {
	PID     int       `json:"pid"`
	Command string    `json:"command"`       // "tracer serve"
	URL     string    `json:"url,omitempty"` // where it serves its API
	Admin   bool      `json:"admin"`         // it serves the admin routes (/v1/admin/...)
	Since   time.Time `json:"since"`
}

// HeldError is ErrLocked when the process holding the store said who it
// is (SetHolder).
type HeldError struct {
	Dir    string
	Holder Holder
}

func (e *HeldError) Error() string {
	return fmt.Sprintf("store: %s is held by %s", e.Dir, e.Holder)
}

// Unwrap makes a HeldError match ErrLocked.
func (e *HeldError) Unwrap() error { return ErrLocked }

// String is "tracer serve (pid 123, http://127.0.0.1:8080)".
func (h Holder) String() string {
	what := []string{fmt.Sprintf("pid %d", h.PID)}
	if h.URL != "" {
		what = append(what, h.URL)
	}
	return fmt.Sprintf("%s (%s)", h.Command, strings.Join(what, ", "))
}

// SetHolder writes the store's holder file: h, with this process's pid,
// until Close. A command that finds the store locked names h.
func (s *Store) SetHolder(h Holder) error {
	h.PID = os.Getpid()
	if h.Since.IsZero() {
		h.Since = time.Now().UTC()
	}
	b, err := json.Marshal(h)
	if err != nil {
		return err
	}
	tmp := filepath.Join(s.dir, HolderFile+".tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("store: holder file: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(s.dir, HolderFile)); err != nil {
		return errors.Join(fmt.Errorf("store: holder file: %w", err), os.Remove(tmp))
	}
	return nil
}

// readHolder returns the holder file of dir if the process it names is
// still running.
func readHolder(dir string) (Holder, bool) {
	b, err := os.ReadFile(filepath.Join(dir, HolderFile))
	if err != nil {
		return Holder{}, false
	}
	var h Holder
	if json.Unmarshal(b, &h) != nil || h.PID <= 0 || h.Command == "" || !processAlive(h.PID) {
		return Holder{}, false
	}
	return h, true
}

// removeHolder removes dir's holder file when this process wrote it, or
// with anyone whoever wrote it: a process that opened the store writable holds
// it alone, so a holder file it finds is a killed process's.
func removeHolder(dir string, anyone bool) error {
	p := filepath.Join(dir, HolderFile)
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("store: holder file: %w", err)
	}
	var h Holder
	if !anyone && (json.Unmarshal(b, &h) != nil || h.PID != os.Getpid()) {
		return nil
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("store: holder file: %w", err)
	}
	return nil
}

// Held returns, when a process that said who it is (SetHolder) holds the
// store in dir, the error a writable Open would return; else nil. It lets a
// command refuse before long work rather than at Open.
func Held(dir string) *HeldError {
	h, ok := readHolder(dir)
	if !ok || !lockTaken(dir) {
		return nil
	}
	return &HeldError{Dir: dir, Holder: h}
}
