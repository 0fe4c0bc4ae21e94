package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func entry(i int) Entry {
	return Entry{Source: SourceCLI, Key: "user:test", Input: fmt.Sprintf("addr%d", i), Address: fmt.Sprintf("addr%d", i),
		Risk: "none", Level: "none", Policy: "default", Method: "index", ListVersion: 3, TipHeight: 100, TipHash: "00ab"}
}

// writeLog appends n entries, in appends of 1, 2, 3, ... entries.
func writeLog(t *testing.T, n int) (string, [][]byte) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit.log")
	l := Open(path)
	l.now = func() time.Time { return time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC) }
	for i, k := 0, 1; i < n; k++ {
		var batch []Entry
		for j := 0; j < k && i < n; j++ {
			batch = append(batch, entry(i))
			i++
		}
		if err := l.Append(batch...); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, bytes.SplitAfter(b, []byte("\n"))[:n]
}

func verifyBytes(b []byte) (*Report, error) { return Verify(bytes.NewReader(b)) }

func TestVerifyGood(t *testing.T) {
	_, lines := writeLog(t, 10)
	rep, err := verifyBytes(bytes.Join(lines, nil))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Entries != 10 || rep.HeadSeq != 10 || len(rep.Head) != 64 || rep.Torn != 0 {
		t.Fatalf("report %+v", rep)
	}
	var mid Entry
	if err := Read(bytes.NewReader(lines[4]), func(e Entry) error { mid = e; return nil }); err != nil {
		t.Fatal(err)
	}
	if !rep.Contains(mid.Hash) || rep.Contains(Genesis) || mid.Seq != 5 || mid.Input != "addr4" || mid.ListVersion != 3 {
		t.Fatalf("entry 5: %+v", mid)
	}
	if rep, err := verifyBytes(nil); err != nil || rep.Entries != 0 || rep.Head != Genesis {
		t.Fatalf("empty log: %+v %v", rep, err)
	}
}

// rehash recomputes a line's own hash after an edit, as a forger would.
func rehash(line []byte) []byte {
	i := bytes.LastIndex(line, []byte(hashField))
	sum := sha256.Sum256(line[:i])
	return []byte(string(line[:i]) + hashField + hex.EncodeToString(sum[:]) + "\"}\n")
}

// TestTamper: every way of editing, deleting, inserting or reordering
// lines makes Verify fail, naming the first bad line.
func TestTamper(t *testing.T) {
	_, lines := writeLog(t, 8)
	clone := func() [][]byte {
		out := make([][]byte, len(lines))
		for i, l := range lines {
			out[i] = append([]byte(nil), l...)
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		change func([][]byte) [][]byte
		line   int
		why    string
	}{
		{"edit a field", func(l [][]byte) [][]byte {
			l[3] = bytes.Replace(l[3], []byte(`"level":"none"`), []byte(`"level":"high"`), 1)
			return l
		}, 4, "changed"},
		{"edit and rehash", func(l [][]byte) [][]byte {
			l[3] = rehash(bytes.Replace(l[3], []byte(`"risk":"none"`), []byte(`"risk":"sanctioned"`), 1))
			return l
		}, 5, "prev"},
		{"edit the time", func(l [][]byte) [][]byte {
			l[0] = bytes.Replace(l[0], []byte("2026-12-07"), []byte("2026-12-06"), 1)
			return l
		}, 1, "changed"},
		{"delete a line", func(l [][]byte) [][]byte { return append(l[:2], l[3:]...) }, 3, "seq 4 where 3"},
		{"delete the first line", func(l [][]byte) [][]byte { return l[1:] }, 1, "seq 2 where 1"},
		{"swap two lines", func(l [][]byte) [][]byte { l[5], l[6] = l[6], l[5]; return l }, 6, "seq 7 where 6"},
		{"move a line to the end", func(l [][]byte) [][]byte { return append(append(l[:1], l[2:]...), l[1]) }, 2, "seq 3 where 2"},
		{"duplicate a line", func(l [][]byte) [][]byte { return append(l[:4], append([][]byte{l[3]}, l[4:]...)...) }, 5, "seq 4 where 5"},
		{"delete and renumber", func(l [][]byte) [][]byte {
			l = append(l[:2], l[3:]...)
			for i := 2; i < len(l); i++ {
				l[i] = rehash(bytes.Replace(l[i], []byte(fmt.Sprintf(`{"seq":%d,`, i+2)), []byte(fmt.Sprintf(`{"seq":%d,`, i+1)), 1))
			}
			return l
		}, 3, "prev"},
		{"insert a forged line", func(l [][]byte) [][]byte {
			forged := rehash(bytes.Replace(l[2], []byte(`"input":"addr2"`), []byte(`"input":"forged"`), 1))
			return append(l[:3], append([][]byte{forged}, l[3:]...)...)
		}, 4, "seq 3 where 4"},
		{"garbage line", func(l [][]byte) [][]byte { l[1] = []byte("hello\n"); return l }, 2, "no hash"},
		{"unknown field", func(l [][]byte) [][]byte {
			l[2] = rehash(bytes.Replace(l[2], []byte(`{"seq"`), []byte(`{"x":1,"seq"`), 1))
			return l
		}, 3, "unknown field"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := verifyBytes(bytes.Join(tc.change(clone()), nil))
			var be *BrokenError
			if !errors.As(err, &be) || !errors.Is(err, ErrBroken) {
				t.Fatalf("got %v, want a BrokenError", err)
			}
			if be.Line != tc.line || !strings.Contains(be.Why, tc.why) {
				t.Fatalf("got line %d %q, want line %d mentioning %q", be.Line, be.Why, tc.line, tc.why)
			}
		})
	}
}

// TestTornTail: an append cut short by a crash is reported by Verify and
// cut off, with a note, by the next Append.
func TestTornTail(t *testing.T) {
	path, lines := writeLog(t, 3)
	torn := lines[2][:len(lines[2])/2]
	good := bytes.Join(lines[:2], nil)
	if err := os.WriteFile(path, append(append([]byte(nil), good...), torn...), 0o600); err != nil {
		t.Fatal(err)
	}
	rep, err := verifyBytes(append(append([]byte(nil), good...), torn...))
	if err != nil || rep.Entries != 2 || rep.Torn != len(torn) {
		t.Fatalf("torn tail: %+v %v", rep, err)
	}
	if err := Open(path).Append(entry(9)); err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open(path)
	defer f.Close()
	rep, err = Verify(f)
	if err != nil || rep.Entries != 4 || rep.Torn != 0 {
		t.Fatalf("after the next append: %+v %v", rep, err)
	}
	if _, err := f.Seek(0, 0); err != nil {
		t.Fatal(err)
	}
	var got []Entry
	if err := Read(f, func(e Entry) error { got = append(got, e); return nil }); err != nil {
		t.Fatal(err)
	}
	if got[2].Source != SourceAudit || !strings.Contains(got[2].Error, fmt.Sprintf("cut off %d bytes", len(torn))) || got[3].Input != "addr9" {
		t.Fatalf("entries after the cut: %+v", got[2:])
	}
	// A file that is nothing but a torn first append.
	p2 := filepath.Join(t.TempDir(), "a.log")
	if err := os.WriteFile(p2, torn, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Open(p2).Append(entry(1)); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p2)
	if rep, err := verifyBytes(b); err != nil || rep.Entries != 2 {
		t.Fatalf("torn first append: %+v %v", rep, err)
	}
}

// TestConcurrentAppends: appenders in parallel (as CLI and server share a
// log) keep one unbroken chain.
func TestConcurrentAppends(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := Open(path) // separate Log values: only the file lock serializes them
			for i := 0; i < 25; i++ {
				if err := l.Append(entry(g*100+i), entry(g*100+i+50)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b, _ := os.ReadFile(path)
	rep, err := verifyBytes(b)
	if err != nil || rep.Entries != 200 {
		t.Fatalf("%+v %v", rep, err)
	}
}

func FuzzVerify(f *testing.F) {
	f.Add([]byte(""))
	f.Add([]byte(`{"seq":1,"prev":"` + Genesis + `","hash":"` + Genesis + `"}` + "\n"))
	f.Add([]byte("x\ny"))
	f.Fuzz(func(t *testing.T, b []byte) {
		rep, err := verifyBytes(b)
		if err != nil {
			if !errors.Is(err, ErrBroken) {
				t.Fatalf("error %v is not ErrBroken", err)
			}
			return
		}
		if rep.Entries > 0 && len(rep.Head) != 64 {
			t.Fatalf("report %+v", rep)
		}
	})
}
