package store

import (
	"errors"
	"fmt"
	"path/filepath"
	"syscall"
)

// Disk space.
//
// Badger writes its memtables, value log and tables through memory
// mappings of files it sizes in advance: on a full disk a write (and on
// tmpfs even a read of a not yet written page) faults with SIGBUS, which
// kills the process instead of returning an error. So the store checks the
// free space itself: before every write to Badger (each sorted flush of a
// batch, each commit, each bulk-load run and its final merge) it makes sure
// at least Options.MinFree bytes stay free beyond what that write needs,
// and stops with ErrNoSpace otherwise; the last commit stays intact. Ordinary
// file writes that fail with ENOSPC (a bulk load's sorted runs) are
// ErrNoSpace too.

// defaultMinFree is the free space every write keeps: room for a memtable
// flush, the value log and a compaction's new tables.
const defaultMinFree = 256 << 20

// openMinFree is the free space opening a store needs: Badger touches its
// write-ahead log and value log when it opens.
const openMinFree = 4 << 20

// ErrNoSpace is a store whose disk is too full to write (or to open).
var ErrNoSpace = errors.New("store: no space left")

// freeSpace returns the bytes available to this user on dir's filesystem;
// -1 when unknown.
func freeSpace(dir string) (int64, error) {
	var fs syscall.Statfs_t
	if err := syscall.Statfs(dir, &fs); err != nil {
		return -1, err
	}
	return int64(fs.Bavail) * int64(fs.Bsize), nil
}

// Free returns the bytes free on the store's filesystem.
func (s *Store) Free() (int64, error) { return s.free(s.dir) }

// CheckSpace returns ErrNoSpace unless need bytes and the minimum reserve
// (Options.MinFree) are free on the store's filesystem.
func (s *Store) CheckSpace(need int64) error {
	if s.minFree < 0 {
		return nil
	}
	free, err := s.free(s.dir)
	if err != nil || free < 0 {
		return nil // unknown: let the write find out
	}
	if free < need+s.minFree {
		return noSpace(s.dir, need+s.minFree, free)
	}
	return nil
}

func noSpace(dir string, need, free int64) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	return fmt.Errorf("%w on %s (need about %s, %s free); free some space or use a --db on a larger disk; the store is left as it was at its last commit",
		ErrNoSpace, abs, gb(need), gb(free))
}

// gb formats a size for a person.
func gb(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.0f MB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d KB", n>>10)
}

// asNoSpace makes a write error that is ENOSPC an ErrNoSpace.
func (s *Store) asNoSpace(err error) error {
	if err != nil && errors.Is(err, syscall.ENOSPC) && !errors.Is(err, ErrNoSpace) {
		free, _ := s.free(s.dir)
		return fmt.Errorf("%w: %v", noSpace(s.dir, s.minFree, max(free, 0)), err)
	}
	return err
}
