package audit

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLast(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	l := Open(path)
	day := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	// Entry i is screened on day i by user a (even) or b (odd); every third
	// is high; entry 5's input is a string that parsed to addr5.
	for i := 0; i < 12; i++ {
		l.now = func() time.Time { return day.AddDate(0, 0, i) }
		e := entry(i)
		e.Key = map[bool]string{true: "a", false: "b"}[i%2 == 0]
		if i%3 == 0 {
			e.Level = "high"
		}
		if i == 5 {
			e.Input = " addr5 "
		}
		if err := l.Append(e); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name  string
		f     Filter
		limit int
		want  string // the inputs, in order
	}{
		{"all", Filter{}, 0, "addr0 addr1 addr2 addr3 addr4 ' addr5 ' addr6 addr7 addr8 addr9 addr10 addr11"},
		{"last three", Filter{}, 3, "addr9 addr10 addr11"},
		{"last one of many (the kept tail is compacted)", Filter{}, 1, "addr11"},
		{"key", Filter{Key: "b"}, 0, "addr1 addr3 ' addr5 ' addr7 addr9 addr11"},
		{"key, last two", Filter{Key: "b"}, 2, "addr9 addr11"},
		{"address matches the parsed address", Filter{Address: "addr5"}, 0, "' addr5 '"},
		{"address matches the input as given", Filter{Address: " addr5 "}, 0, "' addr5 '"},
		{"levels", Filter{Levels: map[string]bool{"high": true}}, 0, "addr0 addr3 addr6 addr9"},
		{"since, inclusive", Filter{Since: day.AddDate(0, 0, 10)}, 0, "addr10 addr11"},
		{"all fields", Filter{Key: "a", Levels: map[string]bool{"high": true}, Since: day.AddDate(0, 0, 1)}, 0, "addr6"},
		{"none", Filter{Key: "c"}, 5, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			got, err := Last(f, tt.f, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			var inputs []string
			for _, e := range got {
				if strings.TrimSpace(e.Input) != e.Input {
					inputs = append(inputs, "'"+e.Input+"'")
				} else {
					inputs = append(inputs, e.Input)
				}
			}
			if s := strings.Join(inputs, " "); s != tt.want {
				t.Errorf("got %q, want %q", s, tt.want)
			}
		})
	}
}
