package accuracy_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/tracer/cluster/accuracy"
)

// TestBadTruthFiles: a truth file that is not what the generator writes
// is one ErrTruth naming the file and, past the header, the line.
func TestBadTruthFiles(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(filepath.Join(dir, "db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := "bcrt1qszh00sp89zd3p9xx0s8f5wlryrmu3p7mxk58jd,user-1,user-1,user\n"
	for _, tc := range []struct{ name, body, want string }{
		{"empty", "", "header"},
		{"short row", "address,wallet,owner,kind\n" + good + "x,y,z\n", "line 3"},
		{"bad address", "address,wallet,owner,kind\n" + good + "bc1notregtest,w,o,user\n", "line 3"},
	} {
		t.Run("owners/"+tc.name, func(t *testing.T) {
			p := write("owners.csv", tc.body)
			_, err := accuracy.Score(context.Background(), st, p, params)
			if !errors.Is(err, accuracy.ErrTruth) || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want ErrTruth naming %s and %q", err, p, tc.want)
			}
		})
	}
	p := write("owners.csv", "address,wallet,owner,kind\n"+good)
	if s, err := accuracy.Score(context.Background(), st, p, params); err != nil || s.Addresses != 1 || s.Clusters != 1 || s.Precision != 1 {
		t.Errorf("one unclustered address: %+v, %v", s, err)
	}
	for _, tc := range []struct{ name, body, want string }{
		{"empty", "", "header"},
		{"bad txid", "txid,kind,height,inputs,owners\nabc,whirlpool,1,5,5\n", "line 2"},
		{"short row", "txid,kind,height,inputs,owners\n" + strings.Repeat("ab", 32) + ",whirlpool\n", "line 2"},
	} {
		t.Run("collaborative/"+tc.name, func(t *testing.T) {
			p := write("collaborative.csv", tc.body)
			_, err := accuracy.ReadCollaborative(p)
			if !errors.Is(err, accuracy.ErrTruth) || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want ErrTruth naming %s and %q", err, p, tc.want)
			}
		})
	}
}

func FuzzReadCollaborative(f *testing.F) {
	f.Add([]byte("txid,kind,height,inputs,owners\n" + strings.Repeat("0f", 32) + ",whirlpool,433,5,5\n"))
	f.Add([]byte("txid,kind\n\"x"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(dir, "c.csv")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		m, err := accuracy.ReadCollaborative(p)
		if err != nil && !errors.Is(err, accuracy.ErrTruth) {
			t.Fatalf("error %v is not ErrTruth", err)
		}
		if err == nil && m == nil {
			t.Fatal("no map and no error")
		}
	})
}
