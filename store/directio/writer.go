package directio

import (
	"fmt"
	"os"
	"sync/atomic"
	"unsafe"
)

// align is the alignment O_DIRECT asks of buffers, offsets and lengths:
// a page, a multiple of every logical block size in use.
const align = 4096

// DefaultSize is the buffer size Create and Open use when given 0.
const DefaultSize = 1 << 20

// alignedBuf returns a buffer of n bytes (a multiple of align) whose
// first byte is aligned.
func alignedBuf(n int) []byte {
	b := make([]byte, n+align)
	off := 0
	if r := int(uintptr(unsafe.Pointer(&b[0])) % align); r != 0 {
		off = align - r
	}
	return b[off : off+n : off+n]
}

// roundSize is size (DefaultSize for 0) rounded up to a multiple of align.
func roundSize(size int) int {
	if size <= 0 {
		size = DefaultSize
	}
	return (size + align - 1) / align * align
}

// Writer writes a new file from start to end: its buffers are written in
// order on another goroutine, each full one as the next fills.
type Writer struct {
	f      *os.File
	name   string
	direct bool // opened with O_DIRECT: the last buffer is padded, then cut
	buf    []byte
	full   chan []byte
	free   chan []byte
	done   chan struct{} // closed when every buffer handed over is written
	n      int64         // bytes accepted
	werr   atomic.Pointer[error]
	err    error
	closed bool // Flush ran: no more writes
}

// Create creates (or truncates) the file name for writing past the page
// cache, with buffers of size bytes (DefaultSize for 0).
func Create(name string, size int) (*Writer, error) {
	size = roundSize(size)
	f, direct, err := openDirect(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	w := &Writer{f: f, name: name, direct: direct, buf: alignedBuf(size)[:0],
		full: make(chan []byte, 2), free: make(chan []byte, 3), done: make(chan struct{})}
	for range 2 {
		w.free <- alignedBuf(size)[:0]
	}
	go w.write(w.full, w.free, w.done)
	return w, nil
}

// write writes the buffers handed over until full is closed. After its
// first error it only hands the buffers back; Write and Flush report it.
func (w *Writer) write(full <-chan []byte, free chan<- []byte, done chan<- struct{}) {
	defer close(done)
	var err error
	for b := range full {
		if err == nil {
			var n int
			if n, err = w.f.Write(b); err != nil && w.direct && refused(err) {
				// Opened direct, but refused: go on through the page
				// cache, from where the refusal stopped it.
				if err = clearDirect(w.f); err == nil {
					_, err = w.f.Write(b[n:])
				}
			}
			if err != nil {
				err = fmt.Errorf("directio: write %s: %w", w.name, err)
				w.werr.Store(&err)
			}
		}
		free <- b[:0]
	}
}

// Write buffers p; it returns the first error of an earlier write.
func (w *Writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if w.closed {
		return 0, fmt.Errorf("directio: write %s: %w", w.name, os.ErrClosed)
	}
	n := len(p)
	for len(p) > 0 {
		if len(w.buf) == cap(w.buf) {
			if e := w.werr.Load(); e != nil {
				w.err = *e
				return 0, w.err
			}
			w.full <- w.buf
			w.buf = <-w.free
		}
		c := copy(w.buf[len(w.buf):cap(w.buf)], p)
		w.buf, p = w.buf[:len(w.buf)+c], p[c:]
	}
	w.n += int64(n)
	return n, nil
}

// Size is how many bytes were written so far.
func (w *Writer) Size() int64 { return w.n }

// Flush writes what is buffered and waits for every write. The file is
// complete after it: further writes fail.
func (w *Writer) Flush() error {
	if w.closed {
		return w.err
	}
	w.closed = true
	if w.err == nil && len(w.buf) > 0 {
		if w.direct && len(w.buf)%align != 0 {
			// A direct write is whole blocks: pad the last, cut the file
			// back to its length below.
			pad := align - len(w.buf)%align
			w.buf = w.buf[:len(w.buf)+pad]
			clear(w.buf[len(w.buf)-pad:])
		}
		w.full <- w.buf
	}
	close(w.full)
	<-w.done
	if e := w.werr.Load(); e != nil && w.err == nil {
		w.err = *e
	}
	if w.err == nil && w.direct {
		if err := w.f.Truncate(w.n); err != nil {
			w.err = fmt.Errorf("directio: write %s: %w", w.name, err)
		}
	}
	return w.err
}

// Sync flushes the writer and commits the file to stable storage.
func (w *Writer) Sync() error {
	if err := w.Flush(); err != nil {
		return err
	}
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("directio: sync %s: %w", w.name, err)
	}
	return nil
}

// Close flushes the writer and closes the file; it returns the first
// error of either. Closing twice returns an error.
func (w *Writer) Close() error {
	if w.f == nil {
		return fmt.Errorf("directio: close %s: %w", w.name, os.ErrClosed)
	}
	err := w.Flush()
	cerr := w.f.Close()
	w.f = nil
	if err == nil && cerr != nil {
		err = fmt.Errorf("directio: close %s: %w", w.name, cerr)
	}
	return err
}
