package flow_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/flow"
	"github.com/tracer-oss/tracer/store/ingest"
	"github.com/tracer-oss/tracer/store/storetest"
)

// indexAnswers is every answer the index gives, as a walk reads them.
func indexAnswers(x *flow.Index) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%+v\n", x.Stats())
	for n := store.TxNum(0); n < x.Txs(); n++ {
		fee, ok := x.Fee(n)
		h, first, end := x.Block(n)
		fmt.Fprintf(&b, "%d %s %d %d %d %d %v\n", n, x.TxID(n), h, first, end, fee, ok)
		if first, end, err := x.Inputs(n); err != nil {
			fmt.Fprintln(&b, err)
		} else {
			for i := first; i < end; i++ {
				fmt.Fprintf(&b, " in %+v\n", x.In(i))
			}
		}
		if first, end, err := x.Outputs(n); err != nil {
			fmt.Fprintln(&b, err)
		} else {
			for i := first; i < end; i++ {
				fmt.Fprintf(&b, " out %+v\n", x.Out(i))
			}
		}
	}
	return b.String()
}

// TestByteFlips: a byte flipped at a random offset of any file of the
// trace index is found when the index is opened — a reader gets
// ErrCorrupt naming the file, never an answer that differs from the
// intact index's.
func TestByteFlips(t *testing.T) {
	st := storetest.Open(t)
	file := storetest.BtcdTestdata(t, "blk_0_to_14131.dat")
	if _, err := ingest.Run(context.Background(), st, ingest.Config{Paths: []string{file}, StartHeight: -1, ToHeight: 400}); err != nil {
		t.Fatal(err)
	}
	x, err := flow.Open(context.Background(), st, flow.Options{})
	if err != nil {
		t.Fatal(err)
	}
	x.Close()
	if x, err = flow.Open(context.Background(), st, flow.Options{NoUpdate: true}); err != nil {
		t.Fatal(err)
	}
	want := indexAnswers(x)
	x.Close()
	dir := flow.Dir(st.Dir())
	orig := map[string][]byte{}
	for _, n := range []string{"blk.dat", "tx.dat", "txid.dat", "out.dat", "in.dat", "flow.json", "sums.dat"} {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		orig[n] = b
	}
	restore := func() {
		for n, b := range orig {
			if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	r := rand.New(rand.NewPCG(7, 7))
	for _, name := range []string{"blk.dat", "tx.dat", "txid.dat", "out.dat", "in.dat", "flow.json", "sums.dat"} {
		b := orig[name]
		var detected, harmless int
		for range 25 {
			off, mask := r.IntN(len(b)), byte(1<<r.IntN(8))
			restore()
			d := append([]byte(nil), b...)
			d[off] ^= mask
			if err := os.WriteFile(filepath.Join(dir, name), d, 0o644); err != nil {
				t.Fatal(err)
			}
			x, err := flow.Open(context.Background(), st, flow.Options{NoUpdate: true})
			switch {
			case errors.Is(err, flow.ErrCorrupt):
				detected++
				if !strings.Contains(err.Error(), name) {
					t.Errorf("%s byte %d: %v does not name the file", name, off, err)
				}
			case err != nil:
				t.Fatalf("%s byte %d: %v", name, off, err)
			default:
				got := indexAnswers(x)
				x.Close()
				if got != want {
					gl, wl := strings.Split(got, "\n"), strings.Split(want, "\n")
					for i := range min(len(gl), len(wl)) {
						if gl[i] != wl[i] {
							t.Logf("line %d:\n got %s\nwant %s", i, gl[i], wl[i])
							break
						}
					}
					t.Fatalf("%s byte %d (mask %#x): the index answers differently, without an error", name, off, mask)
				}
				harmless++
			}
		}
		t.Logf("%s: %d flips detected, %d harmless", name, detected, harmless)
	}
	restore()
}
