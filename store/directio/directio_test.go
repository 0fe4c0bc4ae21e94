package directio_test

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/tracer-oss/tracer/store/directio"
)

// dirs are the folders the round trip runs in: the test's (a disk file
// system, written direct on Linux) and, where there is one, a tmpfs,
// which refused O_DIRECT at open before Linux 6.6 (then the page-cache
// path is taken; later kernels' tmpfs takes O_DIRECT, and
// TestWriteRefused reaches the refusal path instead).
func dirs(t *testing.T) map[string]string {
	d := map[string]string{"tempdir": t.TempDir()}
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		shm, err := os.MkdirTemp("/dev/shm", "directio-test-")
		if err == nil {
			t.Cleanup(func() { os.RemoveAll(shm) })
			d["tmpfs"] = shm
		}
	}
	return d
}

func TestRoundTrip(t *testing.T) {
	const size = 3 * 4096
	lengths := []int{0, 1, 4095, 4096, 4097, size - 1, size, size + 1, 7*size + 17}
	for where, dir := range dirs(t) {
		for _, n := range lengths {
			for _, piece := range []int{1, 7, 4096, size + 3} {
				want := make([]byte, n)
				rng := rand.New(rand.NewPCG(uint64(n), uint64(piece)))
				for i := range want {
					want[i] = byte(rng.Uint32())
				}
				name := filepath.Join(dir, "f")
				w, err := directio.Create(name, size)
				if err != nil {
					t.Fatal(err)
				}
				for p := want; len(p) > 0; {
					k := min(piece, len(p))
					if _, err := w.Write(p[:k]); err != nil {
						t.Fatal(err)
					}
					p = p[k:]
				}
				if err := w.Sync(); err != nil {
					t.Fatal(err)
				}
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
				if st, err := os.Stat(name); err != nil || st.Size() != int64(n) {
					t.Fatalf("%s: %d bytes in pieces of %d: file is %v (%v)", where, n, piece, st.Size(), err)
				}
				for _, byByte := range []bool{false, true} {
					r, err := directio.Open(name, size, 2)
					if err != nil {
						t.Fatal(err)
					}
					var got []byte
					if byByte {
						for {
							c, err := r.ReadByte()
							if errors.Is(err, io.EOF) {
								break
							}
							if err != nil {
								t.Fatal(err)
							}
							got = append(got, c)
						}
					} else if got, err = io.ReadAll(r); err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(got, want) {
						t.Fatalf("%s: %d bytes in pieces of %d (bytewise %v): read back %d bytes, not the same", where, n, piece, byByte, len(got))
					}
					if err := r.Close(); err != nil {
						t.Fatal(err)
					}
				}
				for _, off := range []int{0, 1, 4095, 4096, 4097, n / 2, n - 1, n, n + 5000} {
					off = max(off, 0)
					r, err := directio.OpenAt(name, size, 1, int64(off))
					if err != nil {
						t.Fatal(err)
					}
					got, err := io.ReadAll(r)
					if err != nil {
						t.Fatal(err)
					}
					if w := want[min(off, n):]; !bytes.Equal(got, w) {
						t.Fatalf("%s: %d bytes, read from %d: %d bytes, want %d", where, n, off, len(got), len(w))
					}
					r.Close()
				}
			}
		}
	}
}

func TestMisuse(t *testing.T) {
	dir := t.TempDir()
	if _, err := directio.Create(filepath.Join(dir, "no", "such", "dir"), 0); err == nil {
		t.Error("Create in a missing folder: no error")
	}
	if _, err := directio.Open(filepath.Join(dir, "missing"), 0, 1); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open of a missing file: %v, want not exist", err)
	}
	w, err := directio.Create(filepath.Join(dir, "f"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("y")); err == nil {
		t.Error("Write after Close: no error")
	}
	if err := w.Close(); err == nil {
		t.Error("second Close: no error")
	}
}

// A reader closed before its end stops its goroutine (the test would
// hang otherwise) and closes the file.
func TestReaderClosedEarly(t *testing.T) {
	name := writeZeros(t, 100*4096)
	r, err := directio.Open(name, 4096, 3)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.ReadByte(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err == nil {
		t.Error("second Close: no error")
	}
}

// A write error (the device full) reaches the caller at Write or Close,
// never lost.
func TestWriteErrorReported(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full here: the error path is not exercised")
	}
	w, err := directio.Create("/dev/full", 4096)
	if err != nil {
		t.Fatal(err)
	}
	var werr error
	for range 10 {
		if _, werr = w.Write(make([]byte, 4096)); werr != nil {
			break
		}
	}
	cerr := w.Close()
	if werr == nil && cerr == nil {
		t.Fatal("writing to a full device: no error from Write or Close")
	}
}

// A writer closed before its goroutine first ran (a small file on a busy
// machine; one P makes it likely) writes everything and returns, rather
// than waiting on a goroutine that found no channel to read.
func TestCloseBeforeStart(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	dir := t.TempDir()
	for i := range 20 {
		name := filepath.Join(dir, "f")
		w, err := directio.Create(name, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte("records")); err != nil {
			t.Fatal(err)
		}
		errc := make(chan error, 1)
		go func() { errc <- w.Close() }()
		select {
		case err := <-errc:
			if b, rerr := os.ReadFile(name); err != nil || rerr != nil || string(b) != "records" {
				t.Fatalf("close %d: %v, wrote %q (%v)", i, err, b, rerr)
			}
		case <-time.After(time.Minute): // a deadlock, not a measure of speed
			t.Fatalf("close %d never returned", i)
		}
	}
}

// A read after Close is an error: not data of a buffer read ahead, nor a
// wait on the stopped goroutine for one it will never read.
func TestReadAfterClose(t *testing.T) {
	name := writeZeros(t, 10*4096)
	for _, byByte := range []bool{false, true} {
		r, err := directio.Open(name, 4096, 1)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.Read(make([]byte, 4096)); err != nil { // all of the first buffer
			t.Fatal(err)
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		errc := make(chan error, 1)
		go func() {
			for { // until an error: the file holds ten buffers
				var err error
				if byByte {
					_, err = r.ReadByte()
				} else {
					_, err = r.Read(make([]byte, 4096))
				}
				if err != nil {
					errc <- err
					return
				}
			}
		}()
		select {
		case err := <-errc:
			if !errors.Is(err, os.ErrClosed) {
				t.Errorf("read (bytewise %v) after Close: %v, want %v", byByte, err, os.ErrClosed)
			}
		case <-time.After(time.Minute): // a deadlock, not a measure of speed
			t.Fatalf("read (bytewise %v) after Close never returned", byByte)
		}
	}
}

// writeZeros writes n zero bytes to a new file through a Writer and
// returns its name.
func writeZeros(t *testing.T, n int) string {
	t.Helper()
	name := filepath.Join(t.TempDir(), "f")
	w, err := directio.Create(name, 4096)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(make([]byte, n)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return name
}
