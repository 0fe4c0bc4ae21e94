package lists

import (
	"errors"
	"io"
	"io/fs"
	"os"
)

// File is one input: a file's content or an upload's body.
type File struct {
	// Name is used in errors, as the list's Source and the tag pack's
	// name (its base name), and to tell a tag CSV (.csv) and a compressed
	// list's inner name (.gz, .bz2) apart.
	Name string
	R    io.Reader
	Size int64 // bytes R holds, for progress; 0 when unknown
}

// OpenFiles opens files on disk as inputs; close closes them all. A missing
// file matches ErrBadInput.
func OpenFiles(paths ...string) (files []File, close func() error, err error) {
	var opened []*os.File
	closeAll := func() error {
		var errs []error
		for _, f := range opened {
			errs = append(errs, f.Close())
		}
		return errors.Join(errs...)
	}
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			closeAll() //nolint:errcheck // read-only inputs, already failing
			if errors.Is(err, fs.ErrNotExist) {
				err = inputError{err}
			}
			return nil, nil, err
		}
		opened = append(opened, f)
		in := File{Name: p, R: f}
		if fi, err := f.Stat(); err == nil {
			in.Size = fi.Size()
		}
		files = append(files, in)
	}
	return files, closeAll, nil
}
