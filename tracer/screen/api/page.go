package api

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"

	"github.com/tracer-oss/tracer/sanctions/address"
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
	Stale  string // View.Stale
	Input  string
	Login  bool // ask for the API key
	Result *screen.Result
	Error  string
}

// keyCookie holds the page's API key once signed in (POST /login): the key
// never appears in a URL, where logs and browser history would keep it.
const keyCookie = "tracer_key"

// page renders the screening page; ?address=ADDR screens on the server, so
// the page needs no JavaScript and loads nothing external.
func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	d := pageData{Status: screenerOf(r.Context()).Status(), Stale: viewOf(r.Context()).Stale, Input: strings.TrimSpace(r.URL.Query().Get("address"))}
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
	s.render(w, code, d)
}

// loginPage asks for the API key (the page's requests cannot carry a header).
func (s *Server) loginPage(w http.ResponseWriter, code int, wrong bool) {
	d := pageData{Login: true}
	if wrong {
		d.Error = "wrong API key"
	}
	s.render(w, code, d)
}

// login takes the API key from a form and keeps it in an HttpOnly,
// SameSite=Strict cookie (Secure over TLS); failures count against the
// client's failed-authentication limit.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if s.keys == nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	ip := clientIP(r)
	if ok, wait := s.authFail.peek(ip); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		writeError(w, http.StatusTooManyRequests, "too many failed authentications from this address")
		return
	}
	key := r.PostFormValue("key")
	if s.keys.match(key) == "" {
		s.authFail.allow(ip)
		s.loginPage(w, http.StatusUnauthorized, true)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: keyCookie, Value: key, Path: "/", HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (s *Server) render(w http.ResponseWriter, code int, d pageData) {
	var b bytes.Buffer
	if err := pageTmpl.Execute(&b, d); err != nil {
		writeError(w, http.StatusInternalServerError, "rendering the page failed")
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
	w.WriteHeader(code)
	w.Write(b.Bytes())
}
