package directio

import (
	"errors"
	"os"
	"syscall"
)

// openDirect opens name with O_DIRECT, or without when the file system
// refuses it.
func openDirect(name string, flag int, perm os.FileMode) (f *os.File, direct bool, err error) {
	f, err = os.OpenFile(name, flag|syscall.O_DIRECT, perm)
	if err == nil {
		return f, true, nil
	}
	if !errors.Is(err, syscall.EINVAL) {
		return nil, false, err
	}
	f, err = os.OpenFile(name, flag, perm)
	return f, false, err
}

// refused reports whether err is a file system refusing a direct read or
// write (it accepted the open but not the I/O).
func refused(err error) bool { return errors.Is(err, syscall.EINVAL) }

// clearDirect turns O_DIRECT off on f.
func clearDirect(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		flags, _, e := syscall.Syscall(syscall.SYS_FCNTL, fd, syscall.F_GETFL, 0)
		if e != 0 {
			serr = e
			return
		}
		if _, _, e := syscall.Syscall(syscall.SYS_FCNTL, fd, syscall.F_SETFL, flags&^syscall.O_DIRECT); e != 0 {
			serr = e
		}
	}); err != nil {
		return err
	}
	return serr
}

// pread is one pread(2) call: os.File.ReadAt would call again after a
// short read at the end of a file, at an offset O_DIRECT refuses.
func pread(f *os.File, b []byte, off int64) (n int, err error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, err
	}
	if cerr := rc.Read(func(fd uintptr) bool {
		for {
			n, err = syscall.Pread(int(fd), b, off)
			if !errors.Is(err, syscall.EINTR) {
				return true
			}
		}
	}); cerr != nil {
		return 0, cerr
	}
	return max(n, 0), err
}
