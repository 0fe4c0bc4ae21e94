package flow_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/flow"
	"github.com/tracer-oss/tracer/store/ingest"
	"github.com/tracer-oss/tracer/store/storetest"
)

// FuzzCorruptIndex damages the index files of a small real store (the
// first 300 mainnet blocks) with the fuzzer's writes and reads every
// transaction back the way a walk does: Open finds every change by the
// index's checksums, and an undamaged index never panics.
func FuzzCorruptIndex(f *testing.F) {
	st := storetest.Open(f)
	file := storetest.BtcdTestdata(f, "blk_0_to_14131.dat")
	if _, err := ingest.Run(context.Background(), st, ingest.Config{Paths: []string{file}, StartHeight: -1, ToHeight: 300}); err != nil {
		f.Fatal(err)
	}
	x, err := flow.Open(context.Background(), st, flow.Options{})
	if err != nil {
		f.Fatal(err)
	}
	x.Close()
	dir := flow.Dir(st.Dir())
	names := []string{"blk.dat", "tx.dat", "txid.dat", "out.dat", "in.dat"}
	orig := map[string][]byte{}
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			f.Fatal(err)
		}
		orig[n] = b
	}
	f.Add(uint8(1), uint32(0), uint64(1<<40))
	f.Add(uint8(4), uint32(8), uint64(1<<63))
	f.Add(uint8(3), uint32(24*5+8), uint64(0xffffffffffffffff))
	f.Add(uint8(0), uint32(8), uint64(0))
	f.Fuzz(func(t *testing.T, file uint8, off uint32, v uint64) {
		name := names[int(file)%len(names)]
		changed := false
		for _, n := range names {
			b := append([]byte(nil), orig[n]...)
			if n == name && len(b) >= 8 {
				o := int(off) % (len(b) - 7)
				binary.LittleEndian.PutUint64(b[o:], v)
				changed = !bytes.Equal(b, orig[n])
			}
			if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		x, err := flow.Open(context.Background(), st, flow.Options{NoUpdate: true})
		switch {
		case err != nil && errors.Is(err, flow.ErrCorrupt) && changed:
			// The checksums found the damage: no answer from it.
			if !strings.Contains(err.Error(), name) {
				t.Fatalf("%v does not name %s", err, name)
			}
			return
		case err != nil:
			t.Fatal(err)
		case changed:
			x.Close()
			t.Fatalf("a damaged %s opened without an error", name)
		}
		defer x.Close()
		for n := store.TxNum(0); n < x.Txs(); n++ {
			x.TxID(n)
			x.Height(n)
			x.Fee(n)
			if first, end, err := x.Inputs(n); err == nil {
				for i := first; i < end; i++ {
					if in := x.In(i); in.Kind == store.InputKnown {
						if j, err := x.OutIndex(in.Prev); err == nil {
							x.Out(j)
						}
					}
				}
			}
			if first, end, err := x.Outputs(n); err == nil {
				for i := first; i < end; i++ {
					if o := x.Out(i); o.Spent {
						_, _, _ = x.Inputs(o.By.Tx) // a damaged index may refuse; it must not panic
					}
				}
			}
		}
	})
}
