package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestRestoreFilesNames: a backup's files land only in the cluster
// directory; a name leading anywhere else is refused and nothing is
// written outside it.
func TestRestoreFilesNames(t *testing.T) {
	body := func(name string) *bytes.Reader {
		b := binary.BigEndian.AppendUint32(nil, 1)
		b = binary.BigEndian.AppendUint16(b, uint16(len(name)))
		b = append(b, name...)
		b = binary.BigEndian.AppendUint64(b, 3)
		return bytes.NewReader(append(b, "abc"...))
	}
	for _, name := range []string{"clusters/../../evil", "clusters/", "clusters/..", "evil", "/etc/evil", "clusters/a/b",
		"exposure/evil", "exposure/../gen-3.acc", "exposure/gen-3.acc/x", "exposure/gen-0.acc", "exposure/gen-3.exe", "other/gen-3.acc"} {
		dir := t.TempDir()
		if err := restoreFiles(body(name), filepath.Join(dir, "db")); !errors.Is(err, ErrBadBackup) {
			t.Errorf("%q: %v, want ErrBadBackup", name, err)
		}
		if _, err := os.Stat(filepath.Join(dir, "evil")); err == nil {
			t.Errorf("%q: wrote outside the store", name)
		}
	}
	dir := t.TempDir()
	if err := restoreFiles(body("clusters/forest.dat"), dir); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, clusterDir, "forest.dat")); err != nil || string(b) != "abc" {
		t.Fatalf("restored %q, %v", b, err)
	}
	if err := restoreFiles(body("exposure/gen-3.acc"), dir); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, exposureDir, "gen-3.acc")); err != nil || string(b) != "abc" {
		t.Fatalf("restored %q, %v", b, err)
	}
	// A body cut inside a file is a bad backup, not a short file.
	b := body("clusters/forest.dat")
	cut := make([]byte, b.Len()-1)
	if _, err := b.Read(cut); err != nil {
		t.Fatal(err)
	}
	if err := restoreFiles(bytes.NewReader(cut), t.TempDir()); !errors.Is(err, ErrBadBackup) {
		t.Fatalf("cut body: %v", err)
	}
}
