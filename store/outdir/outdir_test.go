package outdir_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/tracer-oss/tracer/store/outdir"
)

func TestMkdir(t *testing.T) {
	root := filepath.Join(t.TempDir(), "out")
	elsewhere := t.TempDir()
	if p, err := outdir.Mkdir(root, "a/b"); err != nil || p != filepath.Join(root, "a", "b") {
		t.Fatalf("plain folders: %q, %v", p, err)
	}
	if err := os.Symlink(elsewhere, filepath.Join(root, "job")); err != nil {
		t.Fatal(err)
	}
	for _, rel := range []string{"job", "job/x", "job/x/y"} {
		if _, err := outdir.Mkdir(root, rel); !errors.Is(err, outdir.ErrSymlink) {
			t.Errorf("%s under a link: %v, want ErrSymlink", rel, err)
		}
	}
	if _, err := outdir.Mkdir(root, "../x"); err == nil {
		t.Error("../x accepted")
	}
	if es, _ := os.ReadDir(elsewhere); len(es) != 0 {
		t.Errorf("created %v through the link", es)
	}
	if err := os.WriteFile(filepath.Join(elsewhere, "f"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(elsewhere, "f"), filepath.Join(root, "a", "file.json")); err != nil {
		t.Fatal(err)
	}
	if err := outdir.Prepare(root, filepath.Join(root, "a", "file.json")); !errors.Is(err, outdir.ErrSymlink) {
		t.Errorf("a linked file: %v", err)
	}
	if err := outdir.Prepare(root, filepath.Join(root, "a", "c", "new.json")); err != nil {
		t.Errorf("a new file: %v", err)
	}
	// The root itself may be a link the user chose.
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(elsewhere, link); err != nil {
		t.Fatal(err)
	}
	if _, err := outdir.Mkdir(link, "ok"); err != nil {
		t.Errorf("under a linked root: %v", err)
	}
}
