package screen_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/tracer-oss/tracer/tracer/screen"
)

// TestBatchKeepsEveryRow is issue 17 #4: a batch screen dropped bad rows
// and the customer's other columns. Every data row must be in the output,
// in order, with its own columns, a risk ("error" with the reason for a
// bad one) and the tip and list version screened against.
func TestBatchKeepsEveryRow(t *testing.T) {
	f := loadFixture(t)
	s := newScreener(t, f, screen.Options{})
	seed, clean := f.truth.Seeds[0].Address, f.truth.Clean[0].Address
	status := s.Status()
	for _, tc := range []struct {
		name, in string
		header   []string
		rows     [][]string // want: input columns and risk of each row
		lines    []int
	}{
		{"csv with header", "address,customer\n# comment\n" + seed + ",alice\nnot-an-address,bob\n\n" + clean + ",carol\n1BoatSLRHtKNngkdXEeobR76b53LETtpyT,dave\n",
			[]string{"line", "address", "customer"},
			[][]string{{seed, "alice", screen.RiskSanctioned}, {"not-an-address", "bob", screen.RiskError}, {clean, "carol", ""}, {"1BoatSLRHtKNngkdXEeobR76b53LETtpyT", "dave", screen.RiskError}},
			[]int{3, 4, 6, 7}},
		{"semicolons, no header", seed + ";1;x\n" + "bad;2;y\n" + clean + ";3;z;extra\n",
			[]string{"line", "address", "column_2", "column_3"},
			[][]string{{seed, "1", "x", screen.RiskSanctioned}, {"bad", "2", "y", screen.RiskError}, {clean, "3", "z", screen.RiskError}},
			[]int{1, 2, 3}},
		{"one column", "\ufeff" + seed + "\n\"" + clean + "\"\nnope\n",
			[]string{"line", "address"},
			[][]string{{seed, screen.RiskSanctioned}, {clean, ""}, {"nope", screen.RiskError}},
			[]int{1, 2, 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			st, err := s.Batch(context.Background(), strings.NewReader(tc.in), &out, screen.BatchOptions{Name: "in.csv"})
			if err != nil {
				t.Fatal(err)
			}
			recs, err := csv.NewReader(&out).ReadAll()
			if err != nil {
				t.Fatalf("output is not CSV: %v\n%s", err, out.String())
			}
			wantHeader := append(append([]string{}, tc.header...), screen.BatchResultColumns...)
			if strings.Join(recs[0], ",") != strings.Join(wantHeader, ",") {
				t.Fatalf("header %v, want %v", recs[0], wantHeader)
			}
			if len(recs)-1 != len(tc.rows) || st.Rows != len(tc.rows) {
				t.Fatalf("%d rows (stats %d), want %d:\n%s", len(recs)-1, st.Rows, len(tc.rows), out.String())
			}
			failed := 0
			ncols := len(tc.header) - 1
			for i, want := range tc.rows {
				rec := recs[i+1]
				col := func(name string) string {
					for j, h := range recs[0] {
						if h == name && j >= len(tc.header) {
							return rec[j]
						}
					}
					t.Fatalf("no column %s", name)
					return ""
				}
				if len(rec) != len(wantHeader) || rec[0] != strconv.Itoa(tc.lines[i]) || strings.Join(rec[1:1+ncols], "|") != strings.Join(want[:ncols], "|") {
					t.Errorf("row %d: %v; want line %d, input %v", i, rec, tc.lines[i], want[:ncols])
				}
				risk := want[ncols]
				if got := col("risk"); risk != "" && got != risk || risk == "" && (got == screen.RiskError || got == "") {
					t.Errorf("row %d: risk %q, want %q", i, got, risk)
				}
				if (col("risk") == screen.RiskError) != (col("error") != "") {
					t.Errorf("row %d: risk %q with error %q", i, col("risk"), col("error"))
				}
				if col("risk") == screen.RiskError {
					failed++
				}
				if col("tip_height") != strconv.Itoa(int(status.TipHeight)) || col("tip_hash") != status.TipHash || col("list_version") != strconv.Itoa(int(status.ListVersion)) || status.ListVersion == 0 {
					t.Errorf("row %d: tip %s %s list %s; want %d %s %d", i, col("tip_height"), col("tip_hash"), col("list_version"), status.TipHeight, status.TipHash, status.ListVersion)
				}
			}
			if st.Failed() != failed || failed == 0 {
				t.Errorf("stats say %d failed, output %d", st.Failed(), failed)
			}
		})
	}
	// JSON lines: the same rows.
	var out bytes.Buffer
	st, err := s.Batch(context.Background(), strings.NewReader("address\n"+seed+"\nbad\n"), &out, screen.BatchOptions{JSON: true})
	if err != nil || st.Rows != 2 || st.Failed() != 1 {
		t.Fatalf("json: %v %+v", err, st)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var rows []map[string]any
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		rows = append(rows, m)
	}
	if len(rows) != 2 || rows[1]["risk"] != screen.RiskError || rows[1]["error"] == nil || rows[1]["line"] != 3.0 || rows[0]["list_version"] != float64(status.ListVersion) {
		t.Errorf("json rows: %v", rows)
	}
}
