package cases

import (
	"encoding/json"
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

// FuzzDecodeParams: any JSON object's fields decode to parameters that
// pass spec's Validate, or to ErrBadInput; never a panic.
func FuzzDecodeParams(f *testing.F) {
	f.Add([]byte(`{"model": "poison", "max_hops": 3, "stop": ["exchange", "mixing_service"]}`))
	f.Add([]byte(`{"direction": "backward", "since": "2020-01-01", "until": 500, "cluster": false}`))
	f.Add([]byte(`{"min_value": 0, "wide": "7", "stop": [], "fees_tainted": true}`))
	f.Add([]byte(`{"max_hops": 1e3, "stop": [{"a": 1}], "colour": "red"}`))
	f.Add([]byte(`{"max_txs": null, "label_all_tags": true, "cluster": "off"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var fields map[string]json.RawMessage
		if json.Unmarshal(b, &fields) != nil {
			return
		}
		p, err := DecodeParams(fields)
		if err != nil {
			if !errors.Is(err, ErrBadInput) {
				t.Fatalf("error %v is not ErrBadInput", err)
			}
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("decoded %+v does not validate: %v", p, err)
		}
	})
}
