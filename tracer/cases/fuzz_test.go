package cases

import (
	"errors"
	"strings"
	"testing"
)

// FuzzManifest: any bytes give entries of a 64-digit hex sum and a name,
// each name once, or ErrBadInput; never a panic.
func FuzzManifest(f *testing.F) {
	f.Add([]byte(strings.Repeat("ab", 32) + "  report.html\n" + strings.Repeat("0", 64) + "  hits.csv\n"))
	f.Add([]byte(strings.Repeat("ab", 32) + " report.html\n"))
	f.Add([]byte(strings.Repeat("zz", 32) + "  x\n"))
	f.Add([]byte(strings.Repeat("ab", 32) + "  x\n" + strings.Repeat("ab", 32) + "  x\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, b []byte) {
		es, err := parseManifest(b)
		if err != nil {
			if !errors.Is(err, ErrBadInput) {
				t.Fatalf("error %v is not ErrBadInput", err)
			}
			return
		}
		seen := map[string]bool{}
		for _, e := range es {
			if len(e.sum) != 64 || e.name == "" || seen[e.name] {
				t.Fatalf("bad entry %+v", e)
			}
			seen[e.name] = true
		}
	})
}

func TestParseManifest(t *testing.T) {
	good := strings.Repeat("AB", 32) + "  report.html\n"
	es, err := parseManifest([]byte(good))
	if err != nil || len(es) != 1 || es[0].sum != strings.Repeat("ab", 32) || es[0].name != "report.html" {
		t.Errorf("%+v %v", es, err)
	}
	for _, bad := range []string{
		strings.Repeat("ab", 32) + " one-space\n",
		strings.Repeat("ab", 31) + "  short\n",
		strings.Repeat("zz", 32) + "  not-hex\n",
		strings.Repeat("ab", 32) + "  \n",
		good + good,
	} {
		if _, err := parseManifest([]byte(bad)); !errors.Is(err, ErrBadInput) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
