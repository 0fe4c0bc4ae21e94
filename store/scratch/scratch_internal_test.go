package scratch

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestNoFlock: where the file system refuses flock, Make still gives a
// working directory, without an owner file, so no process takes it for
// a leftover.
func TestNoFlock(t *testing.T) {
	lockFunc = func(string) (*os.File, error) { return nil, syscall.ENOLCK }
	t.Cleanup(func() { lockFunc = lock })
	tmp := t.TempDir()
	d, err := Make(tmp, "run-")
	if err != nil {
		t.Fatalf("Make without flock: %v", err)
	}
	if _, err := os.Stat(filepath.Join(d.Path, ownerFile)); !os.IsNotExist(err) {
		t.Fatalf("an unlocked directory has an owner file (%v): another process would remove it", err)
	}
	if n := RemoveLeftovers(tmp, "run-"); n != 0 {
		t.Fatalf("RemoveLeftovers removed %d directories", n)
	}
	d.Remove()
	if _, err := os.Stat(d.Path); !os.IsNotExist(err) {
		t.Fatalf("Remove left %s (%v)", d.Path, err)
	}
}

// TestFlockPerProcess: where flock is emulated with locks per process
// (NFS), this process can take the lock of its own directory; its
// directories are still not taken for leftovers.
func TestFlockPerProcess(t *testing.T) {
	heldFunc = func(string) bool { return false }
	t.Cleanup(func() { heldFunc = held })
	tmp := t.TempDir()
	d, err := Make(tmp, "run-")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Remove()
	if _, err := Make(tmp, "run-"); err != nil { // a second build in this process cleans up first
		t.Fatal(err)
	}
	if _, err := os.Stat(d.Path); err != nil {
		t.Fatalf("the first directory, still held by this process: %v", err)
	}
}
