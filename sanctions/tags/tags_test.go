package tags

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracer-oss/tracer/sanctions/testfiles"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/golden")

func checkGolden(t *testing.T, name string, v any) {
	t.Helper()
	got, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", "golden", name+".json")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from %s:\n%s", name, path, got)
	}
}

// fixture returns the path of a tag fixture in the module's testdata/tags,
// shared with the store and CLI tests.
func fixture(t testing.TB, name string) string {
	t.Helper()
	return testfiles.Fixture(t, filepath.Join("tags", name))
}

func TestGolden(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		file  string
		parse func(string) (any, error)
	}{
		{"pack.yaml", func(p string) (any, error) { return ParsePackFile(ctx, p, Options{SkipInvalid: true}) }},
		{"multichain.yaml", func(p string) (any, error) { return ParsePackFile(ctx, p, Options{}) }},
		{"actors.yaml", func(p string) (any, error) { return ParseActorPackFile(ctx, p) }},
		{"tags.csv", func(p string) (any, error) {
			f, err := os.Open(p)
			if err != nil {
				return nil, err
			}
			defer f.Close()
			return ParseCSV(ctx, f, p, Options{})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			v, err := tt.parse(fixture(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, strings.TrimSuffix(tt.file, filepath.Ext(tt.file)), v)
		})
	}
}

func TestInheritance(t *testing.T) {
	p, err := ParsePackFile(context.Background(), fixture(t, "pack.yaml"), Options{SkipInvalid: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Tags) != 3 {
		t.Fatalf("%d BTC tags, want 3", len(p.Tags))
	}
	if want := map[string]int{"ETH": 1, "LTC": 1}; !maps.Equal(p.Skipped, want) || p.NoAddress != 1 {
		t.Errorf("skipped = %v / %d, want %v / 1", p.Skipped, p.NoAddress, want)
	}
	// The tag of an unknown category is rejected, with its line.
	if len(p.Invalid) != 1 || p.Invalid[0].Kind != "unknown category" || p.Invalid[0].Line != 32 || !strings.Contains(p.Invalid[0].Err, `"quantum_pool"`) {
		t.Errorf("invalid = %+v", p.Invalid)
	}
	tests := []struct {
		i                     int
		category, abuse, conf string
		clusterDefiner        bool
		lastmod               string
	}{
		{0, "exchange", "", "service_data", true, "2024-01-15"},
		{1, "mixing_service", "", "service_data", false, "2023-06-01"},
		{2, "", "ransomware", "forensic", true, "2024-01-15"},
	}
	for _, tt := range tests {
		g := p.Tags[tt.i]
		if g.Category != tt.category || g.Abuse != tt.abuse || g.Confidence != tt.conf ||
			g.IsClusterDefiner != tt.clusterDefiner || g.LastMod.Format("2006-01-02") != tt.lastmod ||
			g.Source != "https://example.org/tags" || g.Currency != "BTC" || g.Pack != "pack.yaml" {
			t.Errorf("tag %d = %+v", tt.i, g)
		}
	}
	if KnownCategory("quantum_pool") || !KnownCategory("exchange") || !KnownAbuse("service_hack") || !KnownConcept("defi_dao") || KnownConcept("quantum_pool") {
		t.Error("KnownCategory/KnownAbuse/KnownConcept")
	}
}

// TestValidation: the checks of graphsense-tagpack-tool, each failing the
// pack without SkipInvalid (naming file and line) and rejecting only the
// tag with it.
func TestValidation(t *testing.T) {
	const hdr = "title: t\ncreator: c\ncurrency: BTC\nsource: s\n"
	const a = "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"
	good := "- {address: 3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy, label: ok}\n"
	for _, tc := range []struct {
		name, doc string
		sentinel  error
		line      int
		kind      string // "" : the whole pack fails even with SkipInvalid
	}{
		{"no title", "creator: c\ntags:\n" + good, ErrMissingField, 1, ""},
		{"no creator", "title: t\ntags:\n" + good, ErrMissingField, 1, ""},
		{"address and tx_hash", hdr + "tags:\n" + good + "- {address: " + a + ", tx_hash: abcd, label: x}\n", ErrBadValue, 7, "address and tx_hash"},
		{"neither address nor tx_hash", hdr + "tags:\n" + good + "- {label: x}\n", ErrMissingField, 7, "no address"},
		{"no label", hdr + "tags:\n" + good + "- {address: " + a + "}\n", ErrMissingField, 7, "no label"},
		{"no source", "title: t\ncreator: c\ncurrency: BTC\ntags:\n- {address: " + a + ", label: x}\n- {address: 3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy, label: ok, source: s}\n", ErrMissingField, 5, "no source"},
		{"no currency", "title: t\ncreator: c\nsource: s\ntags:\n- {address: " + a + ", label: x}\n- {address: 3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy, label: ok, currency: BTC}\n", ErrMissingField, 5, "no currency"},
		{"unknown category", hdr + "tags:\n" + good + "- {address: " + a + ", label: x, category: bank}\n", ErrBadValue, 7, "unknown category"},
		{"unknown abuse", hdr + "tags:\n" + good + "- {address: " + a + ", label: x, abuse: jaywalking}\n", ErrBadValue, 7, "unknown abuse"},
		{"unknown confidence", hdr + "tags:\n" + good + "- {address: " + a + ", label: x, confidence: very_sure}\n", ErrBadValue, 7, "unknown confidence"},
		{"bad address", hdr + "tags:\n" + good + "- {address: 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb, label: x}\n", ErrBadAddress, 7, "bad address"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParsePack(context.Background(), strings.NewReader(tc.doc), "v.yaml", Options{})
			var pe *ParseError
			if !errors.As(err, &pe) || !errors.Is(err, tc.sentinel) || pe.Line != tc.line || pe.File != "v.yaml" {
				t.Fatalf("strict: %v, want %v at v.yaml:%d", err, tc.sentinel, tc.line)
			}
			p, err := ParsePack(context.Background(), strings.NewReader(tc.doc), "v.yaml", Options{SkipInvalid: true})
			if tc.kind == "" {
				if err == nil {
					t.Fatal("SkipInvalid accepted a pack with a bad header")
				}
				return
			}
			if err != nil || len(p.Tags) != 1 || p.Tags[0].Label != "ok" || len(p.Invalid) != 1 || p.Invalid[0].Kind != tc.kind || p.Invalid[0].Line != tc.line {
				t.Fatalf("SkipInvalid: %v, tags %+v, invalid %+v", err, p.Tags, p.Invalid)
			}
		})
	}
}

// TestNestedHeader: header fields under header: (the form tagpack-tool
// also reads) are inherited like top-level ones; a missing confidence
// becomes unknown with a warning, as tagpack-tool does.
func TestNestedHeader(t *testing.T) {
	doc := `header:
  title: nested
  creator: someone
  currency: BTC
  category: exchange
  source: https://example.org
tags:
- {address: 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa, label: A, confidence: web_crawl}
- {address: 3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy, label: B}
`
	p, err := ParsePack(context.Background(), strings.NewReader(doc), "n.yaml", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Title != "nested" || p.Creator != "someone" || len(p.Tags) != 2 || p.Tags[1].Category != "exchange" || p.Tags[1].Source != "https://example.org" {
		t.Fatalf("pack %+v", p)
	}
	if p.Tags[0].Confidence != "web_crawl" || p.Tags[1].Confidence != "unknown" || p.NoConfidence != 1 || len(p.Warnings) != 1 || !strings.Contains(p.Warnings[0], "1 tags without confidence") {
		t.Fatalf("confidence: %+v %q", p.Tags, p.Warnings)
	}
}

func TestErrors(t *testing.T) {
	pack, _ := os.ReadFile(fixture(t, "pack.yaml"))
	tests := []struct {
		name     string
		data     string
		csv      bool
		sentinel error
		line     int
	}{
		{"bad BTC address", strings.Replace(strings.Replace(string(pack), "Quantum_Pool", "miner", 1), "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLz", 1), false, ErrBadAddress, 14},
		{"testnet address", strings.Replace(strings.Replace(string(pack), "Quantum_Pool", "miner", 1), "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx", 1), false, ErrBadAddress, 19},
		{"bad is_cluster_definer", strings.Replace(strings.Replace(string(pack), "is_cluster_definer: false", "is_cluster_definer: maybe", 1), "Quantum_Pool", "miner", 1), false, ErrBadValue, 17},
		{"yaml syntax", "title: x\ntags:\n- address: [\n", false, ErrMalformed, 0},
		{"no tags", "title: x\ncreator: y\n", false, ErrMissingField, 1},
		{"tag not a mapping", "title: x\ncreator: y\ntags:\n- 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa\n", false, ErrMalformed, 4},
		{"no currency", "title: x\ncreator: y\ntags:\n- address: 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa\n  label: x\n", false, ErrMissingField, 4},
		{"no label", "title: x\ncreator: y\ncurrency: BTC\ntags:\n- address: 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa\n", false, ErrMissingField, 5},
		{"not a mapping", "- a\n- b\n", false, ErrMalformed, 1},
		{"csv bad address", "address,label\n1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa,a\nbc1qbad,b\n", true, ErrBadAddress, 3},
		{"csv bad quote", "address,label\n\"1A1z\"x,a\n", true, ErrMalformed, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p *Pack
			var err error
			if tt.csv {
				p, err = ParseCSV(context.Background(), strings.NewReader(tt.data), "in.csv", Options{})
			} else {
				p, err = ParsePack(context.Background(), strings.NewReader(tt.data), "in.yaml", Options{})
			}
			if p != nil {
				t.Errorf("got a pack with an error")
			}
			var pe *ParseError
			if !errors.As(err, &pe) || !errors.Is(err, tt.sentinel) {
				t.Fatalf("err = %v, want %v", err, tt.sentinel)
			}
			if tt.line != 0 && pe.Line != tt.line {
				t.Errorf("line = %d, want %d: %v", pe.Line, tt.line, err)
			}
			t.Log(err)
		})
	}
}

func TestCSVWithoutHeader(t *testing.T) {
	f, _ := os.Open(fixture(t, "tags_noheader.csv"))
	defer f.Close()
	p, err := ParseCSV(context.Background(), f, "tags_noheader.csv", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Tags) != 1 || p.Tags[0].Category != "exchange" || p.Tags[0].Source != "https://example.org" {
		t.Errorf("tags = %+v", p.Tags)
	}
}

func FuzzTagPack(f *testing.F) {
	for _, n := range []string{"pack.yaml", "multichain.yaml", "actors.yaml", "tags.csv"} {
		data, err := os.ReadFile(fixture(f, n))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ctx := context.Background()
		p, err := ParsePack(ctx, bytes.NewReader(data), "f.yaml", Options{SkipInvalid: len(data)%2 == 0})
		if (p == nil) == (err == nil) {
			t.Fatalf("pack %v and error %v", p, err)
		}
		ap, err := ParseActorPack(ctx, bytes.NewReader(data), "f.yaml")
		if (ap == nil) == (err == nil) {
			t.Fatalf("actor pack %v and error %v", ap, err)
		}
		c, err := ParseCSV(ctx, bytes.NewReader(data), "f.csv", Options{})
		if (c == nil) == (err == nil) {
			t.Fatalf("csv pack %v and error %v", c, err)
		}
		for _, name := range []string{"f.yaml", "f.CSV"} {
			p, ap, err := ParseAny(ctx, bytes.NewReader(data), name, Options{SkipInvalid: true})
			if n := btoi(p != nil) + btoi(ap != nil) + btoi(err != nil); n != 1 {
				t.Fatalf("ParseAny %s: pack %v, actor pack %v, error %v: want exactly one", name, p, ap, err)
			}
		}
	})
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestParseAny: a reader is read as the file of its name would be: a CSV
// by its .csv name, an ActorPack or a TagPack by its keys.
func TestParseAny(t *testing.T) {
	for _, tc := range []struct {
		file, name string
		actors     bool
	}{
		{"tags.csv", "upload.csv", false},
		{"actors.yaml", "actors", true},
		{"multichain.yaml", "pack", false},
	} {
		t.Run(tc.file, func(t *testing.T) {
			data, err := os.ReadFile(fixture(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			p, ap, err := ParseAny(ctx, bytes.NewReader(data), tc.name, Options{SkipInvalid: true})
			if err != nil || (ap != nil) != tc.actors || (p != nil) == tc.actors {
				t.Fatalf("pack %v, actor pack %v, error %v; want actors %v", p, ap, err, tc.actors)
			}
			fp, fap, err := ParseAnyFile(ctx, fixture(t, tc.file), Options{SkipInvalid: true})
			if err != nil {
				t.Fatal(err)
			}
			if p != nil && (len(p.Tags) != len(fp.Tags) || len(p.Tags) == 0) || ap != nil && (len(ap.Actors) != len(fap.Actors) || len(ap.Actors) == 0) {
				t.Errorf("from a reader and from the file differ: %v %v vs %v %v", p, ap, fp, fap)
			}
		})
	}
}

// TestCSVMapping: a CSV whose header has no label column (as DefiLlama's
// reserve list) is refused naming the columns it has, never loaded blank;
// --map names the columns to use, and rows of unknown categories are
// rejected with their lines.
func TestCSVMapping(t *testing.T) {
	const doc = "address,entity,entity_type,key\n" +
		"1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa,Example CEX,exchange,ex\n" +
		"3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy,Wrapped Thing,bridge_wrapped_btc_or_protocol,wt\n" +
		"bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq,,exchange,blank\n"
	parse := func(opt Options) (*Pack, error) {
		return ParseCSV(context.Background(), strings.NewReader(doc), "reserves.csv", opt)
	}
	for _, tc := range []struct {
		name string
		opt  Options
		msg  string
		line int
	}{
		{"no label column", Options{}, "no label column (the header has address, entity, entity_type, key); name one with --map label=COLUMN", 1},
		{"no label column, skip-invalid", Options{SkipInvalid: true}, "no label column", 1},
		{"map to a missing column", Options{Map: map[string]string{"label": "name"}}, `--map label=name: no column "name" (the header has address, entity, entity_type, key)`, 1},
		{"map an unknown field", Options{Map: map[string]string{"owner": "entity"}}, `cannot map "owner"`, 0},
		{"strict: unknown category", Options{Map: map[string]string{"label": "entity", "category": "entity_type"}}, `unknown category "bridge_wrapped_btc_or_protocol"`, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := parse(tc.opt)
			var pe *ParseError
			if p != nil || !errors.As(err, &pe) || !strings.Contains(err.Error(), tc.msg) || pe.Line != tc.line {
				t.Fatalf("got %v (pack %v), want reserves.csv:%d mentioning %q", err, p != nil, tc.line, tc.msg)
			}
		})
	}
	p, err := parse(Options{SkipInvalid: true, Map: map[string]string{"label": "entity", "category": "entity_type"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Tags) != 1 || p.Tags[0].Label != "Example CEX" || p.Tags[0].Category != "exchange" {
		t.Fatalf("tags %+v", p.Tags)
	}
	if len(p.Invalid) != 2 || p.Invalid[0].Kind != "unknown category" || p.Invalid[0].Line != 3 || p.Invalid[1].Kind != "no label" || p.Invalid[1].Line != 4 {
		t.Fatalf("rejected %+v", p.Invalid)
	}
}
