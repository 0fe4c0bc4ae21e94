package store_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/wire"

	"github.com/tracer-oss/tracer/sanctions/testfiles"
	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/chaingen"
	"github.com/tracer-oss/tracer/store/ingest"
	"github.com/tracer-oss/tracer/store/storetest"
)

// answers is every answer the store gives to the lookups the tool makes:
// each block by height and hash, each transaction by number and txid, the
// spenders of its outputs, every address's outputs, every key and value.
// It returns the first error a lookup returns.
func answers(st *store.Store) (string, error) {
	var b strings.Builder
	s := st.State()
	fmt.Fprintf(&b, "%+v\n", s)
	for h := s.StartHeight; h <= s.Height; h++ {
		blk, err := st.BlockByHeight(h)
		if err != nil {
			return "", err
		}
		if _, err := st.BlockByHash(blk.Hash); err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "block %d %+v\n", h, *blk)
	}
	var txs []*store.Tx
	if err := st.ForEachTx(0, func(tx *store.Tx) error { txs = append(txs, tx); return nil }); err != nil {
		return "", err
	}
	fmt.Fprintf(&b, "%d txs\n", len(txs))
	for _, tx := range txs {
		byID, err := st.Tx(tx.ID)
		if err != nil {
			return "", err
		}
		byNum, err := st.TxByNum(tx.Num)
		if err != nil {
			return "", err
		}
		sp, err := st.Spenders(tx.Num)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "tx %+v\n%+v\n%+v\n%v\n", *tx, *byID, *byNum, sp)
		for _, o := range tx.Outputs {
			if err := st.AddressOutputs(o.Addr, store.OutPoint{}, func(ao store.AddrOutput) bool {
				fmt.Fprintf(&b, "  %+v\n", ao)
				return true
			}); err != nil {
				return "", err
			}
		}
	}
	err := st.Dump(func(k, v []byte) error {
		fmt.Fprintf(&b, "%x=%x\n", k, v)
		return nil
	})
	return b.String(), err
}

func answersOf(dir string) (string, error) {
	st, err := store.Open(dir, store.Options{ReadOnly: true})
	if err != nil {
		return "", err
	}
	defer st.Close()
	return answers(st)
}

// mainnetStore ingests real mainnet blocks, whose large transactions
// Badger keeps in its value log; empty when the shared data is absent.
func mainnetStore(t *testing.T) string {
	var raw [][]byte
	for _, name := range []string{"mainnet_866342_000000000000000000014ce9ba7c6760053c3c82ce6ab43d60afb101d3c8f1f1.bin"} {
		p, why := testfiles.FindShared("blocks/" + name)
		if p == "" {
			t.Logf("no mainnet block (%s): the value log is covered by the generated store only", why)
			return ""
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		raw = append(raw, b)
	}
	blocks := filepath.Join(t.TempDir(), "blocks")
	storetest.WriteBlocksDir(t, blocks, raw, storetest.Layout{Magic: wire.MainNet})
	dir := t.TempDir()
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ingest.Run(context.Background(), st, ingest.Config{Paths: []string{blocks}, StartHeight: -1, ToHeight: -1}); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

func generatedStore(t *testing.T) string {
	st := storetest.GeneratedStore(t, chaingen.Config{Txs: 300, Seed: 9, TxsPerBlock: 50})
	dir := st.Dir()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

func copyDir(t testing.TB, from, to string) {
	t.Helper()
	es, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(to, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		if e.IsDir() {
			copyDir(t, filepath.Join(from, e.Name()), filepath.Join(to, e.Name()))
			continue
		}
		in, err := os.Open(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out, err := os.Create(filepath.Join(to, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(out, in); err != nil {
			t.Fatal(err)
		}
		in.Close()
		if err := out.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// flip XORs one byte of file with a non-zero mask.
func flip(t testing.TB, file string, off int64, mask byte) {
	t.Helper()
	f, err := os.OpenFile(file, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b [1]byte
	if _, err := f.ReadAt(b[:], off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= mask
	if _, err := f.WriteAt(b[:], off); err != nil {
		t.Fatal(err)
	}
}

// TestByteFlips is the property every damaged store must keep: a byte
// flipped anywhere in a table, value log or the MANIFEST either changes no
// answer or makes the lookups fail — never a different answer. And
// verify (CheckFiles) names the damaged file for every flip that is not
// harmless.
func TestByteFlips(t *testing.T) {
	flips := 40
	if testing.Short() {
		flips = 10
	}
	stores := map[string]string{"generated": generatedStore(t)}
	if dir := mainnetStore(t); dir != "" {
		stores["mainnet"] = dir
	}
	for name, pristine := range stores {
		want, err := answersOf(pristine)
		if err != nil {
			t.Fatal(err)
		}
		r := rand.New(rand.NewPCG(1, uint64(len(name))))
		for _, pattern := range []string{"*.sst", "*.vlog", "MANIFEST"} {
			files, _ := filepath.Glob(filepath.Join(pristine, pattern))
			for _, file := range files {
				fi, err := os.Stat(file)
				if err != nil {
					t.Fatal(err)
				}
				if strings.HasSuffix(file, ".vlog") && fi.Size() <= 20 {
					continue // only a header: nothing to damage
				}
				var detected, harmless int
				for i := 0; i < flips; i++ {
					off := r.Int64N(fi.Size())
					mask := byte(1 << r.IntN(8))
					t.Run(fmt.Sprintf("%s/%s/%d", name, filepath.Base(file), off), func(t *testing.T) {
						dir := filepath.Join(t.TempDir(), "db")
						copyDir(t, pristine, dir)
						flip(t, filepath.Join(dir, filepath.Base(file)), off, mask)
						dmg, cerr := store.CheckFiles(context.Background(), dir)
						if cerr != nil {
							t.Fatal(cerr)
						}
						got, err := answersOf(dir)
						switch {
						case err != nil:
							detected++
							if len(dmg) == 0 {
								t.Errorf("lookups fail (%v) but CheckFiles finds nothing", err)
							}
						case got != want:
							t.Fatalf("a flip of byte %d (mask %#x) changed an answer, and no error", off, mask)
						default:
							harmless++
						}
						if len(dmg) > 0 && !strings.Contains(fmt.Sprint(dmg), filepath.Base(file)) && !strings.Contains(fmt.Sprint(dmg), "MANIFEST") {
							t.Errorf("CheckFiles names %v, not %s", dmg, filepath.Base(file))
						}
						// A writable open never cuts a damaged store short.
						if len(dmg) > 0 {
							before := sizes(t, dir)
							st, err := store.Open(dir, store.Options{})
							if err == nil {
								st.Close()
								t.Fatalf("a writable open accepted a damaged store (%v)", dmg)
							}
							if !errors.Is(err, store.ErrDamaged) {
								t.Errorf("writable open: %v, want ErrDamaged", err)
							}
							if after := sizes(t, dir); after != before {
								t.Errorf("a refused open changed the files: %s → %s", before, after)
							}
						}
					})
				}
				t.Logf("%s %s: %d flips detected, %d harmless", name, filepath.Base(file), detected, harmless)
			}
		}
	}
}

func sizes(t testing.TB, dir string) string {
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range es {
		if fi, err := e.Info(); err == nil && !e.IsDir() {
			fmt.Fprintf(&b, "%s:%d ", e.Name(), fi.Size())
		}
	}
	return b.String()
}
