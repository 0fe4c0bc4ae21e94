package directio

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// TestWriteRefused: a file opened direct whose write the system refuses
// (EINVAL: here a buffer off its alignment, as a file system taking
// O_DIRECT at open but not at write does) is written through the page
// cache instead, whole and at its length. TestRoundTrip's tmpfs does not
// reach this path on kernels from 6.6 on, whose tmpfs takes O_DIRECT.
func TestWriteRefused(t *testing.T) {
	name := filepath.Join(t.TempDir(), "f")
	w, err := Create(name, align)
	if err != nil {
		t.Fatal(err)
	}
	if !w.direct {
		w.Close()
		t.Skip("the test's folder takes no O_DIRECT: the refusal of a direct write is not exercised")
	}
	w.buf = alignedBuf(2 * align)[1 : 1 : 1+align] // the first buffer written is off its alignment
	want := make([]byte, 3*align+100)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range want {
		want[i] = byte(rng.Uint32())
	}
	if _, err := w.Write(want); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("read back %d bytes, want the %d written", len(got), len(want))
	}
}
