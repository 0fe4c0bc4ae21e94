package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tracer-oss/tracer/sanctions/address"
	"github.com/tracer-oss/tracer/tracer"
	"github.com/tracer-oss/tracer/tracer/cases"
	"github.com/tracer-oss/tracer/tracer/screen"
	"github.com/tracer-oss/tracer/tracer/screen/audit"
	"github.com/tracer-oss/tracer/tracer/spec"
)

// Config configures a Server. Zero values are the defaults.
type Config struct {
	Screener *screen.Screener // required
	Tracer   *spec.Runner     // required for /v1/trace: runs its trace specifications
	Keys     []Key            // with keys, every route but /healthz needs one
	Rate     float64          // requests a second per key or IP; 0: unlimited
	Burst    int              // bucket size; 0: 2×Rate, at least 1
	MaxBody  int64            // request body bytes; 0: 1 MiB
	MaxBatch int              // addresses per POST /v1/screen; 0: 1,000
	// HandlerTimeout bounds a request's work (fresh walks, traces); 0: 30s.
	HandlerTimeout time.Duration
	TraceMaxTxs    int // cap of max_txs for /v1/trace; 0: 100,000
	TraceMaxHops   int // cap of max_hops for /v1/trace; 0: 100
	// MaxResponse bounds a response's bytes (a larger one is answered 507
	// asking for less); 0: 16 MiB.
	MaxResponse int64
	// Heavy is how many heavy requests run at once: traces, and screens
	// that walk fresh (no usable exposure index); 0: 2. HeavyQueue more
	// wait for a slot, at most QueueWait (0: 10s) and never past the
	// handler timeout; the rest are answered 503 with Retry-After.
	Heavy      int
	HeavyQueue int // 0: 8
	QueueWait  time.Duration
	// AuthFailRate and AuthFailBurst bound failed authentications a second
	// per client IP (a token bucket; 0: 1 a second, burst 10); beyond, the
	// IP gets 429 with Retry-After, whatever key it sends.
	AuthFailRate  float64
	AuthFailBurst int
	TraceMaxSeeds int // seed addresses a /v1/trace may give; 0: 100
	// Cases, if set, serves the case workspace: /v1/cases and the /case page.
	Cases *cases.Service
	// CasesReadOnly: the store is open read-only, so cases can be read but
	// not created or changed.
	CasesReadOnly bool
	Log           *slog.Logger
	Now           func() time.Time // for tests of the rate limit
	// Audit, if set, records every screened input (with the API key's name,
	// or the client IP without keys) before the answer is sent; a screen
	// that cannot be recorded answers 500.
	Audit *audit.Log
	// Views, if set, gives each request the data it answers from (a live
	// server's snapshot of the store at one tip, see View); Screener and
	// Tracer are then unused. The request calls the release function when
	// it ends.
	Views func() (View, func())
	// Admin, if set, serves the admin routes (/v1/admin/...) to holders of
	// AdminKeys (never to API keys); without AdminKeys they are refused.
	Admin     Admin
	AdminKeys []Key
	// Metrics, if set, writes more metrics after the server's own on
	// /metrics (a live server's follower); Health, if set, makes /healthz
	// answer 503 with its error.
	Metrics func(io.Writer)
	Health  func() error
}

// Server is the API's handler.
type Server struct {
	cfg      Config
	keys     *keyring
	limit    *limiter
	authFail *limiter // failed authentications per client IP
	gate     *heavyGate
	metrics  *metrics
	mux      *http.ServeMux
	admins   *keyring
}

// New builds the handler.
func New(cfg Config) (*Server, error) {
	if cfg.Screener == nil && cfg.Views == nil {
		return nil, errors.New("api: no screener")
	}
	cfg.defaults()
	burst := float64(cfg.Burst)
	if burst <= 0 {
		burst = max(1, 2*cfg.Rate)
	}
	s := &Server{cfg: cfg, metrics: newMetrics(), mux: http.NewServeMux(),
		limit:    &limiter{rate: cfg.Rate, burst: burst, now: cfg.Now, b: map[string]*bucket{}},
		authFail: &limiter{rate: cfg.AuthFailRate, burst: float64(cfg.AuthFailBurst), now: cfg.Now, b: map[string]*bucket{}},
		gate:     newHeavyGate(cfg.Heavy, cfg.HeavyQueue)}
	if len(cfg.Keys) > 0 {
		s.keys = newKeyring(cfg.Keys)
	}
	if len(cfg.AdminKeys) > 0 {
		s.admins = newKeyring(cfg.AdminKeys)
	}
	s.routes()
	return s, nil
}

// defaults sets every limit and hook left zero.
func (cfg *Config) defaults() {
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 1 << 20
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 1000
	}
	if cfg.HandlerTimeout <= 0 {
		cfg.HandlerTimeout = 30 * time.Second
	}
	if cfg.TraceMaxTxs <= 0 {
		cfg.TraceMaxTxs = 100_000
	}
	if cfg.TraceMaxHops <= 0 {
		cfg.TraceMaxHops = 100
	}
	if cfg.MaxResponse <= 0 {
		cfg.MaxResponse = 16 << 20
	}
	if cfg.Heavy <= 0 {
		cfg.Heavy = 2
	}
	if cfg.HeavyQueue <= 0 {
		cfg.HeavyQueue = 8
	}
	if cfg.QueueWait <= 0 {
		cfg.QueueWait = 10 * time.Second
	}
	if cfg.AuthFailRate <= 0 {
		cfg.AuthFailRate = 1
	}
	if cfg.AuthFailBurst <= 0 {
		cfg.AuthFailBurst = 10
	}
	if cfg.TraceMaxSeeds <= 0 {
		cfg.TraceMaxSeeds = 100
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
}

// routes registers every route, and answers 405 or 404 for the rest.
func (s *Server) routes() {
	cfg := s.cfg
	s.handle("GET /healthz", false, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if cfg.Health != nil {
			if err := cfg.Health(); err != nil {
				http.Error(w, err.Error(), http.StatusServiceUnavailable)
				return
			}
		}
		fmt.Fprintln(w, "ok")
	})
	s.handle("GET /metrics", true, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		s.metrics.write(w)
		if cfg.Metrics != nil {
			cfg.Metrics(w)
		}
	})
	s.handle("GET /v1/status", true, s.status)
	s.handle("GET /v1/address/{addr}", true, s.address)
	s.handle("POST /v1/screen", true, s.batch)
	s.handle("GET /v1/trace", true, s.trace)
	s.handle("GET /api/v1/address/{addr}", true, s.chainalysis)
	s.handle("GET /{$}", true, s.page)
	s.handle("POST /login", false, s.login)
	s.caseRoutes()
	s.adminRoutes()
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rw := &statusWriter{ResponseWriter: w, code: 200}
		for _, m := range []string{"GET", "POST"} {
			r2 := r.Clone(r.Context())
			r2.Method = m
			if _, p := s.mux.Handler(r2); p != "/" && p != "" {
				rw.Header().Set("Allow", m)
				writeError(rw, http.StatusMethodNotAllowed, r.Method+" not allowed on "+r.URL.Path)
				s.metrics.route("other").observe(rw.code, time.Since(start))
				return
			}
		}
		writeError(rw, http.StatusNotFound, "no such route: "+r.Method+" "+r.URL.Path)
		s.metrics.route("other").observe(rw.code, time.Since(start))
	})
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// HTTPServer returns an http.Server for addr with read, write and idle
// timeouts; readTimeout 0 means 10s.
func (s *Server) HTTPServer(addr string, readTimeout time.Duration) *http.Server {
	if readTimeout <= 0 {
		readTimeout = 10 * time.Second
	}
	return &http.Server{
		Addr:              addr,
		Handler:           s,
		ReadHeaderTimeout: readTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      s.cfg.HandlerTimeout + 5*time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(s.cfg.Log.Handler(), slog.LevelDebug),
	}
}

// statusWriter remembers the status code for the metrics.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection (a backup
// lifts the write deadline).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// handle registers a route behind metrics, the response cap, auth (and
// the limit on failed authentications), the rate limit, the body limit,
// the handler timeout and, for heavy work, the queue.
func (s *Server) handle(pattern string, auth bool, h http.HandlerFunc) {
	m := s.metrics.route(pattern)
	page := pattern == "GET /{$}" || pattern == "GET /case"
	heavy := pattern == "GET /v1/trace"
	screens := page || pattern == "GET /v1/address/{addr}" || pattern == "GET /api/v1/address/{addr}"
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, code: 200}
		rw := &cappedWriter{statusWriter: sw, max: s.cfg.MaxResponse}
		defer func() { m.observe(sw.code, time.Since(start)) }()
		ip := clientIP(r)
		client := ip
		if r.URL.Query().Has("key") {
			writeError(rw, http.StatusBadRequest, "an API key in a URL ends up in logs and browser history: send it as the X-API-Key header, or sign in on the page at /")
			return
		}
		if auth && s.keys != nil {
			if ok, wait := s.authFail.peek(ip); !ok {
				rw.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
				writeError(rw, http.StatusTooManyRequests, "too many failed authentications from this address")
				return
			}
			given := r.Header.Get("X-API-Key")
			// The pages' sign-in cookie (SameSite=Strict: a browser sends
			// it only with requests from this site's own pages, so another
			// site cannot use it), for the pages and the API calls the case
			// viewer makes.
			if c, err := r.Cookie(keyCookie); given == "" && err == nil {
				given = c.Value
			}
			name := s.keys.match(given)
			if name == "" {
				s.authFail.allow(ip)
				if page {
					s.loginPage(rw, http.StatusUnauthorized, given != "")
					return
				}
				rw.Header().Set("WWW-Authenticate", `APIKey header="X-API-Key"`)
				writeError(rw, http.StatusUnauthorized, "missing or wrong API key (X-API-Key)")
				return
			}
			client = "key:" + name
		}
		if ok, wait := s.limit.allow(client); !ok {
			rw.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
			writeError(rw, http.StatusTooManyRequests, "rate limit exceeded")
			return
		}
		r.Body = http.MaxBytesReader(rw, r.Body, s.cfg.MaxBody)
		ctx, cancel := context.WithTimeout(context.WithValue(r.Context(), clientKey{}, client), s.cfg.HandlerTimeout)
		defer cancel()
		ctx, release := s.withView(ctx)
		defer release()
		if heavy || screens && !screenerOf(ctx).IndexUsable() {
			if !s.gate.enter(ctx, min(s.cfg.QueueWait, s.cfg.HandlerTimeout/2)) {
				busy(rw, s.cfg.QueueWait, fmt.Sprintf("busy: %d traces or fresh screens are running and %d waiting; retry later", s.cfg.Heavy, s.cfg.HeavyQueue))
				return
			}
			defer s.gate.leave()
		}
		h(rw, r.WithContext(ctx))
	})
}

// clientKey is the context key of the client's name ("key:NAME" or "ip:ADDR").
type clientKey struct{}

// errAudit is a screen that could not be recorded.
var errAudit = errors.New("api: audit log")

// errUnanswered is an address of a batch its time did not cover.
var errUnanswered = errors.New("not screened in this request's time: there is no exposure index, so every address is a fresh walk; retry later, or send fewer addresses")

// screenAll screens inputs and records them in the audit log. errs[i] is
// set for an invalid input; err for anything else (the request fails).
func (s *Server) screenAll(r *http.Request, inputs ...string) (res []*screen.Result, errs []error, err error) {
	res, errs = make([]*screen.Result, len(inputs)), make([]error, len(inputs))
	for i, a := range inputs {
		res[i], errs[i] = screenerOf(r.Context()).Screen(r.Context(), a)
		if errs[i] != nil && !errors.Is(errs[i], address.ErrInvalid) {
			return nil, nil, errs[i]
		}
	}
	if err := s.record(r, inputs, res, errs); err != nil {
		return nil, nil, err
	}
	return res, errs, nil
}

// record appends the screens of inputs to the audit log, if there is one.
func (s *Server) record(r *http.Request, inputs []string, res []*screen.Result, errs []error) error {
	if s.cfg.Audit == nil {
		return nil
	}
	client, _ := r.Context().Value(clientKey{}).(string)
	status := screenerOf(r.Context()).Status()
	entries := make([]audit.Entry, len(inputs))
	for i, a := range inputs {
		entries[i] = audit.FromResult(audit.SourceAPI, client, a, res[i], errs[i], status)
	}
	if err := s.cfg.Audit.Append(entries...); err != nil {
		return fmt.Errorf("%w: %v", errAudit, err)
	}
	return nil
}

// screenOne screens one input and records it.
func (s *Server) screenOne(r *http.Request, input string) (*screen.Result, error) {
	res, errs, err := s.screenAll(r, input)
	if err != nil {
		return nil, err
	}
	return res[0], errs[0]
}

// clientOf is the client's name for the case log ("key:NAME" or "ip:ADDR").
func clientOf(r *http.Request) string {
	if c, ok := r.Context().Value(clientKey{}).(string); ok && c != "" {
		return c
	}
	return "unknown"
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return "ip:" + host
}

type apiError struct {
	Error string `json:"error"`
	Code  int    `json:"code"`
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, apiError{Error: msg, Code: code})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code, b = http.StatusInternalServerError, []byte(`{"error":"encoding the response failed","code":500}`)
	}
	b = append(b, '\n')
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	w.Write(b)
}

// fail maps a screening error to a status code.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, address.ErrInvalid):
		writeError(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		writeError(w, http.StatusServiceUnavailable, "the request took longer than the handler timeout")
	case r.Context().Err() != nil:
		writeError(w, http.StatusServiceUnavailable, "request cancelled")
	case errors.Is(err, errAudit):
		s.cfg.Log.Error("api: cannot record the screen; no answer given", "path", r.URL.Path, "err", err)
		writeError(w, http.StatusInternalServerError, "the screen could not be recorded in the audit log")
	default:
		s.cfg.Log.Error("api", "path", r.URL.Path, "err", err)
		writeError(w, http.StatusInternalServerError, "internal error")
	}
}

// StatusResponse answers GET /v1/status: what the server answers from
// and, on a live server building a new list's index, that build.
type StatusResponse struct {
	screen.Status
	Pending *Pending `json:"pending,omitempty"`
	Stale   string   `json:"stale,omitempty"` // View.Stale
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	v := viewOf(r.Context())
	writeJSON(w, http.StatusOK, StatusResponse{Status: v.Screener.Status(), Pending: v.Pending, Stale: v.Stale})
}

// AddressResponse answers GET /v1/address/{addr}: the screen, and the tip
// and list version it answered from.
type AddressResponse struct {
	*screen.Result
	AsOf
}

func (s *Server) address(w http.ResponseWriter, r *http.Request) {
	res, err := s.screenOne(r, r.PathValue("addr"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, AddressResponse{Result: res, AsOf: asOf(r.Context())})
}

// BatchRequest is the body of POST /v1/screen.
type BatchRequest struct {
	Addresses []string `json:"addresses"`
}

// BatchResponse answers POST /v1/screen: one result or error per address,
// in request order. Without a usable exposure index each address is a
// fresh walk; those the request's time does not cover are answered from
// the previous (stale) index, marked in their note, or, with no index at
// all, left unanswered with an error (Retry-After says when to ask again).
type BatchResponse struct {
	AsOf
	Results    []BatchItem `json:"results"`
	FromStale  int         `json:"from_stale_index,omitempty"` // answered from the previous index
	Unanswered int         `json:"unanswered,omitempty"`       // not screened in time
}

// BatchItem is one address of a batch.
type BatchItem struct {
	*screen.Result
	Input string `json:"input"`
	Error string `json:"error,omitempty"`
}

func (s *Server) batch(w http.ResponseWriter, r *http.Request) {
	var req BatchRequest
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", mb.Limit))
			return
		}
		writeError(w, http.StatusBadRequest, "bad JSON body: want {\"addresses\": [\"...\"]}: "+err.Error())
		return
	}
	if len(req.Addresses) == 0 {
		writeError(w, http.StatusBadRequest, "no addresses")
		return
	}
	if len(req.Addresses) > s.cfg.MaxBatch {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("%d addresses; at most %d a request", len(req.Addresses), s.cfg.MaxBatch))
		return
	}
	out := BatchResponse{Results: make([]BatchItem, len(req.Addresses)), AsOf: asOf(r.Context())}
	scr := screenerOf(r.Context())
	// Fresh walks get the request's time less a margin to answer the rest
	// from the previous index, and one of the heavy slots (or none: then
	// every address is answered from the previous index).
	walk := !scr.IndexUsable()
	ctx := r.Context()
	if walk {
		if !s.gate.enter(ctx, min(s.cfg.QueueWait, s.cfg.HandlerTimeout/4)) {
			walk = false
		} else {
			defer s.gate.leave()
		}
		if dl, ok := ctx.Deadline(); ok {
			var cancel context.CancelFunc
			ctx, cancel = context.WithDeadline(ctx, dl.Add(-time.Until(dl)/5))
			defer cancel()
		}
	}
	stale := scr.Status().Index
	res, errs := make([]*screen.Result, len(req.Addresses)), make([]error, len(req.Addresses))
	for i, a := range req.Addresses {
		var err error
		if scr.IndexUsable() || walk && ctx.Err() == nil {
			res[i], err = scr.Screen(ctx, a)
		} else {
			err = ctx.Err()
			if err == nil {
				err = context.DeadlineExceeded
			}
		}
		if err != nil && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)) {
			// Out of time (or no slot) for a fresh walk: point reads of
			// the previous index still answer, even past the deadline (a
			// walk can overrun it by its last step).
			if stale == nil {
				errs[i] = errUnanswered
				out.Unanswered++
				continue
			}
			if res[i], err = scr.Lookup(context.WithoutCancel(r.Context()), a); err == nil {
				out.FromStale++
				if res[i].Method == screen.MethodIndex {
					res[i].Note = strings.TrimPrefix(res[i].Note+"; ", "; ") + fmt.Sprintf("from the previous exposure index (generation %d, built at tip %d; stale: %s)", stale.Gen, stale.TipHeight, strings.Join(stale.Stale, "; "))
				}
			}
		}
		if err != nil && !errors.Is(err, address.ErrInvalid) {
			s.fail(w, r, err)
			return
		}
		errs[i] = err
	}
	if err := s.record(r, req.Addresses, res, errs); err != nil {
		s.fail(w, r, err)
		return
	}
	for i, a := range req.Addresses {
		out.Results[i] = BatchItem{Result: res[i], Input: a}
		if errs[i] != nil {
			out.Results[i].Error = errs[i].Error()
		}
	}
	if out.Unanswered > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(s.cfg.QueueWait.Seconds())))
	}
	writeJSON(w, http.StatusOK, out)
}

// trace runs the trace specification of the query: the keys of package
// tracer/spec (seed=ADDR, repeatable, for the seeds), decoded by the same
// decoder as CLI flags and job files, with the same defaults. max_txs and
// max_hops are capped by the server's limits.
func (s *Server) trace(w http.ResponseWriter, r *http.Request) {
	runner := viewOf(r.Context()).Tracer
	if runner == nil {
		writeError(w, http.StatusNotImplemented, "tracing is not configured")
		return
	}
	sp, err := traceSpec(r.URL.Query(), s.cfg.TraceMaxSeeds)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	sp.MaxTxs = min(sp.MaxTxs, s.cfg.TraceMaxTxs)
	sp.MaxHops = min(sp.MaxHops, s.cfg.TraceMaxHops)
	out, err := runner.Run(r.Context(), sp, nil)
	var se *spec.SeedError
	switch {
	case errors.Is(err, spec.ErrNoSeeds):
		writeError(w, http.StatusNotFound, err.Error())
		return
	case errors.Is(err, spec.ErrBadSpec), errors.Is(err, spec.ErrNoClusters), errors.As(err, &se):
		writeError(w, http.StatusBadRequest, err.Error())
		return
	case err != nil:
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, TraceResponse{Result: out.Result, AsOf: asOf(r.Context())})
}

// TraceResponse answers GET /v1/trace: the trace result, and the tip and
// list version of the snapshot it walked.
type TraceResponse struct {
	*tracer.Result
	AsOf
}

// traceSpec decodes a /v1/trace query: every parameter a key of the trace
// specification or a seed key (but no seed file: the server reads none).
func traceSpec(q url.Values, maxSeeds int) (spec.Spec, error) {
	sp := spec.Default()
	sp.Seeds.AddressSource = "request"
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		key := spec.Normalize(k)
		var err error
		switch key {
		case "seed", "addresses", "entity", "program", "profile", "tag_category", "tag_pack":
			err = sp.SetSeed(key, q[k]...)
		case "file", "seeds":
			err = fmt.Errorf("%s: the server reads no seed files; give seed=ADDR", k)
		default:
			err = sp.Set(key, q[k]...)
		}
		if err != nil {
			return sp, err
		}
	}
	if sp.Seeds.Empty() {
		return sp, errors.New("no seeds: give seed=ADDR (repeatable), or entity, program, profile, tag_category or tag_pack")
	}
	if n := len(sp.Seeds.Addresses); n > maxSeeds {
		return sp, fmt.Errorf("%d seed addresses; at most %d a request", n, maxSeeds)
	}
	return sp, sp.Validate()
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Identification is one entry of the Chainalysis sanctions-screening answer.
type Identification struct {
	Category    string `json:"category"`
	Name        string `json:"name"`
	Description string `json:"description"`
	URL         string `json:"url"`
}

// chainalysis answers like Chainalysis's free sanctions API
// (GET /api/v1/address/{addr}): {"identifications": [...]}, empty when the
// address is not listed.
func (s *Server) chainalysis(w http.ResponseWriter, r *http.Request) {
	res, err := s.screenOne(r, r.PathValue("addr"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ids := []Identification{}
	for _, d := range res.Direct {
		desc := fmt.Sprintf("%s (%s) is on the %s", d.Entity, strings.ToLower(orDefault(d.EntityType, "party")), d.List)
		if len(d.Programs) > 0 {
			desc += " under program " + strings.Join(d.Programs, ", ")
		}
		if !d.Designated.IsZero() {
			desc += ", designated " + d.Designated.Format("2006-01-02")
		}
		ids = append(ids, Identification{Category: "sanctions", Name: "SANCTIONS: " + d.List + " " + d.Entity,
			Description: desc + ".", URL: fmt.Sprintf("https://sanctionssearch.ofac.treas.gov/Details.aspx?id=%d", d.ProfileID)})
	}
	a := asOf(r.Context())
	out := map[string]any{"identifications": ids, "tip_height": a.TipHeight, "tip_hash": a.TipHash, "list_version": a.ListVersion}
	if a.Stale != "" {
		out["stale"] = a.Stale
	}
	writeJSON(w, http.StatusOK, out)
}
