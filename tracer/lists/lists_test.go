package lists_test

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tracer-oss/tracer/sanctions"
	"github.com/tracer-oss/tracer/sanctions/ofac"
	"github.com/tracer-oss/tracer/sanctions/tags"
	"github.com/tracer-oss/tracer/sanctions/testfiles"
	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/chaingen"
	"github.com/tracer-oss/tracer/store/storetest"
	"github.com/tracer-oss/tracer/tracer/lists"
)

func openStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Error(err)
		}
	})
	return st
}

func read(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(testfiles.Fixture(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func gz(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func zipped(t *testing.T, members map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	names := make([]string, 0, len(members))
	for n := range members {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		f, err := w.Create(n)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write(members[n]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func file(name string, b []byte) lists.File {
	return lists.File{Name: name, R: bytes.NewReader(b), Size: int64(len(b))}
}

// TestLoadSanctionsFormats loads every format sanctions load reads, plain
// and compressed, from readers, into a store: each stores a current
// version with the addresses the file parser reads from the same list on
// disk, and the legacy CSV's comments file adds the addresses OFAC moved
// there.
func TestLoadSanctionsFormats(t *testing.T) {
	sdnCSV, comments, alt := read(t, "ofac/sdn.csv"), read(t, "ofac/sdn_comments.csv"), read(t, "ofac/alt.csv")
	adv, sdnXML := read(t, "ofac/sdn_advanced.xml"), read(t, "ofac/sdn.xml")
	csvRef := []string{testfiles.Fixture(t, "ofac/sdn.csv"), testfiles.Fixture(t, "ofac/sdn_comments.csv"), testfiles.Fixture(t, "ofac/alt.csv")}
	tests := []struct {
		name   string
		files  []lists.File
		ref    []string // the same list on disk, for ofac.ParseFiles
		format string
	}{
		{"sdn_advanced.xml", []lists.File{file("sdn_advanced.xml", adv)}, []string{testfiles.Fixture(t, "ofac/sdn_advanced.xml")}, sanctions.FormatSDNAdvanced},
		{"sdn_advanced.xml.bz2", []lists.File{file("sdn_advanced.xml.bz2", read(t, "ofac/sdn_advanced.xml.bz2"))}, []string{testfiles.Fixture(t, "ofac/sdn_advanced.xml")}, sanctions.FormatSDNAdvanced},
		{"sdn_advanced.xml.gz", []lists.File{file("upload", gz(t, adv))}, []string{testfiles.Fixture(t, "ofac/sdn_advanced.xml")}, sanctions.FormatSDNAdvanced},
		{"sdn.xml", []lists.File{file("sdn.xml", sdnXML)}, []string{testfiles.Fixture(t, "ofac/sdn.xml")}, sanctions.FormatSDNXML},
		{"sdn.xml.zip", []lists.File{file("sdn.zip", zipped(t, map[string][]byte{"sdn.xml": sdnXML}))}, []string{testfiles.Fixture(t, "ofac/sdn.xml")}, sanctions.FormatSDNXML},
		{"sdn.csv with companions", []lists.File{file("sdn.csv", sdnCSV), file("sdn_comments.csv", comments), file("alt.csv", alt)}, csvRef, sanctions.FormatSDNCSV},
		{"sdn.csv with companions, gzip", []lists.File{file("sdn.csv.gz", gz(t, sdnCSV)), file("sdn_comments.csv.gz", gz(t, comments)), file("alt.csv", alt)}, csvRef, sanctions.FormatSDNCSV},
		{"sdn.csv with companions in one zip", []lists.File{file("sdn_csv.zip", zipped(t, map[string][]byte{"sdn.csv": sdnCSV, "sdn_comments.csv": comments, "alt.csv": alt}))}, csvRef, sanctions.FormatSDNCSV},
	}
	csvAlone, err := ofac.ParseFiles(context.Background(), testfiles.Fixture(t, "ofac/sdn.csv"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			ref, err := ofac.ParseFiles(ctx, tt.ref...)
			if err != nil {
				t.Fatal(err)
			}
			want := ref.Addresses("")
			if len(want) == 0 {
				t.Fatal("the reference list has no addresses")
			}
			if tt.format == sanctions.FormatSDNCSV && len(want) <= len(csvAlone.Addresses("")) {
				t.Fatalf("the comments add no address (%d with, %d without): the fixture no longer tests the join", len(want), len(csvAlone.Addresses("")))
			}
			st := openStore(t)
			var read, total int64
			sum, err := lists.LoadSanctions(ctx, st, lists.SanctionsOptions{Progress: func(r, tot int64) { read, total = r, tot }}, tt.files...)
			if err != nil {
				t.Fatal(err)
			}
			if sum.Version.Version != 1 || !sum.Version.Current || sum.Version.Format != tt.format || sum.Version.Entries != len(ref.Entries) {
				t.Errorf("stored %+v, want version 1 current, format %s, %d entries", sum.Version, tt.format, len(ref.Entries))
			}
			var sizes int64
			for _, f := range tt.files {
				sizes += f.Size
			}
			if read != sizes || total != sizes {
				t.Errorf("progress ended at %d of %d bytes, want %d of %d", read, total, sizes, sizes)
			}
			stored, err := st.Lists().List(0)
			if err != nil {
				t.Fatal(err)
			}
			if got := stored.Addresses(""); !slices.Equal(got, want) {
				t.Errorf("stored addresses\n%v\nwant\n%v", got, want)
			}
			hits, err := st.Lists().Hits("XBT", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa")
			if err != nil || len(hits) == 0 {
				t.Errorf("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa: hits %v, %v; want listed", hits, err)
			}
		})
	}
}

// TestSanctionsBadInput: a file that is not a list, a truncated archive,
// two SDN files, companions without an SDN file and a missing file are
// errors of the input, and store nothing.
func TestSanctionsBadInput(t *testing.T) {
	adv := read(t, "ofac/sdn_advanced.xml")
	tests := []struct {
		name  string
		files func(t *testing.T) []lists.File
		want  error
	}{
		{"not a list", func(*testing.T) []lists.File { return []lists.File{file("notes.txt", []byte("hello\n"))} }, ofac.ErrUnknownFormat},
		{"truncated gzip", func(t *testing.T) []lists.File {
			b := gz(t, adv)
			return []lists.File{file("sdn_advanced.xml.gz", b[:len(b)/2])}
		}, ofac.ErrCompression},
		{"malformed XML", func(*testing.T) []lists.File {
			return []lists.File{file("sdn_advanced.xml", adv[:len(adv)*2/3])}
		}, nil},
		{"two SDN files", func(t *testing.T) []lists.File {
			return []lists.File{file("a.xml", adv), file("sdn.xml", read(t, "ofac/sdn.xml"))}
		}, ofac.ErrTooManySDNFiles},
		{"companions alone", func(t *testing.T) []lists.File {
			return []lists.File{file("sdn_comments.csv", read(t, "ofac/sdn_comments.csv"))}
		}, ofac.ErrNoSDNFile},
		{"missing file", func(t *testing.T) []lists.File {
			_, _, err := lists.OpenFiles(filepath.Join(t.TempDir(), "nope.xml"))
			if !errors.Is(err, lists.ErrBadInput) {
				t.Fatalf("OpenFiles of a missing file: %v, want ErrBadInput", err)
			}
			return nil
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := tt.files(t)
			if files == nil {
				return
			}
			st := openStore(t)
			_, err := lists.LoadSanctions(context.Background(), st, lists.SanctionsOptions{Force: true}, files...)
			if !errors.Is(err, lists.ErrBadInput) || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("err %v, want ErrBadInput and %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), "unchanged") {
				t.Errorf("%v: does not say the list in force is unchanged", err)
			}
			if vs, err := st.Lists().Versions(); err != nil || len(vs) != 0 {
				t.Errorf("versions after a bad load: %v, %v", vs, err)
			}
		})
	}
}

// TestSanctionsGuard: an empty list and one much shorter than the list in
// force are refused (ErrBadInput, nothing stored, warnings still
// returned); Force stores them and says what it overrode.
func TestSanctionsGuard(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	full, err := ofac.ParseFiles(ctx, testfiles.Fixture(t, "ofac/sdn_advanced.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lists.StoreSanctions(ctx, st, full, lists.SanctionsOptions{}); err != nil {
		t.Fatal(err)
	}
	shrunk := *full
	shrunk.Entries = full.Entries[:1]
	shrunk.Warnings = []string{"a warning"}
	empty := *full
	empty.Entries = nil
	if n := len(full.Addresses("")); n < 3 {
		t.Fatalf("the fixture has %d addresses: too few to shrink by more than 20%%", n)
	}
	for _, tt := range []struct {
		name string
		l    *sanctions.List
		want error
	}{{"shrunk", &shrunk, sanctions.ErrShrunk}, {"empty", &empty, sanctions.ErrEmptyList}} {
		t.Run(tt.name, func(t *testing.T) {
			stored := false
			sum, err := lists.StoreSanctions(ctx, st, tt.l, lists.SanctionsOptions{Storing: func(int) { stored = true }})
			if !errors.Is(err, lists.ErrBadInput) || !errors.Is(err, tt.want) || stored {
				t.Fatalf("err %v (storing called: %v), want ErrBadInput and %v, nothing stored", err, stored, tt.want)
			}
			if tt.l == &shrunk && (sum == nil || !slices.Equal(sum.Warnings, []string{"a warning"})) {
				t.Errorf("refused load's summary %+v: want its warnings", sum)
			}
			if h, err := st.Lists().Version(0); err != nil || h.Version != 1 {
				t.Fatalf("current version %d, %v after a refused load, want 1", h.Version, err)
			}
		})
	}
	sum, err := lists.StoreSanctions(ctx, st, &shrunk, lists.SanctionsOptions{Force: true})
	if err != nil || sum.Version.Version != 2 || !strings.Contains(sum.Forced, "fewer than the") {
		t.Fatalf("forced: %+v, %v; want version 2 and the refusal in Forced", sum, err)
	}
}

// TestListWarningsNetwork: on a store of a test network, the parser's
// warnings about addresses valid there are dropped; on a store with no
// chain yet (or mainnet) they stay.
func TestListWarningsNetwork(t *testing.T) {
	const w = `sdn.csv:3: invalid XBT address "mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn": not a mainnet address`
	for _, tt := range []struct {
		name string
		st   func(t *testing.T) *store.Store
		want []string
	}{
		{"regtest", func(t *testing.T) *store.Store { return storetest.GeneratedStore(t, chaingen.Config{Txs: 20, Seed: 1}) }, []string{"another warning"}},
		{"no chain", openStore, []string{w, "another warning"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l, err := ofac.ParseFiles(context.Background(), testfiles.Fixture(t, "ofac/sdn_advanced.xml"))
			if err != nil {
				t.Fatal(err)
			}
			l.Warnings = []string{w, "another warning"}
			sum, err := lists.StoreSanctions(context.Background(), tt.st(t), l, lists.SanctionsOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(sum.Warnings, tt.want) {
				t.Errorf("warnings %q, want %q", sum.Warnings, tt.want)
			}
		})
	}
}

// TestLoadTags loads every tag format from readers: a TagPack, an
// ActorPack, a CSV with a header, one without, one whose label is in
// another column (Map); MinConfidence drops tags below it, SkipInvalid
// counts the rejected, and a strict load of a bad pack stores nothing.
func TestLoadTags(t *testing.T) {
	ctx := context.Background()
	pack, csvTags := read(t, "tags/pack.yaml"), read(t, "tags/tags.csv")
	bad := bytes.Replace(pack, []byte("3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"), []byte("3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLz"), 1)
	mapped := []byte("address,entity,kind\n1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa,Some Exchange,exchange\n")
	t.Run("every kind", func(t *testing.T) {
		st := openStore(t)
		var skip lists.TagOptions
		skip.SkipInvalid = true // pack.yaml holds a tag of an unknown category
		got, err := lists.LoadTags(ctx, st, skip, file("pack.yaml", pack), file("dir/actors.yaml", read(t, "tags/actors.yaml")),
			file("tags.csv", csvTags), file("noheader.csv", read(t, "tags/tags_noheader.csv")))
		if err != nil {
			t.Fatal(err)
		}
		kinds := []string{}
		for _, p := range got {
			kinds = append(kinds, p.Pack+":"+p.Kind)
			if p.Tags+p.Actors == 0 {
				t.Errorf("%s: nothing read", p.Pack)
			}
		}
		if want := []string{"pack.yaml:tags", "actors.yaml:actors", "tags.csv:tags", "noheader.csv:tags"}; !slices.Equal(kinds, want) {
			t.Errorf("packs %v, want %v", kinds, want)
		}
		if got[0].Skipped["ETH"] == 0 {
			t.Errorf("pack.yaml: other currencies %v, want ETH counted", got[0].Skipped)
		}
		aps, err := st.Tags().ActorPacks()
		if err != nil || len(aps) != 1 || aps[0].Name != "actors.yaml" {
			t.Errorf("actor packs %v, %v", aps, err)
		}
		again, err := lists.LoadTags(ctx, st, lists.TagOptions{}, file("tags.csv", csvTags))
		if err != nil || again[0].Replaced != got[2].Tags {
			t.Errorf("reload: %+v, %v; want %d replaced", again, err, got[2].Tags)
		}
	})
	t.Run("map", func(t *testing.T) {
		st := openStore(t)
		_, err := lists.LoadTags(ctx, st, lists.TagOptions{}, file("reserves.csv", mapped))
		if !errors.Is(err, lists.ErrBadInput) || !strings.Contains(err.Error(), "label") {
			t.Fatalf("no label column: %v, want ErrBadInput naming it", err)
		}
		var opt lists.TagOptions
		opt.Map = map[string]string{"label": "entity", "category": "kind"}
		got, err := lists.LoadTags(ctx, st, opt, file("reserves.csv", mapped))
		if err != nil || got[0].Tags != 1 {
			t.Fatalf("--map: %+v, %v", got, err)
		}
		ts, err := st.Tags().For("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa")
		if err != nil || len(ts) != 1 || ts[0].Label != "Some Exchange" || ts[0].Category != "exchange" {
			t.Errorf("tags %+v, %v", ts, err)
		}
	})
	t.Run("min confidence", func(t *testing.T) {
		var opt lists.TagOptions
		opt.SkipInvalid = true
		all, err := lists.ReadTags(ctx, opt, file("tags.csv", csvTags))
		if err != nil {
			t.Fatal(err)
		}
		min, err := sanctions.ParseConfidence("service_data")
		if err != nil {
			t.Fatal(err)
		}
		opt.MinConfidence = min
		high, err := lists.ReadTags(ctx, opt, file("tags.csv", csvTags))
		if err != nil {
			t.Fatal(err)
		}
		a, h := all.Packs[0], high.Packs[0]
		if h.BelowMin == 0 || h.Tags == 0 || h.Tags+h.BelowMin != a.Tags {
			t.Errorf("min %d: %d kept + %d dropped, want both > 0 summing to %d", min, h.Tags, h.BelowMin, a.Tags)
		}
	})
	t.Run("strict and skip invalid", func(t *testing.T) {
		st := openStore(t)
		_, err := lists.LoadTags(ctx, st, lists.TagOptions{}, file("tags.csv", csvTags), file("bad.yaml", bad))
		var pe *tags.ParseError
		if !errors.Is(err, lists.ErrBadInput) || !errors.As(err, &pe) || pe.File != "bad.yaml" || pe.Line == 0 {
			t.Fatalf("strict: %v, want ErrBadInput and a ParseError at a line of bad.yaml", err)
		}
		if ps, err := st.Tags().Packs(); err != nil || len(ps) != 0 {
			t.Fatalf("a failed load stored %v, %v", ps, err)
		}
		var opt lists.TagOptions
		opt.SkipInvalid = true
		got, err := lists.LoadTags(ctx, st, opt, file("bad.yaml", bad))
		if err != nil || got[0].Invalid == 0 || got[0].RejectedByKind["bad address"] != 1 || len(got[0].Warnings) == 0 {
			t.Fatalf("skip invalid: %+v, %v", got, err)
		}
	})
}
