package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/chaingen"
	"github.com/tracer-oss/tracer/tracer/screen"
	"github.com/tracer-oss/tracer/tracer/screen/api"
	"github.com/tracer-oss/tracer/tracer/screen/screentest"
	"github.com/tracer-oss/tracer/tracer/spec"
)

type fixture struct {
	st    *store.Store
	scr   *screen.Screener
	truth *chaingen.Truth
}

var (
	fixOnce sync.Once
	fix     fixture
	fixErr  error
)

// loadFixture builds a screened scam-centre store once per test binary and
// opens it read-only, as tracer serve does.
func loadFixture(t testing.TB) *fixture {
	t.Helper()
	fixOnce.Do(func() {
		dir, err := os.MkdirTemp("", "tracer-api-")
		if err != nil {
			fixErr = err
			return
		}
		db, err := screentest.Build(context.Background(), dir, 3000, 7, screen.Options{Params: screentest.Params})
		if err != nil {
			fixErr = err
			return
		}
		if fix.truth, fixErr = chaingen.ReadTruth(filepath.Join(dir, "chain", "truth.json")); fixErr != nil {
			return
		}
		if fix.st, fixErr = store.Open(db, store.Options{ReadOnly: true}); fixErr != nil {
			return
		}
		fix.scr, fixErr = screen.New(fix.st, screen.Options{Params: screentest.Params})
	})
	if fixErr != nil {
		t.Fatal(fixErr)
	}
	return &fix
}

func newServer(t testing.TB, cfg api.Config) (*api.Server, *fixture) {
	t.Helper()
	f := loadFixture(t)
	cfg.Screener, cfg.Tracer = f.scr, spec.NewRunner(f.st, f.scr.Sources().Params, nil)
	s, err := api.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s, f
}

func do(t *testing.T, h http.Handler, method, path, key string, body io.Reader) (int, http.Header, []byte) {
	t.Helper()
	req := httptest.NewRequest(method, path, body)
	if key != "" {
		req.Header.Set("X-API-Key", key)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w.Code, w.Header(), w.Body.Bytes()
}

// exposedDeposit returns a deposit address with sanctioned exposure.
func exposedDeposit(f *fixture) string {
	for _, d := range f.truth.Deposits {
		if d.Taint.Haircut > 0 {
			return d.Address
		}
	}
	return ""
}

func TestAuth(t *testing.T) {
	const key = "0123456789abcdef-secret"
	s, f := newServer(t, api.Config{Keys: []api.Key{{Name: "ops", Secret: key}}})
	addr := "/v1/address/" + f.truth.Seeds[0].Address
	tests := []struct {
		name, path, key string
		want            int
	}{
		{"missing key", addr, "", 401},
		{"wrong key", addr, "0123456789abcdef-secreT", 401},
		{"short wrong key", addr, "x", 401},
		{"right key", addr, key, 200},
		{"status needs a key", "/v1/status", "", 401},
		{"metrics need a key", "/metrics", "", 401},
		{"chainalysis needs a key", "/api/v1/address/" + f.truth.Seeds[0].Address, "", 401},
		{"healthz is open", "/healthz", "", 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, body := do(t, s, "GET", tc.path, tc.key, nil)
			if code != tc.want {
				t.Fatalf("%d, want %d: %s", code, tc.want, body)
			}
			if code == 401 {
				var e struct{ Error string }
				if json.Unmarshal(body, &e) != nil || e.Error == "" {
					t.Errorf("401 without a JSON error: %s", body)
				}
			}
		})
	}
	// A key in a URL is refused on every route, right or wrong.
	for _, p := range []string{"/?key=" + key, addr + "?key=" + key, "/v1/status?key=x"} {
		if code, _, body := do(t, s, "GET", p, "", nil); code != 400 || !strings.Contains(string(body), "X-API-Key") {
			t.Errorf("%s: %d %s, want 400 saying how to send the key", p, code, body)
		}
	}
	// The page asks for the key, signs in with a form and keeps the key in
	// a cookie.
	code, _, body := do(t, s, "GET", "/", "", nil)
	if code != 401 || !strings.Contains(string(body), `action="/login"`) || !strings.Contains(string(body), `type="password"`) {
		t.Fatalf("page without a key: %d %s", code, body)
	}
	login := func(k string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", "/login", strings.NewReader("key="+k))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		return w
	}
	if w := login("wrong-key-0123456789"); w.Code != 401 || len(w.Result().Cookies()) != 0 {
		t.Fatalf("login with a wrong key: %d %v", w.Code, w.Result().Cookies())
	}
	w := login(key)
	cookies := w.Result().Cookies()
	if w.Code != 303 || len(cookies) != 1 || !cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteStrictMode {
		t.Fatalf("login: %d %+v", w.Code, cookies)
	}
	req := httptest.NewRequest("GET", "/?address="+f.truth.Seeds[0].Address, nil)
	req.AddCookie(cookies[0])
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	if rec.Code != 200 || strings.Contains(rec.Body.String(), key) {
		t.Fatalf("page with the cookie: %d (the key must not be echoed)", rec.Code)
	}
	// A wrong cookie is a failed authentication like a wrong header.
	req = httptest.NewRequest("GET", addr, nil)
	req.AddCookie(&http.Cookie{Name: cookies[0].Name, Value: "wrong-0123456789abc"})
	rec = httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	if rec.Code != 401 {
		t.Errorf("API with a wrong cookie: %d", rec.Code)
	}
}

// TestAuthFailLimit: failed authentications are rate-limited per client
// IP (401s were not): after the burst, 429 with Retry-After, even for the
// right key, until the bucket refills; other IPs are not affected.
func TestAuthFailLimit(t *testing.T) {
	const key = "0123456789abcdef-secret"
	now := time.Unix(1_700_000_000, 0)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s, f := newServer(t, api.Config{Keys: []api.Key{{Name: "ops", Secret: key}}, AuthFailRate: 1, AuthFailBurst: 5, Now: clock})
	addr := "/v1/address/" + f.truth.Seeds[0].Address
	get := func(ip, k string) (int, http.Header) {
		req := httptest.NewRequest("GET", addr, nil)
		req.RemoteAddr = ip + ":5555"
		if k != "" {
			req.Header.Set("X-API-Key", k)
		}
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		return w.Code, w.Header()
	}
	for i := 0; i < 5; i++ {
		if code, _ := get("198.51.100.7", "guess-"+strings.Repeat("x", i+16)); code != 401 {
			t.Fatalf("guess %d: %d, want 401", i, code)
		}
	}
	code, h := get("198.51.100.7", "guess-again-0123456789")
	if code != 429 || h.Get("Retry-After") == "" {
		t.Fatalf("guess after the burst: %d (Retry-After %q), want 429", code, h.Get("Retry-After"))
	}
	if code, _ := get("198.51.100.7", key); code != 429 {
		t.Errorf("right key from a locked-out IP: %d, want 429", code)
	}
	if code, _ := get("198.51.100.8", key); code != 200 {
		t.Errorf("right key from another IP: %d", code)
	}
	mu.Lock()
	now = now.Add(2 * time.Second)
	mu.Unlock()
	if code, _ := get("198.51.100.7", key); code != 200 {
		t.Errorf("right key after the bucket refilled: %d", code)
	}
}

func TestRateLimit(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s, f := newServer(t, api.Config{Rate: 1, Burst: 3, Now: clock})
	path := "/v1/address/" + f.truth.Seeds[0].Address
	for i := 0; i < 3; i++ {
		if code, _, body := do(t, s, "GET", path, "", nil); code != 200 {
			t.Fatalf("request %d within the burst: %d %s", i, code, body)
		}
	}
	code, hdr, body := do(t, s, "GET", path, "", nil)
	if code != 429 || hdr.Get("Retry-After") == "" || !strings.Contains(string(body), "rate limit") {
		t.Fatalf("over the burst: %d %v %s", code, hdr, body)
	}
	mu.Lock()
	now = now.Add(1100 * time.Millisecond)
	mu.Unlock()
	if code, _, _ := do(t, s, "GET", path, "", nil); code != 200 {
		t.Fatalf("after a second: %d", code)
	}
}

func TestBadInput(t *testing.T) {
	s, _ := newServer(t, api.Config{MaxBatch: 5})
	tests := []struct {
		name, method, path, body string
		want                     int
	}{
		{"garbage address", "GET", "/v1/address/notanaddress", "", 400},
		{"mainnet address on regtest", "GET", "/v1/address/1BoatSLRHtKNngkdXEeobR76b53LETtpyT", "", 400},
		{"chainalysis garbage", "GET", "/api/v1/address/zzz", "", 400},
		{"bad json", "POST", "/v1/screen", "{", 400},
		{"unknown field", "POST", "/v1/screen", `{"addrs":["x"]}`, 400},
		{"empty batch", "POST", "/v1/screen", `{"addresses":[]}`, 400},
		{"too many", "POST", "/v1/screen", `{"addresses":["a","b","c","d","e","f"]}`, 400},
		{"trace without seed", "GET", "/v1/trace", "", 400},
		{"trace bad seed", "GET", "/v1/trace?seed=nope", "", 400},
		{"trace bad model", "GET", "/v1/trace?seed=bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080&model=x", "", 400},
		{"trace bad hops", "GET", "/v1/trace?seed=bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080&max_hops=-1", "", 400},
		{"no route", "GET", "/v2/nothing", "", 404},
		{"wrong method", "DELETE", "/v1/status", "", 405},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, hdr, body := do(t, s, tc.method, tc.path, "", strings.NewReader(tc.body))
			if code != tc.want {
				t.Fatalf("%d, want %d: %s", code, tc.want, body)
			}
			{
				var e struct {
					Error string
					Code  int
				}
				if err := json.Unmarshal(body, &e); err != nil || e.Error == "" || e.Code != code || !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") {
					t.Errorf("not a JSON error: %v %q", err, body)
				}
			}
		})
	}
}

func TestOversizedBody(t *testing.T) {
	s, _ := newServer(t, api.Config{MaxBody: 1024})
	body := `{"addresses":["` + strings.Repeat("a", 4096) + `"]}`
	code, _, resp := do(t, s, "POST", "/v1/screen", "", strings.NewReader(body))
	if code != 413 || !strings.Contains(string(resp), "larger than 1024") {
		t.Fatalf("%d %s", code, resp)
	}
}

func TestBatchAndAddress(t *testing.T) {
	s, f := newServer(t, api.Config{})
	seed, dep := f.truth.Seeds[0].Address, exposedDeposit(f)
	body, _ := json.Marshal(api.BatchRequest{Addresses: []string{seed, "bad address", dep}})
	code, _, resp := do(t, s, "POST", "/v1/screen", "", strings.NewReader(string(body)))
	if code != 200 {
		t.Fatalf("%d %s", code, resp)
	}
	var br struct {
		Results []struct {
			Input, Error, Risk, Method string
			Exposures                  []screen.Exposure
		}
	}
	if err := json.Unmarshal(resp, &br); err != nil || len(br.Results) != 3 {
		t.Fatalf("%v %s", err, resp)
	}
	if r := br.Results[0]; r.Risk != screen.RiskSanctioned || r.Error != "" {
		t.Errorf("seed: %+v", r)
	}
	if r := br.Results[1]; r.Error == "" || r.Input != "bad address" {
		t.Errorf("bad line: %+v", r)
	}
	if r := br.Results[2]; r.Risk != screen.RiskExposed || r.Method != screen.MethodIndex || len(r.Exposures) == 0 || len(r.Exposures[0].Sources[0].Path) == 0 {
		t.Errorf("deposit: %+v", r)
	}
	code, _, resp = do(t, s, "GET", "/v1/address/"+dep, "", nil)
	var one screen.Result
	if code != 200 || json.Unmarshal(resp, &one) != nil || one.Sanctioned().Amount <= 0 {
		t.Fatalf("address: %d %s", code, resp)
	}
	code, _, resp = do(t, s, "GET", "/v1/status", "", nil)
	var st screen.Status
	if code != 200 || json.Unmarshal(resp, &st) != nil || st.ListVersion != 1 || st.Index == nil || len(st.Index.Stale) != 0 || len(st.TagPacks) != 1 {
		t.Fatalf("status: %d %s", code, resp)
	}
	code, _, resp = do(t, s, "GET", "/v1/trace?seed="+seed+"&max_txs=500", "", nil)
	var tr struct {
		Params struct {
			MaxTxs int `json:"max_txs"`
		}
		Seeds []any
		Edges []any
	}
	if code != 200 || json.Unmarshal(resp, &tr) != nil || tr.Params.MaxTxs != 500 || len(tr.Edges) == 0 {
		t.Fatalf("trace: %d %.300s", code, resp)
	}
	code, _, resp = do(t, s, "GET", "/metrics", "", nil)
	for _, want := range []string{`tracer_http_requests_total{route="GET /v1/address/{addr}",code="200"} 1`,
		`tracer_http_request_duration_seconds_bucket{route="POST /v1/screen",le="+Inf"} 1`, "# TYPE tracer_http_request_duration_seconds histogram"} {
		if code != 200 || !strings.Contains(string(resp), want) {
			t.Errorf("metrics lack %q:\n%s", want, resp)
		}
	}
}

// TestChainalysisShape: the sanctions route answers like Chainalysis's
// free API: a listed address has one identification per designation, an
// unlisted one an empty list (not null); beside it, the tip and list
// version answered from (extra keys a Chainalysis client ignores).
func TestChainalysisShape(t *testing.T) {
	s, f := newServer(t, api.Config{})
	code, _, resp := do(t, s, "GET", "/api/v1/address/"+f.truth.Seeds[0].Address, "", nil)
	var got struct {
		Identifications []map[string]string `json:"identifications"`
		api.AsOf
	}
	status := f.scr.Status()
	want := api.AsOf{TipHeight: status.TipHeight, TipHash: status.TipHash, ListVersion: status.ListVersion}
	if code != 200 || json.Unmarshal(resp, &got) != nil || got.AsOf != want || want.TipHash == "" || want.ListVersion == 0 {
		t.Fatalf("%d %s; want %+v", code, resp, want)
	}
	ids := got.Identifications
	if len(ids) == 0 || ids[0]["category"] != "sanctions" || !strings.Contains(ids[0]["name"], strings.Split(f.truth.Seeds[0].Entity, ",")[0]) ||
		ids[0]["description"] == "" || !strings.HasPrefix(ids[0]["url"], "https://") || len(ids[0]) != 4 {
		t.Fatalf("identifications: %s", resp)
	}
	code, _, resp = do(t, s, "GET", "/api/v1/address/"+exposedDeposit(f), "", nil)
	if code != 200 || !strings.HasPrefix(string(resp), `{"identifications":[],"list_version":`) {
		t.Fatalf("unlisted: %d %s", code, resp)
	}
}

// TestSlowClient: a client that sends half a request and stalls is cut off
// by the server's read timeout.
func TestSlowClient(t *testing.T) {
	s, _ := newServer(t, api.Config{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := s.HTTPServer(ln.Addr().String(), 300*time.Millisecond)
	go func() { _ = srv.Serve(ln) }() // ErrServerClosed when the test closes it
	defer srv.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n"); err != nil {
		t.Fatal(err)
	}
	if err := c.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(bufio.NewReader(c))
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("the server kept a stalled connection open for 5s")
	}
	if el := time.Since(start); el > 3*time.Second || el < 250*time.Millisecond {
		t.Fatalf("closed after %s, want about the 300ms read timeout", el)
	}
	// A complete request on a new connection still works.
	resp, err := http.Get("http://" + ln.Addr().String() + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v", err)
	}
	resp.Body.Close()
}

func TestCheckBind(t *testing.T) {
	tests := []struct {
		addr string
		keys int
		ok   bool
	}{
		{"127.0.0.1:8080", 0, true}, {"[::1]:8080", 0, true}, {"localhost:8080", 0, true},
		{"0.0.0.0:8080", 0, false}, {":8080", 0, false}, {"10.1.2.3:80", 0, false}, {"0.0.0.0:8080", 1, true},
	}
	for _, tc := range tests {
		err := api.CheckBind(tc.addr, tc.keys)
		if (err == nil) != tc.ok || err != nil && !errors.Is(err, api.ErrNoKeys) {
			t.Errorf("%s with %d keys: %v", tc.addr, tc.keys, err)
		}
	}
}

func TestLoadKeys(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "keys")
	if err := os.WriteFile(good, []byte("# comment\n\nops 0123456789abcdef0123\nabcdefabcdefabcdef99\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	keys, err := api.LoadKeys(good)
	if err != nil || len(keys) != 2 || keys[0].Name != "ops" || keys[1].Name != "key2" {
		t.Fatalf("%v %+v", err, keys)
	}
	for name, body := range map[string]string{"empty": "# none\n", "short": "abc\n", "three fields": "a b c\n"} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := api.LoadKeys(p); !errors.Is(err, api.ErrBadKeys) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestPage(t *testing.T) {
	s, f := newServer(t, api.Config{})
	code, hdr, body := do(t, s, "GET", "/?address="+f.truth.Seeds[0].Address, "", nil)
	if code != 200 || !strings.Contains(string(body), "SANCTIONED") || !strings.Contains(string(body), "Risk level <strong>severe</strong> · rule <code>listed</code>") || !strings.Contains(hdr.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Fatalf("%d %s", code, body)
	}
	for _, ext := range []string{"http://", "https://", "<script", "src="} {
		if strings.Contains(string(body), ext) {
			t.Errorf("page loads or runs something external: %q", ext)
		}
	}
	code, _, body = do(t, s, "GET", "/?address=%3Cscript%3E", "", nil)
	if code != 400 || strings.Contains(string(body), "<script>") {
		t.Fatalf("bad address on the page: %d", code)
	}
}

// TestStaleBatchInTime: a batch on a stale exposure index answers within
// the handler timeout — fresh walks while its time lasts, the rest from
// the previous index, marked — instead of 503 after the timeout.
func TestStaleBatchInTime(t *testing.T) {
	f := loadFixture(t)
	staleScr, err := screen.New(f.st, screen.Options{Params: screentest.Params, MaxHops: 7})
	if err != nil {
		t.Fatal(err)
	}
	if staleScr.IndexUsable() {
		t.Fatal("index not stale")
	}
	// Fresh walks on this small chain take a fraction of a millisecond
	// each: the timeout is short enough that 1,000 of them never all fit
	// (on a fast machine 300 ms did), so the rest come from the previous
	// index, whose point reads fit in the margin allowed below.
	const timeout = 40 * time.Millisecond
	s, err := api.New(api.Config{Screener: staleScr, Tracer: spec.NewRunner(f.st, f.scr.Sources().Params, nil), HandlerTimeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	var addrs []string
	for len(addrs) < 1000 {
		for _, d := range f.truth.Deposits {
			addrs = append(addrs, d.Address)
		}
	}
	body, _ := json.Marshal(api.BatchRequest{Addresses: addrs[:1000]})
	start := time.Now()
	code, _, b := do(t, s, "POST", "/v1/screen", "", strings.NewReader(string(body)))
	took := time.Since(start)
	if code != 200 {
		t.Fatalf("%d after %s: %.300s", code, took, b)
	}
	if took > timeout+400*time.Millisecond {
		t.Errorf("took %s, the handler timeout is %s", took, timeout)
	}
	var r api.BatchResponse
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	if len(r.Results) != 1000 || r.Unanswered != 0 || r.FromStale == 0 {
		t.Fatalf("%d results, %d from the stale index, %d unanswered", len(r.Results), r.FromStale, r.Unanswered)
	}
	marked := 0
	for _, it := range r.Results {
		if it.Result != nil && it.Method == screen.MethodIndex {
			if !strings.Contains(it.Note, "previous exposure index") {
				t.Fatalf("an answer from the stale index is not marked: %+v", it.Result)
			}
			marked++
		}
	}
	if marked != r.FromStale {
		t.Errorf("%d marked, %d counted", marked, r.FromStale)
	}
	t.Logf("%d of 1000 answered from the previous index in %s", r.FromStale, took)
}
