package sanctions_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg"

	"github.com/tracer-oss/tracer/sanctions/ofac"
	"github.com/tracer-oss/tracer/sanctions/seeds"
	"github.com/tracer-oss/tracer/sanctions/tags"
	"github.com/tracer-oss/tracer/sanctions/testfiles"
)

// TestLongAddress: every parser that decodes an address refuses a 1 MB
// "address" (base58 characters, whose decoding is quadratic) at once, with
// a short message; it took 17 s through the API and 14 minutes in
// sanctions load at 64 MB.
func TestLongAddress(t *testing.T) {
	long := strings.Repeat("1", 1<<20)
	b, err := os.ReadFile(testfiles.Fixture(t, "ofac/sdn.csv"))
	if err != nil {
		t.Fatal(err)
	}
	sdn := strings.Replace(string(b), "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", long, 1)
	ctx := context.Background()
	for _, tt := range []struct {
		name  string
		parse func() (string, error)
	}{
		{"seeds csv", func() (string, error) {
			_, err := seeds.Parse(ctx, strings.NewReader("address,label\n"+long+",x\n"), "in.csv", &chaincfg.MainNetParams)
			return "", err
		}},
		{"tag pack csv", func() (string, error) {
			_, err := tags.ParseCSV(ctx, strings.NewReader("address,label\n"+long+",x\n"), "in.csv", tags.Options{})
			return "", err
		}},
		{"sdn.csv", func() (string, error) {
			l, err := ofac.Parse(ctx, strings.NewReader(sdn), "sdn.csv")
			if err != nil {
				return "", err
			}
			return strings.Join(l.Warnings, "\n"), errors.New("parsed")
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			warn, err := tt.parse()
			if d := time.Since(start); d > 10*time.Second { // loose for loaded CI machines; the quadratic decode takes 17 s
				t.Errorf("took %s", d)
			}
			if err == nil {
				t.Fatal("a 1 MB address was accepted")
			}
			msg := err.Error() + warn
			if len(msg) > 1000 {
				t.Errorf("the message is %d bytes long", len(msg))
			}
			if !strings.Contains(msg, "1048576") {
				t.Errorf("the message does not give the length: %.300s", msg)
			}
			t.Logf("%.300s", msg)
		})
	}
}
