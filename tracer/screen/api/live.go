package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/tracer-oss/tracer/tracer/cases"
	"github.com/tracer-oss/tracer/tracer/screen"
	"github.com/tracer-oss/tracer/tracer/spec"
)

// View is the data one request answers from. A live server (serve --rpc)
// publishes a new one after each block is applied in full, each on its own
// snapshot of the store, so a request never sees half a block and every
// answer names the tip it came from.
type View struct {
	Screener *screen.Screener
	Tracer   *spec.Runner // nil: /v1/trace answers 501
	// Pending is a new list's index being built, while Screener still
	// answers from the previous list; nil when none.
	Pending *Pending
	// Stale, when not "", says why this view is held behind the store's
	// tip (an exposure index being rebuilt, after a reorganisation deeper
	// than its undo records or a tag pack load): every answer carries it.
	Stale string
	// Cases, if set, serves the case workspace of this view (else
	// Config.Cases): a live server's traces and reads of the chain run on
	// the view's snapshot.
	Cases *cases.Service
}

// Pending describes a sanctions list whose exposure index is being built.
type Pending struct {
	ListVersion   uint32    `json:"list_version"`
	SanctionsList string    `json:"sanctions_list"`
	Since         time.Time `json:"since"`
	Stage         string    `json:"stage"`           // building, catching up
	Error         string    `json:"error,omitempty"` // the last attempt's error; it is retried
	// Reason is why the index is being rebuilt ("" for a new list).
	Reason string `json:"reason,omitempty"`
}

// AsOf is the tip and sanctions list version an answer came from.
type AsOf struct {
	TipHeight   int32  `json:"tip_height"`
	TipHash     string `json:"tip_hash"`
	ListVersion uint32 `json:"list_version"`
	// Stale, when set, says the answer comes from a view held behind the
	// store's tip, and why (View.Stale).
	Stale string `json:"stale,omitempty"`
}

type viewKey struct{}

// withView gives the request its view for its whole life.
func (s *Server) withView(ctx context.Context) (context.Context, func()) {
	if s.cfg.Views == nil {
		return context.WithValue(ctx, viewKey{}, &View{Screener: s.cfg.Screener, Tracer: s.cfg.Tracer}), func() {}
	}
	v, release := s.cfg.Views()
	return context.WithValue(ctx, viewKey{}, &v), release
}

func viewOf(ctx context.Context) *View {
	v, _ := ctx.Value(viewKey{}).(*View)
	if v == nil {
		panic("api: a request without its view") // handle sets it for every route
	}
	return v
}

func screenerOf(ctx context.Context) *screen.Screener { return viewOf(ctx).Screener }

func asOf(ctx context.Context) AsOf {
	st := screenerOf(ctx).Status()
	return AsOf{TipHeight: st.TipHeight, TipHash: st.TipHash, ListVersion: st.ListVersion, Stale: viewOf(ctx).Stale}
}

// Admin changes what a live server answers from. Each method returns a
// JSON-able description of what it did; an error wrapping ErrAdminInput
// is the request's fault (400).
type Admin interface {
	// LoadSanctions reads a list file (any format `tracer sanctions load`
	// reads, compressed or not) named name from body and makes it the new
	// version once its exposure index is built. force stores a list the
	// guard refuses (empty, or much shorter than the list in force).
	LoadSanctions(ctx context.Context, name string, force bool, body io.Reader) (any, error)
	// LoadTags reads a tag pack file and loads it as pack (a name ending
	// in .csv is a tag CSV, as for tracer tags load).
	LoadTags(ctx context.Context, pack string, body io.Reader) (any, error)
	// AddWatch and RemoveWatch change the watch list, effective from the
	// next block.
	AddWatch(ctx context.Context, req WatchRequest) (any, error)
	RemoveWatch(ctx context.Context, addr string) (any, error)
	// Backup writes a consistent backup of the store to w (the format of
	// tracer backup; tracer restore makes a read replica from it) while
	// the server keeps answering; blocks wait until it is written.
	Backup(ctx context.Context, w io.Writer) error
}

// WatchRequest is the body of POST /v1/admin/watches.
type WatchRequest struct {
	Address string `json:"address,omitempty"`
	Entity  string `json:"entity,omitempty"`
}

// ErrAdminInput is an admin request the server cannot act on as given.
var ErrAdminInput = errors.New("api: bad admin request")

type adminKey struct{}

// AdminName returns the name of the admin key of the request ctx belongs
// to ("" outside an admin route).
func AdminName(ctx context.Context) string {
	n, _ := ctx.Value(adminKey{}).(string)
	return n
}

func (s *Server) adminRoutes() {
	s.handleAdmin("POST /v1/admin/sanctions", func(w http.ResponseWriter, r *http.Request) (any, error) {
		q := r.URL.Query()
		force := q.Get("force") == "1" || q.Get("force") == "true"
		return s.cfg.Admin.LoadSanctions(r.Context(), q.Get("name"), force, r.Body)
	})
	s.handleAdmin("POST /v1/admin/tags", func(w http.ResponseWriter, r *http.Request) (any, error) {
		q := r.URL.Query()
		if q.Get("name") == "" {
			return nil, fmt.Errorf("%w: give the tag pack's name: POST /v1/admin/tags?name=PACK", ErrAdminInput)
		}
		return s.cfg.Admin.LoadTags(r.Context(), q.Get("name"), r.Body)
	})
	s.handleAdmin("POST /v1/admin/watches", func(w http.ResponseWriter, r *http.Request) (any, error) {
		var req WatchRequest
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			return nil, fmt.Errorf("%w: bad JSON body: want {\"address\": \"...\"} or {\"entity\": \"...\"}: %v", ErrAdminInput, err)
		}
		return s.cfg.Admin.AddWatch(r.Context(), req)
	})
	s.handleAdmin("DELETE /v1/admin/watches/{addr}", func(w http.ResponseWriter, r *http.Request) (any, error) {
		return s.cfg.Admin.RemoveWatch(r.Context(), r.PathValue("addr"))
	})
	s.handleAdmin("GET /v1/admin/backup", func(w http.ResponseWriter, r *http.Request) (any, error) {
		// A whole store takes longer to send than the handler timeout.
		if err := http.NewResponseController(w).SetWriteDeadline(time.Time{}); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return nil, err
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Disposition", `attachment; filename="tracer-store.backup"`)
		fw := &firstWrite{w: w}
		err := s.cfg.Admin.Backup(r.Context(), fw)
		if err != nil && fw.started {
			// Too late for an error status: cut the transfer. The file
			// lacks its trailer, so tracer restore refuses it.
			s.cfg.Log.Error("api: backup cut short", "err", err)
			panic(http.ErrAbortHandler)
		}
		if err != nil {
			return nil, err
		}
		return streamed{}, nil
	})
}

// streamed is the answer of a handler that wrote its response itself.
type streamed struct{}

// firstWrite notes whether anything was written.
type firstWrite struct {
	w       io.Writer
	started bool
}

func (f *firstWrite) Write(b []byte) (int, error) {
	f.started = true
	return f.w.Write(b)
}

// handleAdmin registers an admin route: it needs an admin key (an API key
// is refused, as an admin key is on the other routes), in X-Admin-Key or
// X-API-Key.
func (s *Server) handleAdmin(pattern string, h func(http.ResponseWriter, *http.Request) (any, error)) {
	m := s.metrics.route(pattern)
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, code: 200}
		defer func() { m.observe(sw.code, time.Since(start)) }()
		switch {
		case s.cfg.Admin == nil:
			writeError(sw, http.StatusNotFound, "the admin routes are served by a live server only: tracer serve --rpc URL --admin-keys FILE")
			return
		case s.admins == nil:
			writeError(sw, http.StatusForbidden, "the admin routes are off: no admin keys configured (start tracer serve with --admin-keys FILE)")
			return
		}
		ip := clientIP(r)
		if ok, wait := s.authFail.peek(ip); !ok {
			sw.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
			writeError(sw, http.StatusTooManyRequests, "too many failed authentications from this address")
			return
		}
		given := r.Header.Get("X-Admin-Key")
		if given == "" {
			given = r.Header.Get("X-API-Key")
		}
		name := s.admins.match(given)
		if name == "" {
			s.authFail.allow(ip)
			sw.Header().Set("WWW-Authenticate", `APIKey header="X-Admin-Key"`)
			writeError(sw, http.StatusUnauthorized, "missing or wrong admin key (X-Admin-Key; an API key is not an admin key)")
			return
		}
		ctx := context.WithValue(r.Context(), adminKey{}, name)
		// A list file can be large: the admin routes take up to 256 MiB.
		r.Body = http.MaxBytesReader(sw, r.Body, max(s.cfg.MaxBody, 256<<20))
		res, err := h(sw, r.WithContext(ctx))
		var mb *http.MaxBytesError
		switch {
		case errors.As(err, &mb):
			writeError(sw, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", mb.Limit))
		case errors.Is(err, ErrAdminInput):
			writeError(sw, http.StatusBadRequest, err.Error())
		case err != nil:
			s.cfg.Log.Error("api: admin", "path", r.URL.Path, "admin", name, "err", err)
			writeError(sw, http.StatusInternalServerError, err.Error())
		default:
			if _, ok := res.(streamed); !ok {
				writeJSON(sw, http.StatusOK, res)
			}
		}
	})
}
