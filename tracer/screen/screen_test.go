package screen_test

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/tracer-oss/tracer/sanctions/address"
	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/chaingen"
	"github.com/tracer-oss/tracer/tracer/screen"
	"github.com/tracer-oss/tracer/tracer/screen/screentest"
)

type fixture struct {
	db    string
	st    *store.Store
	truth *chaingen.Truth
}

var (
	fixOnce sync.Once
	fix     fixture
	fixErr  error
)

// loadFixture builds (once per test binary) the generated scam-centre chain
// with its list, tags and exposure index, and opens it read-only.
func loadFixture(t *testing.T) *fixture {
	t.Helper()
	fixOnce.Do(func() {
		dir, err := os.MkdirTemp("", "tracer-screen-")
		if err != nil {
			fixErr = err
			return
		}
		ctx := context.Background()
		opt := screen.Options{Params: screentest.Params, MaxHops: 200}
		if fix.db, fixErr = screentest.Build(ctx, dir, 6000, 42, opt); fixErr != nil {
			return
		}
		if fix.truth, fixErr = chaingen.ReadTruth(filepath.Join(dir, "chain", "truth.json")); fixErr != nil {
			return
		}
		fix.st, fixErr = store.Open(fix.db, store.Options{ReadOnly: true})
	})
	if fixErr != nil {
		t.Fatal(fixErr)
	}
	return &fix
}

func newScreener(t *testing.T, f *fixture, opt screen.Options) *screen.Screener {
	t.Helper()
	opt.Params = screentest.Params
	if opt.MaxHops == 0 {
		opt.MaxHops = 200
	}
	s, err := screen.New(f.st, opt)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// truthAddresses lists every address the truth names, by role.
func truthAddresses(tr *chaingen.Truth) map[string]string {
	out := map[string]string{}
	for _, e := range tr.Exchanges {
		for _, a := range e.HotWallets {
			out[a] = "hot wallet"
		}
		for _, a := range e.Deposits {
			out[a] = "deposit"
		}
	}
	for _, c := range tr.Clean {
		out[c.Address] = "clean " + c.Kind
	}
	for _, d := range tr.Deposits {
		out[d.Address] = "deposit"
	}
	for _, p := range tr.Paths {
		out[p.DepositAddress] = "deposit"
	}
	for _, s := range tr.Seeds {
		out[s.Address] = "seed"
	}
	return out
}

// TestExposureAgainstTruth: every tainted deposit address's sanctioned
// exposure from the index equals the truth's haircut taint of its deposits
// (to the satoshi: both are the same forward haircut), and every output the
// truth calls clean under haircut, paid to an address that received nothing
// else, scores zero.
func TestExposureAgainstTruth(t *testing.T) {
	f := loadFixture(t)
	s := newScreener(t, f, screen.Options{})
	if !s.IndexUsable() {
		t.Fatalf("index not usable: %+v", s.Status().Index)
	}
	ctx := context.Background()
	want := map[string]int64{}
	for _, d := range f.truth.Deposits {
		want[d.Address] += d.Taint.Haircut
	}
	checked := 0
	for addr, w := range want {
		r, err := s.Lookup(ctx, addr)
		if err != nil {
			t.Fatal(err)
		}
		got := r.Sanctioned()
		if got.Amount != w {
			t.Errorf("deposit address %s: sanctioned exposure %d sat, truth %d", addr, got.Amount, w)
		}
		if w > 0 {
			checked++
			if r.Risk != screen.RiskExposed || got.Nearest == "" || len(got.Sources) == 0 || len(got.Sources[0].Path) < 2 || got.Share <= 0 || got.Share > 1 {
				t.Errorf("deposit address %s: %+v", addr, r)
			}
		}
	}
	if checked < 5 {
		t.Fatalf("only %d exposed deposit addresses checked", checked)
	}
	// Clean outputs: an address whose every receipt is clean under haircut scores zero.
	cleanOnly := map[string]bool{}
	for _, c := range f.truth.Clean {
		clean := false
		for _, m := range c.CleanUnder {
			clean = clean || m == chaingen.Haircut
		}
		if _, ok := cleanOnly[c.Address]; !ok || !clean {
			cleanOnly[c.Address] = clean
		}
	}
	for _, d := range f.truth.Deposits {
		if d.Taint.Haircut > 0 {
			cleanOnly[d.Address] = false
		}
	}
	zero := 0
	for addr, clean := range cleanOnly {
		if !clean {
			continue
		}
		r, err := s.Lookup(ctx, addr)
		if err != nil {
			t.Fatal(err)
		}
		if e := r.Sanctioned(); e.Amount != 0 || r.Risk == screen.RiskExposed {
			t.Errorf("clean address %s: exposure %d sat (%s)", addr, e.Amount, r.Risk)
		}
		zero++
	}
	if zero == 0 {
		t.Fatal("no clean address in the truth")
	}
	// Seeds are direct hits with their entity.
	for _, sd := range f.truth.Seeds {
		r, err := s.Lookup(ctx, sd.Address)
		if err != nil {
			t.Fatal(err)
		}
		if r.Risk != screen.RiskSanctioned || len(r.Direct) == 0 || strings.ReplaceAll(r.Direct[0].Entity, ",", "") != strings.ReplaceAll(sd.Entity, ",", "") || r.Method != screen.MethodDirect {
			t.Errorf("seed %s: %+v", sd.Address, r)
		}
	}
	t.Logf("%d exposed deposit addresses equal the truth; %d clean addresses score zero; %d seeds are direct hits", checked, zero, len(f.truth.Seeds))
}

// TestIndexEqualsFresh: for every address of the truth, and for background
// addresses, the index lookup equals a fresh backward walk, within one
// satoshi of floor rounding per edge of the walk; and the nearest hop count
// and sources agree.
func TestIndexEqualsFresh(t *testing.T) {
	f := loadFixture(t)
	s := newScreener(t, f, screen.Options{})
	ctx := context.Background()
	addrs := truthAddresses(f.truth)
	// Background addresses: the first outputs of every 50th transaction.
	bg := 0
	for n := store.TxNum(0); n < f.st.State().NextTx && bg < 150; n += 50 {
		tx, err := f.st.TxByNum(n)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range tx.Outputs {
			if a := o.Addr.String(screentest.Params); a != "" && o.Addr.Kind.HasAddress() {
				if _, ok := addrs[a]; !ok {
					addrs[a] = "background"
					bg++
				}
				break
			}
		}
	}
	keys := make([]string, 0, len(addrs))
	for a := range addrs {
		keys = append(keys, a)
	}
	sort.Strings(keys)
	exposed, exact, bgZero := 0, 0, 0
	for _, a := range keys {
		ix, err := s.Lookup(ctx, a)
		if err != nil {
			t.Fatalf("%s: %v", a, err)
		}
		fr, err := s.Fresh(ctx, a)
		if err != nil {
			t.Fatalf("%s: %v", a, err)
		}
		if ix.Risk != fr.Risk {
			t.Errorf("%s (%s): risk index %s, fresh %s", a, addrs[a], ix.Risk, fr.Risk)
		}
		ie, fe := ix.Sanctioned(), fr.Sanctioned()
		if ie.Amount > 0 && ix.Received != fr.Received {
			t.Errorf("%s: received index %d, fresh %d", a, ix.Received, fr.Received)
		}
		tol := int64(0)
		for _, src := range fe.Sources {
			tol += int64(len(src.Path)) * 4 // floor rounding: at most one satoshi per edge either way
		}
		tol += int64(fe.Hops + ie.Hops)
		if d := ie.Amount - fe.Amount; d > tol || -d > tol {
			t.Errorf("%s (%s): index %d sat, fresh %d sat", a, addrs[a], ie.Amount, fe.Amount)
		}
		if ie.Amount == fe.Amount {
			exact++
		}
		if ie.Amount > 0 {
			exposed++
			if ie.Hops != fe.Hops || ie.Nearest != fe.Nearest {
				t.Errorf("%s: nearest index %s at %d hops, fresh %s at %d", a, ie.Nearest, ie.Hops, fe.Nearest, fe.Hops)
			}
			if len(ie.Sources) != len(fe.Sources) {
				t.Errorf("%s: %d sources in the index, %d fresh", a, len(ie.Sources), len(fe.Sources))
			}
		}
		if addrs[a] == "background" && fe.Amount == 0 {
			bgZero++
		}
	}
	t.Logf("%d addresses (%d background, %d of them zero): %d exposed, %d equal to the satoshi", len(keys), bg, bgZero, exposed, exact)
	if exposed == 0 || bgZero == 0 {
		t.Fatal("nothing exposed, or no clean background address")
	}
}

// TestStale: an index built for other options is stale and Screen falls
// back to a fresh walk.
func TestStale(t *testing.T) {
	f := loadFixture(t)
	s := newScreener(t, f, screen.Options{MaxHops: 7})
	if s.IndexUsable() || len(s.Status().Index.Stale) == 0 {
		t.Fatalf("index with other max hops not stale: %+v", s.Status().Index)
	}
	r, err := s.Screen(context.Background(), f.truth.Deposits[0].Address)
	if err != nil || r.Method != screen.MethodFresh {
		t.Fatalf("stale index: %v %+v", err, r)
	}
}

// TestInvalid: an invalid address is an error wrapping address.ErrInvalid.
func TestInvalid(t *testing.T) {
	f := loadFixture(t)
	s := newScreener(t, f, screen.Options{})
	for _, a := range []string{"", "nope", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", "1BoatSLRHtKNngkdXEeobR76b53LETtpyT"} {
		if _, err := s.Lookup(context.Background(), a); err == nil {
			t.Errorf("%q: no error", a)
		} else if !errorsIs(err, address.ErrInvalid) {
			t.Errorf("%q: %v does not wrap address.ErrInvalid", a, err)
		}
	}
}
