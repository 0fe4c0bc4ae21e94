package api

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/tracer"
	"github.com/tracer-oss/tracer/tracer/cases"
	"github.com/tracer-oss/tracer/tracer/graphview"
)

//go:embed case.html
var caseHTML string

var caseTmpl = template.Must(template.New("case").Parse(caseHTML))

func (s *Server) caseRoutes() {
	s.handle("POST /v1/cases", true, s.casesOnly(s.createCase))
	s.handle("GET /v1/cases", true, s.casesOnly(s.listCases))
	s.handle("GET /v1/cases/{id}", true, s.casesOnly(s.getCase))
	s.handle("GET /v1/cases/{id}/graph", true, s.casesOnly(s.caseGraph))
	s.handle("GET /v1/cases/{id}/log", true, s.casesOnly(s.caseLog))
	s.handle("PUT /v1/cases/{id}/notes/{node}", true, s.casesOnly(s.putNote))
	s.handle("PUT /v1/cases/{id}/hidden/{node}", true, s.casesOnly(s.putHidden))
	s.handle("POST /v1/cases/{id}/rerun", true, s.casesOnly(s.rerunCase))
	s.handle("GET /v1/cases/{id}/bundle", true, s.casesOnly(s.caseBundle))
	s.handle("GET /case", true, s.casesOnly(s.casePage))
}

// cases is the case workspace a request works on: its view's, else the
// configured one.
func (s *Server) cases(r *http.Request) *cases.Service {
	if c := viewOf(r.Context()).Cases; c != nil {
		return c
	}
	return s.cfg.Cases
}

func (s *Server) casesOnly(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.cases(r) == nil {
			writeError(w, http.StatusNotImplemented, "cases are not configured")
			return
		}
		writes := r.Method != http.MethodGet || r.URL.Query().Get("expand") != ""
		if writes && s.cfg.CasesReadOnly {
			writeError(w, http.StatusServiceUnavailable, "the store is open read-only (another process writes it): cases cannot be changed")
			return
		}
		h(w, r)
	}
}

// caseRequest decodes the body of POST /v1/cases and POST
// /v1/cases/{id}/rerun: {"seeds": [...], "title": "..."} and the trace
// parameters of /v1/trace by the same names (direction, model, max_hops,
// min_value, since, until, max_txs, wide, stop, cluster, label_all_tags,
// fees_tainted), decoded by spec's decoder with its defaults.
func (s *Server) caseRequest(w http.ResponseWriter, r *http.Request, want string) (seeds []string, title string, p cases.Params, ok bool) {
	var fields map[string]json.RawMessage
	if !s.decode(w, r, &fields, want) {
		return nil, "", p, false
	}
	for name, dst := range map[string]any{"seeds": &seeds, "title": &title} {
		if raw, ok := fields[name]; ok {
			if err := json.Unmarshal(raw, dst); err != nil {
				writeError(w, http.StatusBadRequest, fmt.Sprintf("bad JSON body: %q: %v", name, err))
				return nil, "", p, false
			}
			delete(fields, name)
		}
	}
	p, err := cases.DecodeParams(fields)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return nil, "", p, false
	}
	p.MaxTxs = min(p.MaxTxs, s.cfg.TraceMaxTxs)
	p.MaxHops = min(p.MaxHops, s.cfg.TraceMaxHops)
	return seeds, title, p, true
}

func (s *Server) decode(w http.ResponseWriter, r *http.Request, v any, want string) bool {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", mb.Limit))
			return false
		}
		writeError(w, http.StatusBadRequest, "bad JSON body: want "+want+": "+err.Error())
		return false
	}
	return true
}

// caseFail maps a cases or trace error to a status code.
func (s *Server) caseFail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, cases.ErrNotFound):
		writeError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, cases.ErrBadInput), errors.Is(err, tracer.ErrBadParams):
		writeError(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, tracer.ErrNoSeeds):
		writeError(w, http.StatusNotFound, "no seed received anything in the store's blocks")
	case errors.Is(err, cases.ErrLabels):
		s.cfg.Log.Error("api: case trace", "path", r.URL.Path, "err", err)
		writeError(w, http.StatusInternalServerError, err.Error())
	case errors.Is(err, store.ErrReadOnly):
		writeError(w, http.StatusServiceUnavailable, "the store is open read-only: cases cannot be changed")
	default:
		s.fail(w, r, err)
	}
}

func (s *Server) createCase(w http.ResponseWriter, r *http.Request) {
	seeds, title, p, ok := s.caseRequest(w, r, `{"seeds": ["ADDR", ...], "direction": "forward", "model": "haircut", ...}`)
	if !ok {
		return
	}
	if len(seeds) == 0 || len(seeds) > s.cfg.TraceMaxSeeds {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("give 1 to %d seed addresses in \"seeds\"", s.cfg.TraceMaxSeeds))
		return
	}
	c, err := s.cases(r).Create(r.Context(), clientOf(r), title, seeds, p)
	if err != nil {
		s.caseFail(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/cases/"+strconv.FormatUint(c.ID, 10))
	writeJSON(w, http.StatusCreated, c)
}

func (s *Server) listCases(w http.ResponseWriter, r *http.Request) {
	cs, err := s.cases(r).List()
	if err != nil {
		s.caseFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"cases": cs})
}

func caseID(w http.ResponseWriter, r *http.Request) (uint64, bool) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil || id == 0 {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("bad case id %q: want a positive number", r.PathValue("id")))
		return 0, false
	}
	return id, true
}

func (s *Server) getCase(w http.ResponseWriter, r *http.Request) {
	id, ok := caseID(w, r)
	if !ok {
		return
	}
	c, err := s.cases(r).Get(id)
	if err != nil {
		s.caseFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (s *Server) caseLog(w http.ResponseWriter, r *http.Request) {
	id, ok := caseID(w, r)
	if !ok {
		return
	}
	l, err := s.cases(r).Log(id)
	if err != nil {
		s.caseFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"log": l})
}

func (s *Server) caseGraph(w http.ResponseWriter, r *http.Request) {
	id, ok := caseID(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	var (
		g   *graphview.Graph
		err error
	)
	if node := q.Get("expand"); node != "" {
		g, err = s.cases(r).Expand(r.Context(), id, clientOf(r), node, q.Get("direction"))
	} else {
		g, err = s.cases(r).View(r.Context(), id)
	}
	if err != nil {
		s.caseFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, g)
}

// NoteRequest is the body of PUT /v1/cases/{id}/notes/{node}.
type NoteRequest struct {
	Text string `json:"text"`
}

func (s *Server) putNote(w http.ResponseWriter, r *http.Request) {
	id, ok := caseID(w, r)
	if !ok {
		return
	}
	var req NoteRequest
	if strings.HasPrefix(r.Header.Get("Content-Type"), "text/plain") {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			writeError(w, http.StatusRequestEntityTooLarge, "note too large")
			return
		}
		req.Text = string(b)
	} else if !s.decode(w, r, &req, `{"text": "..."}`) {
		return
	}
	c, err := s.cases(r).SetNote(id, clientOf(r), r.PathValue("node"), req.Text)
	if err != nil {
		s.caseFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

// HiddenRequest is the body of PUT /v1/cases/{id}/hidden/{node}.
type HiddenRequest struct {
	Hidden bool `json:"hidden"`
}

func (s *Server) putHidden(w http.ResponseWriter, r *http.Request) {
	id, ok := caseID(w, r)
	if !ok {
		return
	}
	var req HiddenRequest
	if !s.decode(w, r, &req, `{"hidden": true}`) {
		return
	}
	c, err := s.cases(r).SetHidden(r.Context(), id, clientOf(r), r.PathValue("node"), req.Hidden)
	if err != nil {
		s.caseFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (s *Server) rerunCase(w http.ResponseWriter, r *http.Request) {
	id, ok := caseID(w, r)
	if !ok {
		return
	}
	_, _, p, ok := s.caseRequest(w, r, `{"direction": "forward", "model": "haircut", "max_hops": 20, ...}`)
	if !ok {
		return
	}
	c, err := s.cases(r).Rerun(r.Context(), id, clientOf(r), p)
	if err != nil {
		s.caseFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (s *Server) caseBundle(w http.ResponseWriter, r *http.Request) {
	id, ok := caseID(w, r)
	if !ok {
		return
	}
	var b bytes.Buffer
	if err := s.cases(r).Bundle(r.Context(), id, &b); err != nil {
		s.caseFail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="case-%d.zip"`, id))
	w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
	w.Write(b.Bytes())
}

type casePageData struct {
	ID        uint64
	Key       string
	ViewerJS  template.JS
	ViewerCSS template.CSS
	Case      *cases.Case
	Error     string
}

// casePage serves /case?id=ID: the viewer, which loads the case's graph
// from /v1/cases/ID/graph. Without an id it lists the cases.
func (s *Server) casePage(w http.ResponseWriter, r *http.Request) {
	d := casePageData{Key: r.URL.Query().Get("key"), ViewerJS: graphview.Script(), ViewerCSS: graphview.Style()}
	code := http.StatusOK
	if v := r.URL.Query().Get("id"); v != "" {
		id, err := strconv.ParseUint(v, 10, 64)
		if err == nil {
			d.ID = id
			d.Case, err = s.cases(r).Get(id)
		}
		if err != nil {
			code, d.Error = http.StatusNotFound, fmt.Sprintf("no case %q", v)
			d.ID = 0
		}
	}
	var b bytes.Buffer
	if err := caseTmpl.Execute(&b, d); err != nil {
		writeError(w, http.StatusInternalServerError, "rendering the page failed")
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; connect-src 'self'")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	w.Write(b.Bytes())
}
