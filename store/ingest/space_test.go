package ingest_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/ingest"
	"github.com/tracer-oss/tracer/store/storetest"
)

// TestDiskFullInjected (issue 20): a disk that fills up during an ingest
// (an injected free-space probe that shrinks with every check) stops it
// with ErrNoSpace naming the directory, before Badger can fault on a full
// disk; the store reopens with the chain of its last commit, and a run with
// room continues to the same store as one complete run. So does a disk
// that is too small from the start, for a bulk load and for batches.
func TestDiskFullInjected(t *testing.T) {
	blocks := regtestChain(t)
	n := len(blocks)
	dir := writeDir(t, blocks)
	ref := ingestBlocks(t, blocks, ingest.Config{})
	for _, bulk := range []int{-1, 1} {
		failAfter := 40 // checks: one per commit or sorted flush
		if bulk > 0 {
			failAfter = 1 // the probe before the run passes, the merge's fails
		}
		db := t.TempDir()
		var free atomic.Int64
		free.Store(1 << 40)
		checks := 0
		opt := store.Options{MinFree: 1 << 20, FreeSpace: func(string) (int64, error) {
			checks++
			if checks > failAfter {
				free.Store(1 << 19) // full
			}
			return free.Load(), nil
		}}
		st, err := store.Open(db, opt)
		if err != nil {
			t.Fatal(err)
		}
		_, err = ingest.Run(context.Background(), st, ingest.Config{Paths: []string{dir}, StartHeight: -1, ToHeight: -1, CommitTxs: 20, BulkMinBlocks: bulk})
		if !errors.Is(err, store.ErrNoSpace) || !strings.Contains(err.Error(), db) || !strings.Contains(err.Error(), "need about") {
			t.Fatalf("bulk %d: err = %v", bulk, err)
		}
		tip := st.State().Height
		if bulk < 0 && (tip < 0 || tip >= int32(n-1)) {
			t.Fatalf("batches: tip %d, want a commit before the disk filled", tip)
		}
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
		// Reopens intact at its last commit; verify finds nothing wrong.
		st, err = store.Open(db, store.Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		if st.State().Height != tip {
			t.Fatalf("reopened at %d, closed at %d", st.State().Height, tip)
		}
		if s := st.State(); !s.Empty() {
			if vr, err := st.Verify(context.Background(), nil2regtest()); err != nil || len(vr.Problems) > 0 {
				t.Fatalf("verify: %+v %v", vr, err)
			}
		}
		st.Close()
		st, err = store.Open(db, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ingestErr(st, ingest.Config{Paths: []string{dir}}); err != nil {
			t.Fatal(err)
		}
		storetest.Equal(t, ref, st)
		st.Close()
	}
	// Too small from the start: refused before anything is written.
	st, err := store.Open(t.TempDir(), store.Options{MinFree: 1 << 20, FreeSpace: func(string) (int64, error) { return 5 << 20, nil }})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	big := storetest.BtcdTestdata(t, "blk_0_to_14131.dat")
	if _, err := ingestErr(st, ingest.Config{Paths: []string{big}}); !errors.Is(err, store.ErrNoSpace) {
		t.Fatalf("small disk: %v", err)
	}
	if s := st.State(); !s.Empty() {
		t.Fatalf("small disk: state %+v", s)
	}
}

// TestDiskFullTmpfs (issue 20) fills a real 64 MB tmpfs: an ingest stops
// with ErrNoSpace (no SIGBUS), the store reopens intact, and on the full
// disk reads still work and a store whose write-ahead log a killed writer
// left is refused with ErrNoSpace rather than crashing the reader. It needs
// root to mount the tmpfs.
func TestDiskFullTmpfs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root; TestDiskFullInjected covers the same with an injected probe")
	}
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs (%v: %s); TestDiskFullInjected covers the same with an injected probe", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", mnt).CombinedOutput(); err != nil {
			t.Logf("umount %s: %v: %s", mnt, err, out)
		}
	})
	blocks := regtestChain(t)
	n := len(blocks)
	dir := writeDir(t, blocks)
	fill := func(leave int64) {
		t.Helper()
		var fs syscall.Statfs_t
		if err := syscall.Statfs(mnt, &fs); err != nil {
			t.Fatal(err)
		}
		size := int64(fs.Bavail)*int64(fs.Bsize) - leave
		f, err := os.CreateTemp(mnt, "filler")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		chunk := make([]byte, 1<<20)
		for size > 0 {
			m := min(size, int64(len(chunk)))
			if _, err := f.Write(chunk[:m]); err != nil {
				break // full
			}
			size -= m
		}
	}

	db := filepath.Join(mnt, "db")
	opt := store.Options{MinFree: 2 << 20}
	st, err := store.Open(db, opt)
	if err != nil {
		t.Fatal(err)
	}
	fill(2<<20 + 64<<10)
	_, err = ingest.Run(context.Background(), st, ingest.Config{Paths: []string{dir}, StartHeight: -1, ToHeight: -1, CommitTxs: 20, BulkMinBlocks: -1})
	if !errors.Is(err, store.ErrNoSpace) || !strings.Contains(err.Error(), db) {
		t.Fatalf("err = %v", err)
	}
	tip := st.State().Height
	if tip >= int32(n-1) {
		t.Fatalf("tip %d: the disk did not fill", tip)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	// The disk now full to the last byte: reads still work.
	fill(0)
	ro, err := store.Open(db, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("read-only open on a full disk: %v", err)
	}
	if ro.State().Height != tip {
		t.Fatalf("reopened at %d, closed at %d", ro.State().Height, tip)
	}
	if tip >= 0 {
		if _, err := ro.BlockByHeight(tip); err != nil {
			t.Fatal(err)
		}
	}
	ro.Close()
	// A writable open would touch Badger's mapped logs: refused.
	if _, err := store.Open(db, store.Options{}); !errors.Is(err, store.ErrNoSpace) {
		t.Fatalf("writable open on a full disk: %v", err)
	}
	// A store a killed writer left, with its write-ahead log (.mem): copy
	// one while it is open onto the full disk's neighbour, then read it.
	src := storetest.Open(t)
	if _, err := ingestErr(src, ingest.Config{Paths: []string{dir}, BulkMinBlocks: -1}); err != nil {
		t.Fatal(err)
	}
	killed := filepath.Join(mnt, "killed")
	fillers, _ := filepath.Glob(filepath.Join(mnt, "filler*"))
	for _, f := range fillers {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := exec.Command("cp", "-a", "--sparse=always", src.Dir(), killed).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
	if m, _ := filepath.Glob(filepath.Join(killed, "*.mem")); len(m) == 0 {
		t.Fatal("no write-ahead log in the copy")
	}
	os.Remove(filepath.Join(killed, "LOCK"))
	fill(0)
	if _, err := store.Open(killed, store.Options{ReadOnly: true}); !errors.Is(err, store.ErrNoSpace) {
		t.Fatalf("read-only open of a killed writer's store on a full disk: %v", err)
	}
}
