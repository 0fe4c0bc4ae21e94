package api_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/chaingen"
	"github.com/tracer-oss/tracer/tracer"
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
	return caseServerTuned(t, cfg, nil)
}

// caseServerTuned is caseServer with tune called on the cases service; the
// server serves the service tune returns.
func caseServerTuned(t testing.TB, cfg api.Config, tune func(*store.Store, *cases.Service) *cases.Service) (*api.Server, *chaingen.Truth) {
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
	runner := spec.NewRunner(st, screentest.Params, nil)
	cfg.Screener, cfg.Tracer, cfg.Cases = scr, runner, cases.ForStore(st, runner, st, screentest.Params)
	if tune != nil {
		cfg.Cases = tune(st, cfg.Cases)
	}
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
	// The body the /case page's re-run form sends.
	code, _, body = do(t, s, "POST", "/v1/cases/1/rerun", "", strings.NewReader(`{"direction": "forward", "model": "poison", "max_hops": 4, "since": 0, "until": 0}`))
	if code != 200 || !strings.Contains(string(body), `"runs":2`) || !strings.Contains(string(body), "ask the exchange") || !strings.Contains(string(body), `"model":"poison"`) {
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

// TestCaseGraphCapped: the case graph a browser gets is capped as the
// report's is, says so (capped, omitted), keeps every hit, seed and path,
// still expands, and gives address nodes their exposure from the store's
// exposure index.
func TestCaseGraphCapped(t *testing.T) {
	var svc *cases.Service
	s, tr := caseServerTuned(t, api.Config{}, func(_ *store.Store, c *cases.Service) *cases.Service { svc = c; return c })
	if code, _, body := do(t, s, "POST", "/v1/cases", "", strings.NewReader(seedsBody(tr, ""))); code != http.StatusCreated {
		t.Fatalf("create: %d %s", code, body)
	}
	type graph struct {
		Nodes []struct {
			ID, Key, Kind, Address, Exposure string
			Hit, Seed, OnPath, Expanded      bool `json:"-"`
		}
		Edges  []struct{ From, To string }
		Counts struct{ Hits, Transactions int }
		// Pointers: the fields must be present, not merely zero.
		Capped  *bool `json:"capped"`
		Omitted *int  `json:"omitted"`
	}
	get := func(path string) (graph, map[string]map[string]any) {
		t.Helper()
		code, _, body := do(t, s, "GET", path, "", nil)
		if code != 200 {
			t.Fatalf("GET %s: %d %s", path, code, body)
		}
		var g graph
		var raw struct{ Nodes []map[string]any }
		if err := json.Unmarshal(body, &g); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(body, &raw); err != nil {
			t.Fatal(err)
		}
		byID := map[string]map[string]any{}
		for _, n := range raw.Nodes {
			byID[n["id"].(string)] = n
		}
		if g.Capped == nil || g.Omitted == nil {
			t.Fatalf("GET %s: no capped/omitted fields", path)
		}
		return g, byID
	}
	full, fullRaw := get("/v1/cases/1/graph")
	if *full.Capped || *full.Omitted != 0 {
		t.Fatalf("uncapped graph says capped %v, omitted %d", *full.Capped, *full.Omitted)
	}
	// Exposure from the index (the fixture is screened): every address node
	// has one, and some deposit shows sanctioned exposure.
	exposed := 0
	for _, n := range full.Nodes {
		if n.Kind != "address" || n.Address == "" {
			continue
		}
		if n.Exposure == "" || n.Exposure == cases.NotIndexed || !strings.Contains(n.Exposure, "index of block") {
			t.Fatalf("address %s: exposure %q", n.Address, n.Exposure)
		}
		if strings.HasPrefix(n.Exposure, "sanctioned ") {
			exposed++
		}
	}
	if exposed == 0 {
		t.Errorf("no address node shows sanctioned exposure")
	}
	var keep []string // ids Cap must keep
	for id, n := range fullRaw {
		if n["hit"] == true || n["seed"] == true || n["on_path"] == true || n["target"] == true {
			keep = append(keep, id)
		}
	}
	if len(full.Nodes) <= len(keep)+2 {
		t.Fatalf("fixture too small to cap: %d nodes, %d kept", len(full.Nodes), len(keep))
	}
	svc.MaxNodes = len(keep) + 1
	capped, cappedRaw := get("/v1/cases/1/graph")
	if !*capped.Capped || *capped.Omitted != len(full.Nodes)-len(capped.Nodes) || *capped.Omitted == 0 || len(capped.Nodes) > svc.MaxNodes {
		t.Fatalf("capped at %d: capped %v, omitted %d, %d of %d nodes", svc.MaxNodes, *capped.Capped, *capped.Omitted, len(capped.Nodes), len(full.Nodes))
	}
	for _, id := range keep {
		if cappedRaw[id] == nil {
			t.Errorf("cap dropped %s, a hit, seed or path node", id)
		}
	}
	if capped.Counts.Hits != full.Counts.Hits {
		t.Errorf("capped graph counts %d hits, full %d", capped.Counts.Hits, full.Counts.Hits)
	}
	// Expanding a transaction the cap left out still works and shows.
	var origin string
	for id, n := range fullRaw {
		if cappedRaw[id] == nil && n["kind"] == "tx" {
			origin = n["key"].(string)
			break
		}
	}
	if origin == "" {
		t.Fatal("the cap dropped no transaction")
	}
	exp, expRaw := get("/v1/cases/1/graph?expand=" + origin + "&direction=backward")
	if !*exp.Capped || expRaw["t:"+origin] == nil {
		t.Fatalf("expanding %s on a capped graph: capped %v, origin drawn %v", origin, *exp.Capped, expRaw["t:"+origin] != nil)
	}
	// Its neighbours are drawn: every edge into it that the uncapped graph
	// has, with both ends.
	svc.MaxNodes = 1 << 30
	fullExp, _ := get("/v1/cases/1/graph")
	svc.MaxNodes = len(keep) + 1
	into := func(g graph) int {
		n := 0
		for _, e := range g.Edges {
			if e.To == "t:"+origin {
				n++
			}
		}
		return n
	}
	for _, e := range exp.Edges {
		if expRaw[e.From] == nil || expRaw[e.To] == nil {
			t.Errorf("edge %s → %s drawn without its nodes", e.From, e.To)
		}
	}
	if n, want := into(exp), into(fullExp); n == 0 || n != want {
		t.Errorf("expanding %s backward on a capped graph drew %d funding edges, the full graph has %d", origin, n, want)
	}
	// And it stays drawn on the next load.
	if _, again := get("/v1/cases/1/graph"); again["t:"+origin] == nil {
		t.Errorf("expansion origin %s dropped on reload", origin)
	}
}

// labelsFailTracer fails as spec.Runner does when cluster labelling met a
// store error partway through the walk.
type labelsFailTracer struct{}

func (labelsFailTracer) Trace(context.Context, spec.Spec) (*tracer.Result, error) {
	return nil, fmt.Errorf("%w: store: cluster root: read failed", spec.ErrLabels)
}

// TestCaseLabellingFailsPartway: POST /v1/cases answers a clear 500 naming
// the labelling failure, and saves no case.
func TestCaseLabellingFailsPartway(t *testing.T) {
	s, tr := caseServerTuned(t, api.Config{}, func(st *store.Store, _ *cases.Service) *cases.Service {
		txNum := func(txid string) (store.TxNum, error) {
			h, err := chainhash.NewHashFromStr(txid)
			if err != nil {
				return 0, err
			}
			return st.TxNumOf(*h)
		}
		return cases.New(st.Cases(), labelsFailTracer{}, st, txNum, screentest.Params)
	})
	code, _, body := do(t, s, "POST", "/v1/cases", "", strings.NewReader(seedsBody(tr, "")))
	if code != http.StatusInternalServerError || !strings.Contains(string(body), "cluster labelling failed partway") || !strings.Contains(string(body), "read failed") {
		t.Fatalf("create with labelling failing partway: %d %s", code, body)
	}
	if code, _, body := do(t, s, "GET", "/v1/cases", "", nil); code != 200 || !strings.Contains(string(body), `"cases":[]`) {
		t.Errorf("cases after the failed create: %d %s", code, body)
	}
}

// TestCaseSameAsTrace: a case and /v1/trace given the same parameters, by
// the same names, trace the same hits; a bad parameter is refused by both
// with the same words.
func TestCaseSameAsTrace(t *testing.T) {
	s, tr := caseServer(t, api.Config{})
	type hit struct {
		Txid    string `json:"txid"`
		Vout    uint32 `json:"vout"`
		Address string `json:"address"`
		Tainted int64  `json:"tainted_sat"`
		Hops    int    `json:"hops"`
	}
	seeds := tr.Entities[0].Addresses
	for _, tc := range []struct {
		name  string
		query url.Values // /v1/trace's; the case's body has the same keys
	}{
		{"defaults", url.Values{}},
		{"poison, few hops, stops named", url.Values{"model": {"poison"}, "max_hops": {"6"}, "stop": {"exchange", "mixing_service"}}},
		{"fifo, dust and window", url.Values{"model": {"fifo"}, "min_value": {"10000"}, "since": {"1"}, "until": {"470"}}},
		{"backward", url.Values{"direction": {"backward"}, "max_hops": {"4"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := url.Values{"seed": seeds}
			body := map[string]any{"seeds": seeds}
			for k, v := range tc.query {
				q[k] = v
				if k == "stop" {
					body[k] = v
				} else {
					body[k] = v[0]
				}
			}
			if tc.query.Get("direction") == "backward" {
				// Backward from one deposit address, as an investigator would.
				dep := tr.Deposits[0].Address
				q["seed"], body["seeds"] = []string{dep}, []string{dep}
			}
			code, _, tb := do(t, s, "GET", "/v1/trace?"+q.Encode(), "", nil)
			if code != 200 {
				t.Fatalf("/v1/trace: %d %s", code, tb)
			}
			b, _ := json.Marshal(body)
			code, h, cb := do(t, s, "POST", "/v1/cases", "", bytes.NewReader(b))
			if code != http.StatusCreated {
				t.Fatalf("POST /v1/cases %s: %d %s", b, code, cb)
			}
			code, _, rb := do(t, s, "GET", h.Get("Location")+"/bundle", "", nil)
			if code != 200 {
				t.Fatalf("bundle: %d", code)
			}
			zr, err := zip.NewReader(bytes.NewReader(rb), int64(len(rb)))
			if err != nil {
				t.Fatal(err)
			}
			var caseRes, traceRes struct {
				Hits   []hit `json:"hits"`
				Params struct {
					Model     string `json:"model"`
					Direction string `json:"direction"`
					MaxHops   int    `json:"max_hops"`
				} `json:"params"`
			}
			f, err := zr.Open("result.json")
			if err != nil {
				t.Fatal(err)
			}
			if err := json.NewDecoder(f).Decode(&caseRes); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(tb, &traceRes); err != nil {
				t.Fatal(err)
			}
			if caseRes.Params != traceRes.Params {
				t.Errorf("parameters: case %+v, trace %+v", caseRes.Params, traceRes.Params)
			}
			if len(traceRes.Hits) == 0 && tc.query.Get("direction") != "backward" {
				t.Fatalf("no hits to compare")
			}
			if fmt.Sprint(caseRes.Hits) != fmt.Sprint(traceRes.Hits) {
				t.Errorf("hits differ:\ncase  %v\ntrace %v", caseRes.Hits, traceRes.Hits)
			}
		})
	}
	// The same refusal, by the same decoder.
	for _, bad := range []struct{ key, value string }{{"model", "magic"}, {"max_hops", "-1"}, {"stop", "casino-royale"}, {"colour", "red"}} {
		_, _, tb := do(t, s, "GET", "/v1/trace?seed="+seeds[0]+"&"+bad.key+"="+bad.value, "", nil)
		b, _ := json.Marshal(map[string]any{"seeds": seeds, bad.key: bad.value})
		code, _, cb := do(t, s, "POST", "/v1/cases", "", bytes.NewReader(b))
		var te, ce struct{ Error string }
		if err := json.Unmarshal(tb, &te); err != nil {
			t.Fatalf("%s=%s: trace answer %q: %v", bad.key, bad.value, tb, err)
		}
		if err := json.Unmarshal(cb, &ce); err != nil {
			t.Fatalf("%s=%s: case answer %q: %v", bad.key, bad.value, cb, err)
		}
		if code != http.StatusBadRequest || te.Error == "" || !strings.Contains(ce.Error, strings.TrimPrefix(te.Error, "bad trace specification: ")) {
			t.Errorf("%s=%s: case %d %q, trace %q", bad.key, bad.value, code, ce.Error, te.Error)
		}
	}
}
