package ofac

import (
	"bytes"
	"context"
	"testing"
)

// fuzzParse checks the contract of every parser on arbitrary input: no
// panic, and either a list or an error, never both.
func fuzzParse(t *testing.T, data []byte, name string) {
	l, err := Parse(context.Background(), bytes.NewReader(data), name)
	if (l == nil) == (err == nil) {
		t.Fatalf("list %v and error %v", l, err)
	}
	if l != nil {
		for _, e := range l.Entries {
			if e.Address == "" || e.Asset == "" {
				t.Fatalf("empty asset or address: %+v", e)
			}
		}
	}
}

func addSeeds(f *testing.F, files ...string) {
	for _, name := range files {
		f.Add(readFixture(f, name))
	}
}

func FuzzParseAdvanced(f *testing.F) {
	addSeeds(f, "sdn_advanced.xml", "sdn_advanced_2023.xml")
	f.Add([]byte(`<Sanctions><ReferenceValueSets><FeatureTypeValues><FeatureType ID="1">Digital Currency Address - XBT</FeatureType></FeatureTypeValues></ReferenceValueSets><DistinctParties><DistinctParty><Profile ID="1"><Feature ID="2" FeatureTypeID="1"><FeatureVersion><VersionDetail>1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa</VersionDetail></FeatureVersion></Feature></Profile></DistinctParty></DistinctParties></Sanctions>`))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzParse(t, data, "sdn_advanced.xml") })
}

func FuzzParseSDNXML(f *testing.F) {
	addSeeds(f, "sdn.xml")
	f.Fuzz(func(t *testing.T, data []byte) { fuzzParse(t, data, "sdn.xml") })
}

func FuzzParseSDNCSV(f *testing.F) {
	addSeeds(f, "sdn.csv")
	f.Add([]byte("1,\"A\",-0- ,\"X] [Y\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,\"Digital Currency Address - XBT 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa;\"\r\n\x1a"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzParse(t, data, "sdn.csv")
		// And as a joined edition, the fuzz input being the comments.
		l, err := ParseCSV(context.Background(), CSVInput{SDN: bytes.NewReader(readFixture(t, "sdn.csv")), Comments: bytes.NewReader(data)})
		if (l == nil) == (err == nil) {
			t.Fatalf("list %v and error %v", l, err)
		}
	})
}
