package audit

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// Sentinel errors.
var (
	// ErrBroken is a log whose chain does not verify; *BrokenError names the line.
	ErrBroken = errors.New("audit: log does not verify")
)

// Sources of an entry.
const (
	SourceCLI   = "cli"
	SourceAPI   = "api"
	SourceAudit = "audit" // the log's own notes (a torn append cut off)
	SourceAdmin = "admin" // a live server's admin action (Input says what)
)

// Genesis is the "prev" of the first line.
var Genesis = strings.Repeat("0", 64)

// Entry is one screened input.
type Entry struct {
	Seq         uint64    `json:"seq"` // from 1
	Time        time.Time `json:"time"`
	Source      string    `json:"source"`          // cli, api or audit
	Key         string    `json:"key"`             // API key name ("key:NAME"), client ("ip:ADDR") or CLI user ("user:NAME")
	Input       string    `json:"input"`           // as given
	Address     string    `json:"address"`         // canonical; "" when the input was invalid
	Risk        string    `json:"risk"`            // sanctioned, exposed, risky, none
	Level       string    `json:"level"`           // the policy's level
	Rule        string    `json:"rule"`            // the policy rule that set it
	Policy      string    `json:"policy"`          // the policy's name
	Method      string    `json:"method"`          // index, fresh, direct
	ListVersion uint32    `json:"list_version"`    // sanctions list version in force; 0 none
	TipHeight   int32     `json:"tip_height"`      // the store's tip
	TipHash     string    `json:"tip_hash"`        //
	Error       string    `json:"error,omitempty"` // why the input was not screened
	Prev        string    `json:"prev"`            // hash of the line before; Genesis for the first
	Hash        string    `json:"hash"`            // SHA-256 of this line up to ,"hash"
}

// Log is an append-only audit log file. Safe for concurrent use.
type Log struct {
	path string
	mu   sync.Mutex
	now  func() time.Time
}

// Open returns the log at path; the file is created by the first Append.
func Open(path string) *Log { return &Log{path: path, now: time.Now} }

// Path is the log's file.
func (l *Log) Path() string { return l.path }

const hashField = `,"hash":"`

// encode renders e (Seq, Prev set) as one line with its hash, newline included.
func encode(e *Entry) ([]byte, error) {
	e.Hash = ""
	b, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	// Marshal ends with ,"hash":""}: hash everything before it.
	i := bytes.LastIndex(b, []byte(hashField))
	if i < 0 {
		return nil, errors.New("audit: encode: no hash field")
	}
	sum := sha256.Sum256(b[:i])
	e.Hash = hex.EncodeToString(sum[:])
	line := append(b[:i:i], hashField...)
	line = append(line, e.Hash...)
	return append(line, '"', '}', '\n'), nil
}

// Append adds entries (their Seq, Prev, Hash and a zero Time are filled in)
// and syncs the file.
func (l *Log) Append(entries ...Entry) (err error) {
	if len(entries) == 0 {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	f, err := os.OpenFile(l.path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("audit: close %s: %w", l.path, cerr)
		}
	}()
	if err := lockFile(f); err != nil {
		return fmt.Errorf("audit: lock %s: %w", l.path, err)
	}
	defer func() {
		if uerr := unlockFile(f); uerr != nil && err == nil {
			err = fmt.Errorf("audit: unlock %s: %w", l.path, uerr)
		}
	}()
	seq, prev, end, torn, err := tail(f)
	if err != nil {
		return fmt.Errorf("audit: %s: %w", l.path, err)
	}
	now := l.now().UTC()
	var buf []byte
	if torn != nil {
		sum := sha256.Sum256(torn)
		entries = append([]Entry{{Source: SourceAudit, Key: SourceAudit,
			Error: fmt.Sprintf("cut off %d bytes of an interrupted append (sha256 %x)", len(torn), sum)}}, entries...)
	}
	for i := range entries {
		e := &entries[i]
		seq++
		e.Seq, e.Prev = seq, prev
		if e.Time.IsZero() {
			e.Time = now
		}
		line, err := encode(e)
		if err != nil {
			return err
		}
		buf = append(buf, line...)
		prev = e.Hash
	}
	if torn != nil {
		if err := f.Truncate(end); err != nil {
			return fmt.Errorf("audit: cut the torn tail of %s: %w", l.path, err)
		}
	}
	if _, err := f.WriteAt(buf, end); err != nil {
		return fmt.Errorf("audit: append to %s: %w", l.path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("audit: sync %s: %w", l.path, err)
	}
	return nil
}

// tail reads the last complete line of f: its seq and hash, the offset just
// after it, and the bytes after it (a torn append) if any. It trusts the
// last line; Verify checks the whole chain.
func tail(f *os.File) (seq uint64, hash string, end int64, torn []byte, err error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, "", 0, nil, err
	}
	size := fi.Size()
	if size == 0 {
		return 0, Genesis, 0, nil, nil
	}
	// Read backwards in chunks until the newline ending the last complete line
	// and the one before it are found.
	var data []byte
	pos := size
	for {
		n := min(int64(64<<10), pos)
		pos -= n
		chunk := make([]byte, n)
		if _, err := f.ReadAt(chunk, pos); err != nil && err != io.EOF {
			return 0, "", 0, nil, err
		}
		data = append(chunk, data...)
		last := bytes.LastIndexByte(data, '\n')
		if last >= 0 {
			if start := bytes.LastIndexByte(data[:last], '\n'); start >= 0 || pos == 0 {
				line := data[start+1 : last]
				var e Entry
				if err := json.Unmarshal(line, &e); err != nil || len(e.Hash) != 64 {
					return 0, "", 0, nil, fmt.Errorf("%w: last line is not an audit entry (run tracer audit verify)", ErrBroken)
				}
				end = pos + int64(last) + 1
				if end < size {
					torn = data[last+1:]
				}
				return e.Seq, e.Hash, end, torn, nil
			}
		}
		if pos == 0 {
			// No complete line at all: the whole file is a torn first append.
			return 0, Genesis, 0, data, nil
		}
	}
}

// BrokenError names the first line that does not verify.
type BrokenError struct {
	Line int // 1-based
	Why  string
}

func (e *BrokenError) Error() string {
	return fmt.Sprintf("audit: log does not verify: line %d: %s", e.Line, e.Why)
}

func (e *BrokenError) Unwrap() error { return ErrBroken }

// Report is the outcome of Verify.
type Report struct {
	Entries int    `json:"entries"`
	Head    string `json:"head"`      // hash of the last entry; Genesis when empty
	HeadSeq uint64 `json:"head_seq"`  // its seq
	Torn    int    `json:"torn_tail"` // bytes of an interrupted append after the last line (cut by the next append)
	hashes  map[string]bool
}

// Contains reports whether the verified log holds the entry with hash h.
func (r *Report) Contains(h string) bool { return r.hashes[strings.ToLower(h)] }

// Verify reads a whole log and checks every line: its own hash, its seq
// (one more than the line before) and its prev (the hash of the line
// before). It returns a *BrokenError for the first bad line.
func Verify(r io.Reader) (*Report, error) {
	rep := &Report{Head: Genesis, hashes: map[string]bool{}}
	err := scan(r, func(line int, raw []byte, e *Entry, torn bool) error {
		if torn {
			rep.Torn = len(raw)
			return nil
		}
		if e.Seq != rep.HeadSeq+1 {
			return &BrokenError{Line: line, Why: fmt.Sprintf("seq %d where %d was due (a line removed, inserted or moved)", e.Seq, rep.HeadSeq+1)}
		}
		if e.Prev != rep.Head {
			return &BrokenError{Line: line, Why: "prev is not the hash of the line before (a line removed, changed or moved before it)"}
		}
		rep.Entries++
		rep.Head, rep.HeadSeq = e.Hash, e.Seq
		rep.hashes[e.Hash] = true
		return nil
	})
	if err != nil {
		return nil, err
	}
	return rep, nil
}

// Read calls fn with every entry in order, checking each line's own hash
// but not the chain (Verify does).
func Read(r io.Reader, fn func(Entry) error) error {
	return scan(r, func(_ int, _ []byte, e *Entry, torn bool) error {
		if torn {
			return nil
		}
		return fn(*e)
	})
}

func scan(r io.Reader, fn func(line int, raw []byte, e *Entry, torn bool) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	for n := 1; ; n++ {
		raw, err := br.ReadBytes('\n')
		if err == io.EOF {
			if len(raw) > 0 {
				return fn(n, raw, nil, true)
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("audit: read: %w", err)
		}
		raw = raw[:len(raw)-1]
		e, why := check(raw)
		if why != "" {
			return &BrokenError{Line: n, Why: why}
		}
		if err := fn(n, raw, e, false); err != nil {
			return err
		}
	}
}

// check verifies one line's own hash and decodes it.
func check(raw []byte) (*Entry, string) {
	i := bytes.LastIndex(raw, []byte(hashField))
	if i < 0 || len(raw) != i+len(hashField)+64+2 || !bytes.HasSuffix(raw, []byte(`"}`)) {
		return nil, "not an audit entry (no hash at its end)"
	}
	want := string(raw[i+len(hashField) : len(raw)-2])
	sum := sha256.Sum256(raw[:i])
	if hex.EncodeToString(sum[:]) != want {
		return nil, "its hash does not match its content (the line was changed)"
	}
	var e Entry
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return nil, fmt.Sprintf("not an audit entry: %v", err)
	}
	return &e, ""
}
