package api_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracer-oss/tracer/tracer/screen/api"
	"github.com/tracer-oss/tracer/tracer/screen/audit"
)

// TestAuditTrail: every screening route records each input with the key's
// name, level, rule, list version and tip, in one verified chain; a log
// that cannot be written turns the answer into a 500.
func TestAuditTrail(t *testing.T) {
	const key = "0123456789abcdef-secret"
	path := filepath.Join(t.TempDir(), "audit.log")
	s, f := newServer(t, api.Config{Keys: []api.Key{{Name: "ops", Secret: key}}, Audit: audit.Open(path)})
	seed, dep := f.truth.Seeds[0].Address, exposedDeposit(f)
	for _, req := range []struct{ method, path, body string }{
		{"GET", "/v1/address/" + seed, ""},
		{"POST", "/v1/screen", `{"addresses": ["` + dep + `", "bad address"]}`},
		{"GET", "/api/v1/address/" + dep, ""},
		{"GET", "/?address=" + seed, ""},
		{"GET", "/v1/status", ""},
	} {
		if code, _, body := do(t, s, req.method, req.path, key, strings.NewReader(req.body)); code != 200 {
			t.Fatalf("%s %s: %d %s", req.method, req.path, code, body)
		}
	}
	if code, _, _ := do(t, s, "GET", "/v1/address/"+seed, "wrong-key", nil); code != 401 {
		t.Fatalf("wrong key: %d", code)
	}
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	rep, err := audit.Verify(fh)
	if err != nil || rep.Entries != 5 {
		t.Fatalf("verify: %+v %v", rep, err)
	}
	if _, err := fh.Seek(0, 0); err != nil {
		t.Fatal(err)
	}
	var got []audit.Entry
	if err := audit.Read(fh, func(e audit.Entry) error { got = append(got, e); return nil }); err != nil {
		t.Fatal(err)
	}
	st := f.scr.Status()
	want := []struct{ input, level, rule, errText string }{
		{seed, "severe", "listed", ""}, {dep, "", "", ""}, {"bad address", "", "", "invalid"}, {dep, "", "", ""}, {seed, "severe", "listed", ""},
	}
	for i, w := range want {
		e := got[i]
		if e.Source != audit.SourceAPI || e.Key != "key:ops" || e.Input != w.input || e.ListVersion != st.ListVersion || e.TipHash != st.TipHash || e.TipHeight != st.TipHeight {
			t.Errorf("entry %d: %+v", i+1, e)
		}
		if w.level != "" && (e.Level != w.level || e.Rule != w.rule) || w.errText == "" && (e.Level == "" || e.Policy != "default") {
			t.Errorf("entry %d: level %q rule %q policy %q", i+1, e.Level, e.Rule, e.Policy)
		}
		if w.errText != "" && (!strings.Contains(e.Error, w.errText) || e.Level != "") {
			t.Errorf("entry %d: error %q", i+1, e.Error)
		}
	}
	// An unwritable log: no answer without a record.
	bad, _ := newServer(t, api.Config{Audit: audit.Open(filepath.Join(t.TempDir(), "missing-dir", "audit.log"))})
	code, _, body := do(t, bad, "GET", "/v1/address/"+seed, "", nil)
	var e struct{ Error string }
	if code != 500 || json.Unmarshal(body, &e) != nil || !strings.Contains(e.Error, "audit log") {
		t.Fatalf("unwritable audit log: %d %s", code, body)
	}
}
