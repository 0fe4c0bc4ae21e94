package directio

import (
	"fmt"
	"io"
	"os"
)

// Reader reads a file from start to end; the next buffer is read on
// another goroutine while the caller consumes the last.
type Reader struct {
	f      *os.File
	name   string
	cur    []byte // what is left of the current buffer
	held   []byte // the current buffer, handed back when consumed
	chunks chan chunk
	free   chan []byte
	stop   chan struct{}
	done   chan struct{}
	err    error // sticky: io.EOF at the end
	skip   int   // bytes of the first buffer before the asked offset
}

type chunk struct {
	b   []byte
	err error
}

// Open opens the file name for reading with buffers of size bytes
// (DefaultSize for 0); ahead more are read before they are asked for.
func Open(name string, size, ahead int) (*Reader, error) { return OpenAt(name, size, ahead, 0) }

// OpenAt is Open reading from byte off on.
func OpenAt(name string, size, ahead int, off int64) (*Reader, error) {
	if off < 0 {
		return nil, fmt.Errorf("directio: open %s at %d: negative offset", name, off)
	}
	size = roundSize(size)
	ahead = max(ahead, 1)
	f, direct, err := openDirect(name, os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	start := off / align * align // a direct read starts on a block
	r := &Reader{f: f, name: name, chunks: make(chan chunk, ahead), free: make(chan []byte, ahead+1),
		stop: make(chan struct{}), done: make(chan struct{}), skip: int(off - start)}
	for range ahead + 1 {
		r.free <- alignedBuf(size)
	}
	go r.read(direct, start)
	return r, nil
}

// read reads the file in order from off into free buffers until its end,
// an error or stop.
func (r *Reader) read(direct bool, off int64) {
	defer close(r.done)
	for {
		var b []byte
		select {
		case b = <-r.free:
		case <-r.stop:
			return
		}
		b = b[:cap(b)]
		n, err := r.readAt(b, off, &direct)
		off += int64(n)
		select {
		case r.chunks <- chunk{b[:n], err}:
		case <-r.stop:
			return
		}
		if err != nil {
			return
		}
	}
}

// readAt reads b from off: whole, or up to the end of the file (io.EOF).
func (r *Reader) readAt(b []byte, off int64, direct *bool) (int, error) {
	n := 0
	for n < len(b) {
		m, err := pread(r.f, b[n:], off+int64(n))
		if err != nil && *direct && refused(err) {
			*direct = false
			if err = clearDirect(r.f); err == nil {
				continue
			}
		}
		if err != nil {
			return n, fmt.Errorf("directio: read %s at %d: %w", r.name, off+int64(n), err)
		}
		n += m
		if m == 0 || m%align != 0 {
			return n, io.EOF // only the end of the file stops a read short of a block
		}
	}
	return n, nil
}

// fill makes r.cur the next buffer; it returns io.EOF at the end.
func (r *Reader) fill() error {
	if r.f == nil {
		// Closed: the goroutine is gone, and a buffer it read ahead
		// would be all a wait for the next ever got.
		return fmt.Errorf("directio: read %s: %w", r.name, os.ErrClosed)
	}
	for len(r.cur) == 0 {
		if r.err != nil {
			return r.err
		}
		if r.held != nil {
			r.free <- r.held
			r.held = nil
		}
		c := <-r.chunks
		r.cur, r.err = c.b, c.err
		if len(c.b) > 0 {
			r.held = c.b[:cap(c.b)]
		} else if r.err == nil {
			r.err = io.EOF
		}
		if r.skip > 0 {
			n := min(r.skip, len(r.cur))
			r.cur, r.skip = r.cur[n:], r.skip-n
		}
	}
	return nil
}

// Read reads up to len(p) bytes.
func (r *Reader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if err := r.fill(); err != nil {
		return 0, err
	}
	n := copy(p, r.cur)
	r.cur = r.cur[n:]
	return n, nil
}

// ReadByte reads one byte.
func (r *Reader) ReadByte() (byte, error) {
	if err := r.fill(); err != nil {
		return 0, err
	}
	c := r.cur[0]
	r.cur = r.cur[1:]
	return c, nil
}

// Close stops reading ahead and closes the file.
func (r *Reader) Close() error {
	if r.f == nil {
		return fmt.Errorf("directio: close %s: %w", r.name, os.ErrClosed)
	}
	close(r.stop)
	<-r.done
	err := r.f.Close()
	r.f = nil
	return err
}
