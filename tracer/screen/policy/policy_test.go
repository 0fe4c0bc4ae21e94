package policy

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func mustParse(t *testing.T, doc string) *Policy {
	t.Helper()
	p, err := Parse(strings.NewReader(doc), "test.yaml")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return p
}

func exp(cat string, amount int64, share float64, hops int) Exposure {
	return Exposure{Category: cat, Direction: Received, Amount: amount, Share: share, Hops: hops}
}

// TestRuleKinds has one table per kind of condition: each case must fire
// or not fire as stated.
func TestRuleKinds(t *testing.T) {
	for _, tc := range []struct {
		name  string
		rule  string // the body of one rule named r, level high
		facts Facts
		fires bool
	}{
		{"category direct hit", "category: sanctioned", Facts{Direct: []string{"sanctioned"}}, true},
		{"category other", "category: sanctioned", Facts{Direct: []string{"exchange"}}, false},
		{"category list", "category: [scam, ransomware]", Facts{Exposures: []Exposure{exp("ransomware", 5, 0.1, 2)}}, true},
		{"category alias darknet market", "category: darknet_market", Facts{Exposures: []Exposure{exp("market", 5, 0.1, 2)}}, true},
		{"category alias in facts", "category: market", Facts{Direct: []string{"darknet_market"}}, true},
		{"category any", "category: any", Facts{Direct: []string{"exchange"}}, true},
		{"category any not on nothing", "category: any", Facts{}, false},
		{"direct only ignores funds", "{category: sanctioned, exposure: direct}", Facts{Exposures: []Exposure{exp("sanctioned", 5, 0.5, 1)}}, false},
		{"direct only on listing", "{category: sanctioned, exposure: direct}", Facts{Direct: []string{"sanctioned"}}, true},
		{"indirect only ignores listing", "{category: sanctioned, exposure: indirect}", Facts{Direct: []string{"sanctioned"}}, false},
		{"indirect only on funds", "{category: sanctioned, exposure: indirect}", Facts{Exposures: []Exposure{exp("sanctioned", 1, 0.000001, 9)}}, true},
		{"zero amount never exposure", "{category: sanctioned, exposure: indirect}", Facts{Exposures: []Exposure{exp("sanctioned", 0, 0, 0)}}, false},
		{"min_share met", "{category: sanctioned, min_share: 1%}", Facts{Exposures: []Exposure{exp("sanctioned", 100, 0.01, 3)}}, true},
		{"min_share missed", "{category: sanctioned, min_share: 1%}", Facts{Exposures: []Exposure{exp("sanctioned", 100, 0.0099, 3)}}, false},
		{"min_share fraction", "{category: sanctioned, min_share: 0.5}", Facts{Exposures: []Exposure{exp("sanctioned", 100, 0.49, 3)}}, false},
		{"min_share makes indirect", "{category: sanctioned, min_share: 1%}", Facts{Direct: []string{"sanctioned"}}, false},
		{"min_amount met", "{category: scam, min_amount: 1000}", Facts{Exposures: []Exposure{exp("scam", 1000, 0.001, 3)}}, true},
		{"min_amount missed", "{category: scam, min_amount: 1000}", Facts{Exposures: []Exposure{exp("scam", 999, 0.9, 3)}}, false},
		{"min_amount BTC", "{category: scam, min_amount: 0.5 BTC}", Facts{Exposures: []Exposure{exp("scam", 49_999_999, 0.9, 3)}}, false},
		{"min_amount BTC met", "{category: scam, min_amount: 0.5 BTC}", Facts{Exposures: []Exposure{exp("scam", 50_000_000, 0.9, 3)}}, true},
		{"max_hops met", "{category: mixing_service, max_hops: 3}", Facts{Exposures: []Exposure{exp("mixing_service", 10, 0.1, 3)}}, true},
		{"max_hops missed", "{category: mixing_service, max_hops: 3}", Facts{Exposures: []Exposure{exp("mixing_service", 10, 0.1, 4)}}, false},
		{"min_hops met", "{category: mixing_service, min_hops: 2}", Facts{Exposures: []Exposure{exp("mixing_service", 10, 0.1, 2)}}, true},
		{"min_hops missed", "{category: mixing_service, min_hops: 2}", Facts{Exposures: []Exposure{exp("mixing_service", 10, 0.1, 1)}}, false},
		{"direction received", "{category: scam, direction: received}", Facts{Exposures: []Exposure{exp("scam", 10, 0.1, 1)}}, true},
		{"direction sent misses received", "{category: scam, direction: sent}", Facts{Exposures: []Exposure{exp("scam", 10, 0.1, 1)}}, false},
		{"direction sent", "{category: scam, direction: sent}", Facts{Exposures: []Exposure{{Category: "scam", Direction: Sent, Amount: 10, Share: 0.1, Hops: 1}}}, true},
		{"all conditions on one exposure", "{category: [scam, hack], min_amount: 50, min_share: 10%, max_hops: 2}",
			Facts{Exposures: []Exposure{exp("scam", 40, 0.5, 1), exp("hack", 60, 0.05, 1), exp("hack", 60, 0.2, 3)}}, false},
		{"all conditions met by one", "{category: [scam, hack], min_amount: 50, min_share: 10%, max_hops: 2}",
			Facts{Exposures: []Exposure{exp("scam", 40, 0.5, 1), exp("hack", 60, 0.2, 2)}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := tc.rule
			if !strings.HasPrefix(body, "{") {
				body = "{" + body + "}"
			}
			body = "{name: r, level: high, " + body[1:]
			p := mustParse(t, "rules:\n  - "+body+"\n")
			d := p.Evaluate(tc.facts)
			if got := d.Rule == "r"; got != tc.fires {
				t.Fatalf("rule %s on %+v: fired %v (decision %+v), want %v", body, tc.facts, got, d, tc.fires)
			}
			if tc.fires && (d.Level != High || d.Reason == "") {
				t.Fatalf("decision %+v: want level high with a reason", d)
			}
			if !tc.fires && (d.Level != None || d.Matched != nil) {
				t.Fatalf("decision %+v: want none", d)
			}
		})
	}
}

func TestPrecedence(t *testing.T) {
	p := mustParse(t, `rules:
  - {name: low-any, level: low, category: any}
  - {name: medium-a, level: medium, category: scam}
  - {name: high-a, level: high, category: scam, max_hops: 2}
  - {name: high-b, level: high, category: scam}
  - {name: none-x, level: none, category: scam}
`)
	for _, tc := range []struct {
		name    string
		facts   Facts
		level   Level
		rule    string
		matched []string
	}{
		{"highest level wins over file order", Facts{Exposures: []Exposure{exp("scam", 1, 0.1, 1)}}, High, "high-a",
			[]string{"low-any", "medium-a", "high-a", "high-b", "none-x"}},
		{"first of the highest level named", Facts{Exposures: []Exposure{exp("scam", 1, 0.1, 5)}}, High, "high-b",
			[]string{"low-any", "medium-a", "high-b", "none-x"}},
		{"a none rule never lowers", Facts{Direct: []string{"scam"}}, High, "high-b",
			[]string{"low-any", "medium-a", "high-b", "none-x"}},
		{"only the low rule", Facts{Direct: []string{"exchange"}}, Low, "low-any", []string{"low-any"}},
		{"nothing matches", Facts{}, None, "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := p.Evaluate(tc.facts)
			if d.Level != tc.level || d.Rule != tc.rule || !slices.Equal(d.Matched, tc.matched) {
				t.Fatalf("got %v %q %v, want %v %q %v", d.Level, d.Rule, d.Matched, tc.level, tc.rule, tc.matched)
			}
		})
	}
}

func TestDefault(t *testing.T) {
	p := Default()
	if p.Name != "default" || len(p.Rules) != 7 || len(p.Warnings) != 0 {
		t.Fatalf("default policy: %+v", p)
	}
	for _, tc := range []struct {
		name  string
		facts Facts
		level Level
		rule  string
	}{
		{"listed", Facts{Direct: []string{"sanctioned"}}, Severe, "listed"},
		{"mixer tagged", Facts{Direct: []string{"mixing_service"}}, High, "risky-tagged"},
		{"exchange tagged", Facts{Direct: []string{"exchange"}}, None, ""},
		{"2% sanctioned funds", Facts{Exposures: []Exposure{exp("sanctioned", 2, 0.02, 7)}}, High, "sanctioned-funds-1pct"},
		{"a trace of sanctioned funds", Facts{Exposures: []Exposure{exp("sanctioned", 2, 0.0001, 7)}}, Medium, "sanctioned-funds"},
		{"mixer funds near", Facts{Exposures: []Exposure{exp("mixing_service", 2, 0.05, 3)}}, Medium, "risky-funds-near"},
		{"mixer funds far", Facts{Exposures: []Exposure{exp("mixing_service", 2, 0.05, 4)}}, Low, "risky-funds"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if d := p.Evaluate(tc.facts); d.Level != tc.level || d.Rule != tc.rule {
				t.Fatalf("got %v %q, want %v %q", d.Level, d.Rule, tc.level, tc.rule)
			}
		})
	}
}

// TestDefaultInReadme keeps the README's copy of the default policy in step.
func TestDefaultInReadme(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "```yaml\n"+DefaultYAML+"```") {
		t.Fatal("README.md does not show policy.DefaultYAML verbatim in a ```yaml block")
	}
}

func TestBadFiles(t *testing.T) {
	for _, tc := range []struct {
		name string
		doc  string
		line int
		want error
		msg  string
	}{
		{"empty", "", 1, ErrMalformed, "want a mapping"},
		{"not yaml", "name: x\nrules: [\n  - {name: x\n", 2, ErrMalformed, "yaml"},
		{"a list", "- a\n", 1, ErrMalformed, "want a mapping"},
		{"no rules", "name: x\n", 1, ErrMissingField, "rules"},
		{"empty rules", "rules: []\n", 1, ErrBadValue, "non-empty"},
		{"unknown top field", "name: x\nrulez: []\n", 2, ErrUnknownField, `"rulez"`},
		{"rule not mapping", "rules:\n  - x\n", 2, ErrMalformed, "mapping"},
		{"missing name", "rules:\n  - {level: high, category: scam}\n", 2, ErrMissingField, "name"},
		{"missing level", "rules:\n  - name: a\n    category: scam\n", 2, ErrMissingField, "level"},
		{"missing category", "rules:\n  - name: a\n    level: high\n", 2, ErrMissingField, "category"},
		{"bad level", "rules:\n  - name: a\n    level: critical\n    category: scam\n", 3, ErrBadValue, `level "critical"`},
		{"unknown category", "rules:\n  - name: a\n    level: high\n    category: [scam, mafia]\n", 4, ErrBadValue, `unknown category "mafia"`},
		{"empty category list", "rules:\n  - name: a\n    level: high\n    category: []\n", 4, ErrBadValue, "category"},
		{"unknown rule field", "rules:\n  - name: a\n    level: high\n    category: scam\n    min_sharee: 1%\n", 5, ErrUnknownField, `"min_sharee"`},
		{"field twice", "rules:\n  - name: a\n    level: high\n    category: scam\n    level: low\n", 5, ErrBadValue, "twice"},
		{"bad exposure", "rules:\n  - {name: a, level: high, category: scam,\n     exposure: both}\n", 3, ErrBadValue, "exposure"},
		{"bad direction", "rules:\n  - {name: a, level: high, category: scam, direction: in}\n", 2, ErrBadValue, "direction"},
		{"share above 100%", "rules:\n  - name: a\n    level: high\n    category: scam\n    min_share: 150%\n", 5, ErrBadValue, "min_share"},
		{"share not a number", "rules:\n  - name: a\n    level: high\n    category: scam\n    min_share: lots\n", 5, ErrBadValue, "min_share"},
		{"negative amount", "rules:\n  - name: a\n    level: high\n    category: scam\n    min_amount: -5\n", 5, ErrBadValue, "min_amount"},
		{"fractional satoshi", "rules:\n  - name: a\n    level: high\n    category: scam\n    min_amount: 1.5\n", 5, ErrBadValue, "min_amount"},
		{"zero hops", "rules:\n  - name: a\n    level: high\n    category: scam\n    max_hops: 0\n", 5, ErrBadValue, "max_hops"},
		{"min above max hops", "rules:\n  - name: a\n    level: high\n    category: scam\n    max_hops: 2\n    min_hops: 3\n", 6, ErrBadValue, "min_hops"},
		{"direct with share", "rules:\n  - name: a\n    level: high\n    category: scam\n    exposure: direct\n    min_share: 1%\n", 2, ErrBadValue, "exposure: direct"},
		{"duplicate name", "rules:\n  - {name: a, level: high, category: scam}\n  - {name: a, level: low, category: hack}\n", 3, ErrBadValue, "duplicate rule name (first on line 2)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tc.doc), "bad.yaml")
			var pe *ParseError
			if !errors.As(err, &pe) || !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want a ParseError wrapping %v", err, tc.want)
			}
			if pe.File != "bad.yaml" || pe.Line != tc.line || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("got %q (line %d), want bad.yaml line %d mentioning %q", err, pe.Line, tc.line, tc.msg)
			}
			if !strings.HasPrefix(err.Error(), "policy: bad.yaml:") {
				t.Fatalf("message %q does not start with policy: bad.yaml:LINE", err)
			}
		})
	}
}

func TestSentRuleWarns(t *testing.T) {
	p := mustParse(t, "rules:\n  - {name: s, level: low, category: scam, direction: sent}\n")
	if len(p.Warnings) != 1 || !strings.Contains(p.Warnings[0], `test.yaml:2: rule "s"`) {
		t.Fatalf("warnings %q", p.Warnings)
	}
}

func TestParseFile(t *testing.T) {
	if _, err := ParseFile(filepath.Join(t.TempDir(), "missing.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
	path := filepath.Join(t.TempDir(), "p.yaml")
	if err := os.WriteFile(path, []byte(DefaultYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := ParseFile(path)
	if err != nil || p.Source != path || len(p.Rules) != 7 {
		t.Fatalf("ParseFile: %v %+v", err, p)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(DefaultYAML))
	f.Add([]byte("rules:\n  - {name: a, level: high, category: [scam], min_share: 1%, max_hops: 3}\n"))
	f.Add([]byte("rules: [\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse(strings.NewReader(string(data)), "fuzz.yaml")
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not a ParseError", err)
			}
			return
		}
		if len(p.Rules) == 0 {
			t.Fatal("a parsed policy without rules")
		}
		p.Evaluate(Facts{Direct: []string{"sanctioned"}, Exposures: []Exposure{exp("scam", 1, 1, 1)}})
	})
}
