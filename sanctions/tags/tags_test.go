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
		os.MkdirAll(filepath.Dir(path), 0o755)
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

func TestGolden(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		file  string
		parse func(string) (any, error)
	}{
		{"pack.yaml", func(p string) (any, error) { return ParsePackFile(ctx, p, Options{}) }},
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
			v, err := tt.parse(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, strings.TrimSuffix(tt.file, filepath.Ext(tt.file)), v)
		})
	}
}

func TestInheritance(t *testing.T) {
	p, err := ParsePackFile(context.Background(), "testdata/pack.yaml", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Tags) != 4 {
		t.Fatalf("%d BTC tags, want 4", len(p.Tags))
	}
	if want := map[string]int{"ETH": 1, "LTC": 1}; !maps.Equal(p.Skipped, want) || p.NoAddress != 1 {
		t.Errorf("skipped = %v / %d, want %v / 1", p.Skipped, p.NoAddress, want)
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
		{3, "quantum_pool", "", "service_data", true, "2024-01-15"},
	}
	for _, tt := range tests {
		g := p.Tags[tt.i]
		if g.Category != tt.category || g.Abuse != tt.abuse || g.Confidence != tt.conf ||
			g.IsClusterDefiner != tt.clusterDefiner || g.LastMod.Format("2006-01-02") != tt.lastmod ||
			g.Source != "https://example.org/tags" || g.Currency != "BTC" || g.Pack != "pack.yaml" {
			t.Errorf("tag %d = %+v", tt.i, g)
		}
	}
	if KnownCategory(p.Tags[3].Category) || !KnownCategory("exchange") || !KnownAbuse("service_hack") {
		t.Error("KnownCategory/KnownAbuse")
	}
}

func TestErrors(t *testing.T) {
	pack, _ := os.ReadFile("testdata/pack.yaml")
	tests := []struct {
		name     string
		data     string
		csv      bool
		sentinel error
		line     int
	}{
		{"bad BTC address", strings.Replace(string(pack), "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLz", 1), false, ErrBadAddress, 14},
		{"testnet address", strings.Replace(string(pack), "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx", 1), false, ErrBadAddress, 19},
		{"bad is_cluster_definer", strings.Replace(string(pack), "is_cluster_definer: false", "is_cluster_definer: maybe", 1), false, ErrBadValue, 17},
		{"yaml syntax", "title: x\ntags:\n- address: [\n", false, ErrMalformed, 0},
		{"no tags", "title: x\ncreator: y\n", false, ErrMissingField, 1},
		{"tag not a mapping", "title: x\ntags:\n- 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa\n", false, ErrMalformed, 3},
		{"no currency", "title: x\ntags:\n- address: 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa\n  label: x\n", false, ErrMissingField, 3},
		{"no label", "title: x\ncurrency: BTC\ntags:\n- address: 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa\n", false, ErrMissingField, 4},
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
	f, _ := os.Open("testdata/tags_noheader.csv")
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
		data, err := os.ReadFile(filepath.Join("testdata", n))
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
	})
}
