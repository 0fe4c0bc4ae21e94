package api

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strings"

	"github.com/tracer-oss/tracer/store/address"
	"github.com/tracer-oss/tracer/tracer/screen"
)

//go:embed page.html
var pageHTML string

var pageTmpl = template.Must(template.New("page").Funcs(template.FuncMap{
	"btc":  func(sat int64) string { return fmt.Sprintf("%d.%08d", sat/1e8, sat%1e8) },
	"pct":  func(f float64) string { return fmt.Sprintf("%.2f%%", 100*f) },
	"join": func(s []string) string { return strings.Join(s, ", ") },
}).Parse(pageHTML))

type pageData struct {
	Status screen.Status
	Input  string
	Key    string
	Result *screen.Result
	Error  string
}

// page renders the screening page; ?address=ADDR screens on the server, so
// the page needs no JavaScript and loads nothing external.
func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	d := pageData{Status: s.cfg.Screener.Status(), Input: strings.TrimSpace(r.URL.Query().Get("address")), Key: r.URL.Query().Get("key")}
	code := http.StatusOK
	if d.Input != "" {
		res, err := s.screenOne(r, d.Input)
		switch {
		case errors.Is(err, address.ErrInvalid):
			code, d.Error = http.StatusBadRequest, err.Error()
		case err != nil:
			code, d.Error = http.StatusInternalServerError, "screening failed"
			s.cfg.Log.Error("api page", "err", err)
		default:
			d.Result = res
		}
	}
	var b bytes.Buffer
	if err := pageTmpl.Execute(&b, d); err != nil {
		writeError(w, http.StatusInternalServerError, "rendering the page failed")
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	w.Write(b.Bytes())
}
