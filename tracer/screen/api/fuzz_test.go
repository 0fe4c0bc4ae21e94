package api_test

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/tracer-oss/tracer/tracer/screen/api"
)

// FuzzHandler sends arbitrary paths and bodies: the API never panics and
// never answers 5xx for bad input.
func FuzzHandler(f *testing.F) {
	s, fx := newServer(f, api.Config{MaxBatch: 20, TraceMaxTxs: 200})
	f.Add("GET", "/v1/address/"+fx.truth.Seeds[0].Address, "")
	f.Add("POST", "/v1/screen", `{"addresses":["`+fx.truth.Seeds[0].Address+`","x"]}`)
	f.Add("GET", "/v1/trace?seed="+fx.truth.Seeds[0].Address+"&max_hops=3", "")
	f.Add("GET", "/api/v1/address/%00", "")
	f.Add("GET", "/?address=%ff%fe", "")
	f.Fuzz(func(t *testing.T, method, path, body string) {
		if method != "GET" && method != "POST" {
			method = "GET"
		}
		if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, " \r\n\t#") {
			return
		}
		if _, err := url.ParseRequestURI(path); err != nil {
			return // the server's request parser would refuse it before the handler
		}
		req := httptest.NewRequest(method, "http://x"+path, strings.NewReader(body))
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		if w.Code >= 500 {
			t.Fatalf("%s %q: %d %s", method, path, w.Code, w.Body.String())
		}
	})
}
