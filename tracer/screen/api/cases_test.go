package api_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/chaingen"
	"github.com/tracer-oss/tracer/tracer/cases"
	"github.com/tracer-oss/tracer/tracer/screen"
	"github.com/tracer-oss/tracer/tracer/screen/api"
	"github.com/tracer-oss/tracer/tracer/screen/screentest"
	"github.com/tracer-oss/tracer/tracer/spec"
)

var (
	caseOnce  sync.Once
	caseDir   string
	caseTruth *chaingen.Truth
	caseErr   error
)

// caseServer serves a fresh writable copy of a screened scam-centre store
// with cases, as tracer serve does; the store is built once per binary.
func caseServer(t testing.TB, cfg api.Config) (*api.Server, *chaingen.Truth) {
	t.Helper()
	caseOnce.Do(func() {
		if caseDir, caseErr = os.MkdirTemp("", "tracer-api-cases-"); caseErr != nil {
			return
		}
		var db string
		if db, caseErr = screentest.Build(context.Background(), caseDir, 3000, 7, screen.Options{Params: screentest.Params}); caseErr != nil {
			return
		}
		caseDir = db
		caseTruth, caseErr = chaingen.ReadTruth(filepath.Join(filepath.Dir(db), "chain", "truth.json"))
	})
	if caseErr != nil {
		t.Fatal(caseErr)
	}
	// Each test its own copy, so cases start at 1.
	dst := t.TempDir()
	if err := os.CopyFS(dst, os.DirFS(caseDir)); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(dst, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	scr, err := screen.New(st, screen.Options{Params: screentest.Params})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Screener, cfg.Tracer, cfg.Cases = scr, spec.NewRunner(st, screentest.Params, nil), cases.ForStore(st, st, screentest.Params)
	s, err := api.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s, caseTruth
}

func seedsBody(tr *chaingen.Truth, extra string) string {
	b, _ := json.Marshal(tr.Entities[0].Addresses)
	return `{"seeds": ` + string(b) + extra + `}`
}

func TestCasesAPI(t *testing.T) {
	s, tr := caseServer(t, api.Config{})
	code, h, body := do(t, s, "POST", "/v1/cases", "", strings.NewReader(seedsBody(tr, `, "title": "t1", "max_hops": 10`)))
	if code != http.StatusCreated || h.Get("Location") != "/v1/cases/1" {
		t.Fatalf("create: %d %s", code, body)
	}
	var c cases.Case
	if err := json.Unmarshal(body, &c); err != nil || c.ID != 1 || c.Params.MaxHops != 10 || c.CreatedBy == "" {
		t.Fatalf("create answered %s (%v)", body, err)
	}
	type graph struct {
		Nodes []struct {
			ID, Key, Kind string
			Hit, Hidden   bool
			Note          string
		}
		Edges []struct{ From, To string }
	}
	get := func(path string) graph {
		t.Helper()
		code, _, body := do(t, s, "GET", path, "", nil)
		if code != 200 {
			t.Fatalf("GET %s: %d %s", path, code, body)
		}
		var g graph
		if err := json.Unmarshal(body, &g); err != nil {
			t.Fatal(err)
		}
		return g
	}
	g := get("/v1/cases/1/graph")
	if len(g.Nodes) == 0 || len(g.Edges) == 0 {
		t.Fatalf("graph: %d nodes, %d edges", len(g.Nodes), len(g.Edges))
	}
	var hit string
	for _, n := range g.Nodes {
		if n.Hit && n.Kind == "address" {
			hit = n.Key
		}
	}
	g2 := get("/v1/cases/1/graph?expand=" + hit + "&direction=forward")
	if len(g2.Nodes) <= len(g.Nodes) {
		t.Errorf("expand %s: %d nodes, was %d", hit, len(g2.Nodes), len(g.Nodes))
	}
	code, _, body = do(t, s, "PUT", "/v1/cases/1/notes/"+hit, "", strings.NewReader(`{"text": "ask the exchange"}`))
	if code != 200 {
		t.Fatalf("note: %d %s", code, body)
	}
	noted := false
	for _, n := range get("/v1/cases/1/graph").Nodes {
		noted = noted || n.Key == hit && n.Note == "ask the exchange"
	}
	if !noted {
		t.Errorf("note not on node %s", hit)
	}
	code, _, body = do(t, s, "PUT", "/v1/cases/1/hidden/"+hit, "", strings.NewReader(`{"hidden": true}`))
	if code != 200 {
		t.Fatalf("hide: %d %s", code, body)
	}
	hidden := 0
	for _, n := range get("/v1/cases/1/graph").Nodes {
		if n.Hidden {
			hidden++
			if n.Key != hit {
				t.Errorf("node %s hidden, want only %s", n.Key, hit)
			}
		}
	}
	if hidden != 1 {
		t.Errorf("%d hidden nodes, want 1", hidden)
	}
	if code, _, body = do(t, s, "PUT", "/v1/cases/1/hidden/"+strings.Repeat("ef", 32), "", strings.NewReader(`{"hidden": true}`)); code != 404 {
		t.Errorf("hide a node not in the case: %d %s", code, body)
	}
	code, _, body = do(t, s, "POST", "/v1/cases/1/rerun", "", strings.NewReader(`{"model": "poison", "max_hops": 4}`))
	if code != 200 || !strings.Contains(string(body), `"runs":2`) || !strings.Contains(string(body), "ask the exchange") {
		t.Errorf("rerun: %d %s", code, body)
	}
	code, _, body = do(t, s, "GET", "/v1/cases/1/log", "", nil)
	for _, want := range []string{`"action":"create"`, `"action":"expand"`, `"action":"note"`, `"action":"hide"`, `"action":"rerun"`, `"who":"ip:`} {
		if code != 200 || !strings.Contains(string(body), want) {
			t.Errorf("log lacks %s: %d %s", want, code, body)
		}
	}
	code, _, body = do(t, s, "GET", "/v1/cases", "", nil)
	if code != 200 || !strings.Contains(string(body), `"title":"t1"`) {
		t.Errorf("list: %d %s", code, body)
	}
	code, h, body = do(t, s, "GET", "/v1/cases/1/bundle", "", nil)
	if code != 200 || h.Get("Content-Type") != "application/zip" {
		t.Fatalf("bundle: %d %s", code, h)
	}
	if _, err := zip.NewReader(bytes.NewReader(body), int64(len(body))); err != nil {
		t.Errorf("bundle is not a zip: %v", err)
	}
	code, _, body = do(t, s, "GET", "/case?id=1", "", nil)
	if code != 200 || !strings.Contains(string(body), "TracerGraph.mount") || strings.Contains(string(body), "<script src") {
		t.Errorf("/case?id=1: %d", code)
	}

	for _, tc := range []struct {
		name, method, path, body string
		want                     int
	}{
		{"no seeds", "POST", "/v1/cases", `{"seeds": []}`, 400},
		{"bad JSON", "POST", "/v1/cases", `{"seeds": `, 400},
		{"unknown field", "POST", "/v1/cases", seedsBody(tr, `, "hops": 3`), 400},
		{"bad address", "POST", "/v1/cases", `{"seeds": ["nope"]}`, 400},
		{"bad direction", "POST", "/v1/cases", seedsBody(tr, `, "direction": "up"`), 400},
		{"unknown case", "GET", "/v1/cases/9", "", 404},
		{"unknown case graph", "GET", "/v1/cases/9/graph", "", 404},
		{"bad id", "GET", "/v1/cases/x", "", 400},
		{"zero id", "GET", "/v1/cases/0/graph", "", 400},
		{"expand unknown txid", "GET", "/v1/cases/1/graph?expand=" + strings.Repeat("cd", 32), "", 404},
		{"expand nonsense", "GET", "/v1/cases/1/graph?expand=nonsense", "", 400},
		{"expand sideways", "GET", "/v1/cases/1/graph?expand=" + hit + "&direction=sideways", "", 400},
		{"note on unknown case", "PUT", "/v1/cases/9/notes/" + hit, `{"text": "x"}`, 404},
		{"note bad JSON", "PUT", "/v1/cases/1/notes/" + hit, `{"txt": "x"}`, 400},
		{"note on nonsense", "PUT", "/v1/cases/1/notes/nonsense", `{"text": "x"}`, 400},
		{"unknown case page", "GET", "/case?id=77", "", 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var rd *strings.Reader
			if tc.body != "" {
				rd = strings.NewReader(tc.body)
			} else {
				rd = strings.NewReader("")
			}
			code, _, body := do(t, s, tc.method, tc.path, "", rd)
			if code != tc.want {
				t.Errorf("%s %s: %d, want %d: %s", tc.method, tc.path, code, tc.want, body)
			}
		})
	}
}

func TestCasesReadOnly(t *testing.T) {
	s, tr := caseServer(t, api.Config{CasesReadOnly: true})
	code, _, body := do(t, s, "POST", "/v1/cases", "", strings.NewReader(seedsBody(tr, "")))
	if code != http.StatusServiceUnavailable || !strings.Contains(string(body), "read-only") {
		t.Errorf("create on a read-only store: %d %s", code, body)
	}
	code, _, _ = do(t, s, "GET", "/v1/cases", "", nil)
	if code != 200 {
		t.Errorf("list on a read-only store: %d", code)
	}
}

func TestCasesNeedKey(t *testing.T) {
	const key = "0123456789abcdef-secret"
	s, tr := caseServer(t, api.Config{Keys: []api.Key{{Name: "ops", Secret: key}}})
	if code, _, _ := do(t, s, "POST", "/v1/cases", "", strings.NewReader(seedsBody(tr, ""))); code != 401 {
		t.Errorf("without a key: %d", code)
	}
	code, _, body := do(t, s, "POST", "/v1/cases", key, strings.NewReader(seedsBody(tr, `, "max_hops": 3`)))
	if code != 201 || !strings.Contains(string(body), `"created_by":"key:ops"`) {
		t.Errorf("with a key: %d %s", code, body)
	}
	// The page signs in once and keeps the key in a cookie, never in a URL.
	if code, _, _ := do(t, s, "GET", fmt.Sprintf("/case?id=1&key=%s", key), "", nil); code != 400 {
		t.Errorf("page with ?key=: %d, want 400", code)
	}
	if code, _, body := do(t, s, "GET", "/case?id=1", "", nil); code != 401 || !strings.Contains(string(body), `action="/login"`) {
		t.Errorf("page without a key: %d, want 401 and the sign-in form", code)
	}
	req := httptest.NewRequest("GET", "/case?id=1", nil)
	req.AddCookie(&http.Cookie{Name: "tracer_key", Value: key})
	w := httptest.NewRecorder()
	s.ServeHTTP(w, req)
	if w.Code != 200 {
		t.Errorf("page with the sign-in cookie: %d", w.Code)
	}
	req = httptest.NewRequest("GET", "/v1/cases/1/graph", nil)
	req.AddCookie(&http.Cookie{Name: "tracer_key", Value: key})
	w = httptest.NewRecorder()
	s.ServeHTTP(w, req)
	if w.Code != 200 {
		t.Errorf("the viewer's API call with the cookie: %d", w.Code)
	}
}
