package screen_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/tracer-oss/tracer/sanctions/ofac"
	"github.com/tracer-oss/tracer/store/chaingen"
	"github.com/tracer-oss/tracer/store/ingest"
	"github.com/tracer-oss/tracer/store/storetest"
	"github.com/tracer-oss/tracer/tracer/screen"
	"github.com/tracer-oss/tracer/tracer/screen/screentest"
)

// TestListOnly: on a store with a list and no blocks a screener answers
// from the list alone, for an address of any network, saying exposure is
// unavailable; once the store has blocks, At (how serve --rpc moves its
// screener to each new tip) answers with exposure again.
func TestListOnly(t *testing.T) {
	ctx := context.Background()
	chain := t.TempDir()
	if _, err := chaingen.Generate(ctx, chaingen.Config{OutDir: chain, Txs: 200, Seed: 3}, nil); err != nil {
		t.Fatal(err)
	}
	l, err := ofac.ParseFiles(ctx, filepath.Join(chain, "sanctions", "sdn_advanced.xml"))
	if err != nil {
		t.Fatal(err)
	}
	listed := l.Addresses("XBT")[0]
	const unlisted, mainnet = "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080", "1BoatSLRHtKNngkdXEeobR76b53LETtpyT"
	st := storetest.Open(t)
	if _, err := st.Lists().Save(ctx, l); err != nil {
		t.Fatal(err)
	}
	scr, err := screen.New(st, screen.Options{Params: screentest.Params})
	if err != nil {
		t.Fatal(err)
	}
	if scr.Status().ExposureUnavailable == "" {
		t.Fatalf("status of a store without blocks: %+v", scr.Status())
	}
	for _, tc := range []struct{ addr, risk, method string }{
		{listed, screen.RiskSanctioned, screen.MethodDirect},
		{unlisted, screen.RiskNone, screen.MethodList},
		{mainnet, screen.RiskNone, screen.MethodList},
	} {
		r, err := scr.Screen(ctx, tc.addr)
		if err != nil || r.Risk != tc.risk || r.Method != tc.method || r.ExposureUnavailable == "" {
			t.Errorf("list only, %s: %+v %v; want %s by %s, exposure unavailable", tc.addr, r, err, tc.risk, tc.method)
		}
	}
	if _, err := scr.Screen(ctx, "notvalid"); err == nil {
		t.Error("list only: an invalid address screened")
	}

	if _, err := ingest.Run(ctx, st, ingest.Config{Paths: []string{filepath.Join(chain, "blocks")}, StartHeight: -1, ToHeight: -1}); err != nil {
		t.Fatal(err)
	}
	moved, err := scr.At(st, nil)
	if err != nil {
		t.Fatal(err)
	}
	if moved.Status().ExposureUnavailable != "" {
		t.Errorf("status after blocks: %+v", moved.Status())
	}
	for _, tc := range []struct{ addr, risk, method string }{
		{listed, screen.RiskSanctioned, screen.MethodDirect},
		{unlisted, screen.RiskNone, screen.MethodFresh},
	} {
		r, err := moved.Screen(ctx, tc.addr)
		if err != nil || r.Risk != tc.risk || r.Method != tc.method || r.ExposureUnavailable != "" {
			t.Errorf("with blocks, %s: %+v %v; want %s by %s", tc.addr, r, err, tc.risk, tc.method)
		}
	}
}
