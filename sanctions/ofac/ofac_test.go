package ofac

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tracer-oss/tracer/sanctions"
	"github.com/tracer-oss/tracer/sanctions/testfiles"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/golden")

func checkGolden(t *testing.T, name string, l *sanctions.List) {
	t.Helper()
	got, err := json.MarshalIndent(l, "", "  ")
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
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from golden file %s:\n%s", name, path, got)
	}
}

// fixture returns the path of an OFAC fixture in the module's testdata/ofac,
// shared with the store and CLI tests.
func fixture(t testing.TB, name string) string {
	t.Helper()
	return testfiles.Fixture(t, filepath.Join("ofac", name))
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(fixture(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func gzipped(t testing.TB, b []byte) []byte {
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

func zipped(t testing.TB, files map[string][]byte) []byte {
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		f, err := w.Create(n)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write(files[n]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestParseGolden(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		golden string
		files  []string
	}{
		{"advanced 2024 namespace", "sdn_advanced", []string{fixture(t, "sdn_advanced.xml")}},
		{"advanced bz2", "sdn_advanced_bz2", []string{fixture(t, "sdn_advanced.xml.bz2")}},
		{"sdn.xml", "sdn_xml", []string{fixture(t, "sdn.xml")}},
		{"sdn.csv alone", "sdn_csv_alone", []string{fixture(t, "sdn.csv")}},
		{"sdn.csv with comments and alt", "sdn_csv_joined", []string{fixture(t, "alt.csv"), fixture(t, "sdn.csv"), fixture(t, "sdn_comments.csv")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := ParseFiles(ctx, tt.files...)
			if err != nil {
				t.Fatal(err)
			}
			l.Source = filepath.Base(l.Source)
			checkGolden(t, tt.golden, l)
		})
	}
}

// Both namespaces of sdn_advanced.xml give the same list.
func TestAdvancedNamespaces(t *testing.T) {
	ctx := context.Background()
	a, err := Parse(ctx, bytes.NewReader(readFixture(t, "sdn_advanced.xml")), "x")
	if err != nil {
		t.Fatal(err)
	}
	b, err := Parse(ctx, bytes.NewReader(readFixture(t, "sdn_advanced_2023.xml")), "x")
	if err != nil {
		t.Fatal(err)
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if !bytes.Equal(ja, jb) {
		t.Errorf("namespaces differ:\n%s\n%s", ja, jb)
	}
}

func TestAdvancedContent(t *testing.T) {
	l, err := Parse(context.Background(), bytes.NewReader(readFixture(t, "sdn_advanced.xml")), "sdn_advanced.xml")
	if err != nil {
		t.Fatal(err)
	}
	// XBT is FeatureType 9344 here; 344 is a vessel call sign.
	if got, want := l.Assets(), []string{"ETH", "USDT", "XBT", "ZZZ"}; !slices.Equal(got, want) {
		t.Errorf("assets = %v, want %v", got, want)
	}
	for _, e := range l.Entries {
		if e.Address == "CALLSIGN1" {
			t.Errorf("feature type 344 taken as XBT: %+v", e)
		}
	}
	iv := l.Filter(sanctions.Filter{ProfileID: 1001})
	if len(iv) != 5 {
		t.Fatalf("profile 1001: %d entries, want 5", len(iv))
	}
	e := iv[0]
	if e.PrimaryName != "IVANOV Petr" || !slices.Equal(e.Aliases, []string{"ИВАНОВ Петр", "IVANOFF Peter"}) ||
		e.EntityType != sanctions.EntityTypeIndividual || !slices.Equal(e.Programs, []string{"CYBER2", "ELECTION-EO13848"}) ||
		!e.Designated.Equal(sanctions.Date(2020, 9, 16)) {
		t.Errorf("entry = %+v", e)
	}
	// Earliest entry event wins.
	if ex := l.Filter(sanctions.Filter{ProfileID: 1002}); len(ex) == 0 || !ex[0].Designated.Equal(sanctions.Date(2021, 9, 20)) || ex[0].EntityType != sanctions.EntityTypeEntity {
		t.Errorf("profile 1002 = %+v", ex)
	}
	if v := l.Filter(sanctions.Filter{ProfileID: 1003}); len(v) != 1 || v[0].EntityType != sanctions.EntityTypeVessel {
		t.Errorf("profile 1003 = %+v", v)
	}
	// The address with a bad checksum is kept and warned about with its location.
	if len(l.Warnings) != 1 || !strings.Contains(l.Warnings[0], "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb") || !strings.Contains(l.Warnings[0], "feature 5012") {
		t.Errorf("warnings = %q", l.Warnings)
	}
	if got := l.ByAddress()["1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"]; len(got) != 2 {
		t.Errorf("address on two profiles: %d entries", len(got))
	}
	// Addresses are trimmed.
	if got := l.ByAddress()["bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"]; len(got) != 1 {
		t.Errorf("trimmed address not found")
	}
}

func TestCSVCut(t *testing.T) {
	ctx := context.Background()
	const cutToken = "bc1qw508d6"
	const full = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"
	alone, err := ParseFiles(ctx, fixture(t, "sdn.csv"))
	if err != nil {
		t.Fatal(err)
	}
	joined, err := ParseFiles(ctx, fixture(t, "sdn.csv"), fixture(t, "sdn_comments.csv"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range alone.Entries {
		if strings.HasPrefix(e.Address, cutToken) {
			t.Errorf("truncated address emitted: %+v", e)
		}
	}
	var warn string
	for _, w := range alone.Warnings {
		if strings.Contains(w, "cut at exactly 1000") {
			warn = w
		}
	}
	if !strings.Contains(warn, "1 remarks cut") || !strings.Contains(warn, "1 truncated address(es)") || !strings.Contains(warn, "1005") {
		t.Errorf("cut warning = %q", warn)
	}
	if got := joined.ByAddress()[full]; len(got) != 1 || got[0].ProfileID != 1005 {
		t.Errorf("joined: %s = %+v", full, got)
	}
	if got := joined.ByAddress()["0x8589427373d6d84e98730d7795d8f6f8731fda16"]; len(got) != 2 {
		t.Errorf("joined: ETH address after the cut: %+v", got)
	}
	for _, w := range joined.Warnings {
		if strings.Contains(w, "cut at") {
			t.Errorf("joined list warns about cut remarks: %s", w)
		}
	}
	if n := len(joined.Entries) - len(alone.Entries); n != 2 {
		t.Errorf("comments add %d entries, want 2", n)
	}
}

// Every wrapper gives the same list as the plain file.
func TestWrappers(t *testing.T) {
	ctx := context.Background()
	adv := readFixture(t, "sdn_advanced.xml")
	csvFiles := map[string][]byte{
		"sdn.csv":          readFixture(t, "sdn.csv"),
		"sdn_comments.csv": readFixture(t, "sdn_comments.csv"),
		"alt.csv":          readFixture(t, "alt.csv"),
	}
	plainAdv, err := Parse(ctx, bytes.NewReader(adv), "w")
	if err != nil {
		t.Fatal(err)
	}
	plainCSV, err := ParseCSV(ctx, CSVInput{
		SDN: bytes.NewReader(csvFiles["sdn.csv"]), Comments: bytes.NewReader(csvFiles["sdn_comments.csv"]),
		Alt: bytes.NewReader(csvFiles["alt.csv"]), SDNName: "w", CommentsName: "w!sdn_comments.csv", AltName: "w!alt.csv",
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		data []byte
		want *sanctions.List
	}{
		{"gzip", gzipped(t, adv), plainAdv},
		{"bzip2", readFixture(t, "sdn_advanced.xml.bz2"), plainAdv},
		{"zip", zipped(t, map[string][]byte{"SDN_ADVANCED.XML": adv, "readme.txt": []byte("hello")}), plainAdv},
		{"zip of gzip", zipped(t, map[string][]byte{"sdn_advanced.xml.gz": gzipped(t, adv)}), plainAdv},
		{"zip of csv edition", zipped(t, csvFiles), plainCSV},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A misleading name: detection is by content.
			l, err := Parse(ctx, bytes.NewReader(tt.data), "w")
			if err != nil {
				t.Fatal(err)
			}
			ja, _ := json.Marshal(l.Entries)
			jb, _ := json.Marshal(tt.want.Entries)
			if !bytes.Equal(ja, jb) || len(l.Warnings) != len(tt.want.Warnings) || l.Format != tt.want.Format || !l.DateOfIssue.Equal(tt.want.DateOfIssue) {
				t.Errorf("got\n%s\nwant\n%s", ja, jb)
			}
		})
	}
}

func TestDetect(t *testing.T) {
	tests := []struct {
		file string
		name string
		want Kind
	}{
		{"sdn_advanced.xml", "whatever", KindAdvanced},
		{"sdn_advanced_2023.xml", "x.xml", KindAdvanced},
		{"sdn.xml", "x", KindSDNXML},
		{"sdn.csv", "x", KindSDNCSV},
		{"sdn_comments.csv", "x", KindComments},
		{"alt.csv", "x", KindAlt},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := Detect(readFixture(t, tt.file), tt.name)
			if err != nil || got != tt.want {
				t.Errorf("Detect = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	if _, err := Detect([]byte("<html><body/></html>"), "x.xml"); !errors.Is(err, ErrUnknownFormat) {
		t.Errorf("html: err = %v", err)
	}
}

func TestMalformed(t *testing.T) {
	ctx := context.Background()
	adv := readFixture(t, "sdn_advanced.xml")
	sdnxml := readFixture(t, "sdn.xml")
	csv := readFixture(t, "sdn.csv")
	bz := readFixture(t, "sdn_advanced.xml.bz2")
	badBz := slices.Clone(bz)
	badBz[len(badBz)/2] ^= 0xff
	// Cut in the middle of an address feature.
	cutAdv := adv[:bytes.Index(adv, []byte("3J98t1WpEZ73"))+5]
	lines := bytes.SplitAfter(csv, []byte("\r\n"))
	wrongCols := bytes.Join([][]byte{lines[0], lines[1], []byte("1007,\"SHORT ROW\",-0- \r\n"), lines[2]}, nil)
	tests := []struct {
		name     string
		data     []byte
		sentinel error
		line     int
		element  string
	}{
		{"advanced cut mid-XML", cutAdv, ErrTruncated, 0, "Sanctions/DistinctParties/DistinctParty"},
		{"advanced cut after a party", adv[:bytes.Index(adv, []byte("<SanctionsEntries>"))], ErrTruncated, 0, "Sanctions"},
		{"advanced mismatched tag", bytes.Replace(adv, []byte("</Profile>"), []byte("</Profil>"), 1), ErrMalformed, 0, ""},
		{"advanced bad date", bytes.Replace(adv, []byte("<Month>11</Month>"), []byte("<Month>13</Month>"), 1), ErrMalformed, 0, "Sanctions/DateOfIssue"},
		{"advanced bad ID attribute", bytes.Replace(adv, []byte(`Feature ID="5002"`), []byte(`Feature ID="x"`), 1), ErrMalformed, 0, "Sanctions/DistinctParties/DistinctParty"},
		{"advanced without reference values", regexpCut(adv, "<ReferenceValueSets>", "</ReferenceValueSets>"), ErrNoReferences, 0, "Sanctions"},
		{"sdn.xml cut", sdnxml[:len(sdnxml)/2], ErrTruncated, 0, ""},
		{"bad bzip2", badBz, ErrCompression, 0, ""},
		{"truncated bzip2", bz[:len(bz)/2], ErrCompression, 0, ""},
		{"truncated gzip", gzipped(t, adv)[:300], ErrCompression, 0, ""},
		{"csv wrong column count", wrongCols, ErrColumnCount, 3, ""},
		{"csv bad quote", bytes.Replace(csv, []byte(`"CUBA"`), []byte(`"CU"BA"`), 1), ErrMalformed, 1, ""},
		{"csv data after 0x1A", append(slices.Clone(csv), []byte("\r\n1,\"X\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n")...), ErrMalformed, 0, ""},
		{"csv bad ent_num", bytes.Replace(csv, []byte("306,"), []byte("30x,"), 1), ErrMalformed, 2, ""},
		{"empty", nil, ErrUnknownFormat, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := Parse(ctx, bytes.NewReader(tt.data), "bad-file")
			if l != nil {
				t.Errorf("got a list with %d entries, want none", len(l.Entries))
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v (%T), want *ParseError", err, err)
			}
			if !errors.Is(err, tt.sentinel) {
				t.Errorf("err = %v, want %v", err, tt.sentinel)
			}
			if pe.File != "bad-file" {
				t.Errorf("File = %q", pe.File)
			}
			if tt.line != 0 && pe.Line != tt.line {
				t.Errorf("Line = %d, want %d (%v)", pe.Line, tt.line, err)
			}
			if tt.element != "" && pe.Element != tt.element {
				t.Errorf("Element = %q, want %q (%v)", pe.Element, tt.element, err)
			}
			t.Log(err)
		})
	}
}

func regexpCut(b []byte, from, to string) []byte {
	i := bytes.Index(b, []byte(from))
	j := bytes.Index(b, []byte(to)) + len(to)
	return append(slices.Clone(b[:i]), b[j:]...)
}

func TestParseFilesErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := ParseFiles(ctx, fixture(t, "sdn.xml"), fixture(t, "sdn.csv")); !errors.Is(err, ErrTooManySDNFiles) {
		t.Errorf("two SDN files: %v", err)
	}
	if _, err := ParseFiles(ctx, fixture(t, "sdn_comments.csv")); !errors.Is(err, ErrNoSDNFile) {
		t.Errorf("comments alone: %v", err)
	}
	if _, err := ParseFiles(ctx, "testdata/missing.xml"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := ParseFiles(cctx, fixture(t, "sdn_advanced.xml")); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func ExampleParseFiles() {
	l, err := ParseFiles(context.Background(), "../../testdata/ofac/sdn.csv", "../../testdata/ofac/sdn_comments.csv")
	if err != nil {
		panic(err)
	}
	for _, a := range l.Addresses("XBT") {
		fmt.Println(a)
	}
	// Output:
	// 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa
	// 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb
	// 1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2
	// bc1p5d7rjq7g6rdk2yhzks9smlaqtedr4dekq08ge8ztwac72sfr9rusxg3297
	// bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4
}
