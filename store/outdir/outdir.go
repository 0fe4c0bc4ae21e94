package outdir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ErrSymlink is a symbolic link under an output folder.
var ErrSymlink = errors.New("outdir: symbolic link under the output folder")

// Mkdir creates root/rel and the folders between (root itself may be a
// link the user chose), and fails with ErrSymlink if any of them below
// root is a symbolic link, or anything but a folder.
func Mkdir(root, rel string) (string, error) {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", fmt.Errorf("outdir: %w", err)
	}
	path := root
	for _, part := range strings.Split(filepath.Clean(rel), string(filepath.Separator)) {
		if part == "" || part == "." {
			continue
		}
		if part == ".." {
			return "", fmt.Errorf("outdir: %q leaves %s", rel, root)
		}
		path = filepath.Join(path, part)
		fi, err := os.Lstat(path)
		switch {
		case errors.Is(err, os.ErrNotExist):
			if err := os.Mkdir(path, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
				return "", fmt.Errorf("outdir: %w", err)
			}
			continue
		case err != nil:
			return "", fmt.Errorf("outdir: %w", err)
		case fi.Mode()&os.ModeSymlink != 0:
			target, _ := os.Readlink(path)
			return "", fmt.Errorf("%w: %s points to %s; remove it, or write to another folder", ErrSymlink, path, target)
		case !fi.IsDir():
			return "", fmt.Errorf("outdir: %s is a file, not a folder", path)
		}
	}
	// A link created between the checks and Mkdir: check once more.
	if fi, err := os.Lstat(path); err != nil || fi.Mode()&os.ModeSymlink != 0 {
		return "", fmt.Errorf("%w: %s", ErrSymlink, path)
	}
	return path, nil
}

// CheckFile fails with ErrSymlink if path is a symbolic link (writing
// through it would change its target).
func CheckFile(path string) error {
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		target, _ := os.Readlink(path)
		return fmt.Errorf("%w: %s points to %s; remove it, or write to another folder", ErrSymlink, path, target)
	}
	return nil
}

// Prepare makes the folders of path, a file under root, and checks that
// neither they nor path itself are symbolic links.
func Prepare(root, path string) error {
	rel, err := filepath.Rel(root, path)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return fmt.Errorf("outdir: %s is not under %s", path, root)
	}
	if _, err := Mkdir(root, filepath.Dir(rel)); err != nil {
		return err
	}
	return CheckFile(path)
}
