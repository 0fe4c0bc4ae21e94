package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/flow"
	"github.com/tracer-oss/tracer/tracer/cases"
	"github.com/tracer-oss/tracer/tracer/screen"
	"github.com/tracer-oss/tracer/tracer/screen/api"
	"github.com/tracer-oss/tracer/tracer/spec"
)

func serveCommand() *cli.Command {
	return &cli.Command{
		Name:   "serve",
		Before: raiseHeapLimit,
		Usage:  "serve the screening HTTP JSON API, its page and the case workspace",
		Description: `Serves, from the store:

  GET  /v1/address/{addr}      screen one address
  POST /v1/screen              {"addresses": [...]} (at most 1,000)
  GET  /v1/trace               ?seed=ADDR&... the keys of a trace specification (README, "Trace
                               specification": direction, model, max_hops, stop, cluster, ...;
                               max_txs and max_hops capped)
  GET  /v1/status              tip, sanctions list version, tag packs, exposure index
  GET  /api/v1/address/{addr}  Chainalysis-compatible: {"identifications": [...]}
  GET  /healthz, /metrics      health; Prometheus metrics
  GET  /                       a page to screen an address (no JavaScript)

The case workspace (an investigator's saved traces, kept in the store):

  POST /v1/cases               {"seeds": [...], "direction", "model", "max_hops", ...} → {"id": ...}
  GET  /v1/cases               every case; GET /v1/cases/{id} one case
  GET  /v1/cases/{id}/graph    nodes and edges; ?expand=TXID_OR_ADDRESS&direction=forward|backward adds a hop
  PUT  /v1/cases/{id}/notes/{node}  {"text": "..."}: a note on a txid or address
  PUT  /v1/cases/{id}/hidden/{node} {"hidden": true}: hide the branch from a node
  POST /v1/cases/{id}/rerun    the trace again with other parameters, notes kept
  GET  /v1/cases/{id}/log      every change: who, when, what
  GET  /v1/cases/{id}/bundle   the evidence bundle (zip; see tracer case export)
  GET  /case?id=ID             the case in the graph viewer: expand, hide, annotate, re-run

It listens on 127.0.0.1:8080 by default. Beyond loopback it needs API keys
(--keys FILE: one key a line, or "NAME KEY"), and should use TLS
(--tls-cert and --tls-key, PEM files) so keys do not travel in clear.

Authentication: the JSON routes take the key in the X-API-Key header. The
pages (GET /, GET /case) ask for the key once in a sign-in form (POST
/login) and keep it in an HttpOnly, SameSite=Strict cookie (Secure over
TLS), which the case viewer's calls to /v1/cases send too. A key in a URL
(?key=) is refused with 400 on every route: URLs end up in logs and browser
history. Each client IP may fail authentication --auth-fail-burst times,
then once a second (429 with Retry-After).

Limits: each key, or each client IP without keys, has a token bucket of
--rate requests a second. Heavy work — traces, and screens that walk fresh
because there is no current exposure index — runs --heavy at a time with
--heavy-queue waiting; beyond, 503 with Retry-After. Responses larger than
--max-response are answered 507 asking for less. A batch screen answers
within --handler-timeout: without a current index, the addresses its time
does not cover are answered from the previous index (marked) or left
unanswered with an error.

Results carry the risk policy's level and rule (--policy FILE, else the
built-in policy), and every screen is appended to the audit log with the
key's name (--audit-log; see tracer audit).

Live, with --rpc URL (and follow's node flags): one process owns the store,
syncs from the node, then follows it, and serves all along. After each new
block (or reorganisation) it extends the clusters and the exposure index,
then publishes a snapshot that new requests answer from: a request never
sees half a block, and answers carry tip_height, tip_hash and list_version.
A reorganisation up to --max-reorg blocks deep is undone in every index,
the exposure index included (it keeps undo records that deep: a rebuild
applies its last --max-reorg blocks as updates). A deeper one (an index
built by tracer screen --rebuild-index keeps 10) rebuilds the exposure
index; until it is ready, answers come from the last view and say so in
"stale" (its tip, no longer on the best chain; /v1/status: pending). Cases
trace on the published view and are written by the loop that writes the
store. /metrics adds the follower's metrics; alerts go to --alerts/--webhook
as in follow. With --admin-keys FILE (the --keys format; send the key in
X-Admin-Key; an admin key is not an API key, nor the reverse):

  POST   /v1/admin/sanctions?name=FILE  a list file in any format sanctions
                                        load reads, compressed or not; its
                                        index is built while screens answer
                                        from the previous list (/v1/status:
                                        pending), then both switch at once
  POST   /v1/admin/tags?name=PACK       a tag pack (PACK.csv: a tag CSV)
  POST   /v1/admin/watches              {"address": ...} or {"entity": ...}
  DELETE /v1/admin/watches/{addr}       both effective from the next block
  GET    /v1/admin/backup               a backup file of the store, as tracer backup
                                        writes it (tracer restore makes a replica)

Examples:
  tracer serve --rpc http://127.0.0.1:8332 --rpc-cookie ~/.bitcoin/.cookie --keys keys.txt --admin-keys admin.txt
  curl -H "X-Admin-Key: $K" --data-binary @sdn_advanced.xml.gz 'http://127.0.0.1:8080/v1/admin/sanctions?name=sdn_advanced.xml.gz'

Without --rpc, build the exposure index first (tracer screen --rebuild-index). The server
writes only cases: it opens the store writable, which keeps other tracer
commands off the store while it runs; with --read-only it opens it read-only
(other read-only commands can run beside it) and cases can be read but not
created or changed. Without a current index screens walk fresh.`,
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "listen", Value: "127.0.0.1:8080", Usage: "`HOST:PORT` to listen on"},
			&cli.StringFlag{Name: "keys", Usage: "API keys `FILE`; required beyond loopback"},
			&cli.StringFlag{Name: "tls-cert", Usage: "serve HTTPS with this certificate `FILE` (PEM; with --tls-key)"},
			&cli.StringFlag{Name: "tls-key", Usage: "the certificate's private key `FILE` (PEM)"},
			&cli.IntFlag{Name: "heavy", Value: 2, Usage: "traces and fresh screens that run at once"},
			&cli.IntFlag{Name: "heavy-queue", Value: 8, Usage: "heavy requests that wait for a slot (the rest get 503)"},
			&cli.Int64Flag{Name: "max-response", Value: 16 << 20, Usage: "response size limit in `BYTES`"},
			&cli.IntFlag{Name: "auth-fail-burst", Value: 10, Usage: "failed authentications a client IP may make before it is limited to one a second"},
			&cli.Float64Flag{Name: "rate", Value: 100, Usage: "requests a second per key or client IP (0: unlimited)"},
			&cli.IntFlag{Name: "burst", Value: 200, Usage: "token bucket size"},
			&cli.Int64Flag{Name: "max-body", Value: 1 << 20, Usage: "request body limit in `BYTES`"},
			&cli.DurationFlag{Name: "read-timeout", Value: 10 * time.Second, Usage: "time to read a request"},
			&cli.DurationFlag{Name: "handler-timeout", Value: 30 * time.Second, Usage: "time to answer a request"},
			&cli.IntFlag{Name: "trace-max-txs", Value: 100_000, Usage: "cap of max_txs for /v1/trace and cases"},
			&cli.BoolFlag{Name: "read-only", Usage: "open the store read-only: cases cannot be created or changed"},
			&cli.StringFlag{Name: "admin-keys", Usage: "admin keys `FILE` (as --keys) for the admin routes of serve --rpc; none: they are refused"},
		}, append(screenFlags, followFlags(false)...)...),
		Action: runServe,
	}
}

func runServe(c *cli.Context) error {
	keys, admins, err := serveKeys(c)
	if err != nil {
		return err
	}
	if c.String("rpc") != "" && c.Bool("read-only") {
		return usageErrorf("serve: --rpc writes the store (it follows the node); --read-only cannot go with it")
	}
	if err := api.CheckBind(c.String("listen"), len(keys)); err != nil {
		return badInput(err)
	}
	tlsCert, err := serveTLS(c)
	if err != nil {
		return err
	}
	if c.String("rpc") != "" {
		return serveLive(c, keys, admins, tlsCert)
	}
	return serveStore(c, keys, tlsCert)
}

// serveKeys loads --keys and --admin-keys, refusing admin keys without
// --rpc and a secret in both files.
func serveKeys(c *cli.Context) (keys, admins []api.Key, err error) {
	if f := c.String("keys"); f != "" {
		if keys, err = api.LoadKeys(f); err != nil {
			return nil, nil, badInput(err)
		}
	}
	if f := c.String("admin-keys"); f != "" {
		if c.String("rpc") == "" {
			return nil, nil, usageErrorf("serve: --admin-keys needs --rpc: the admin routes change a live server's data")
		}
		if admins, err = api.LoadKeys(f); err != nil {
			return nil, nil, badInput(fmt.Errorf("--admin-keys: %w", err))
		}
		if err := distinctKeys(keys, admins); err != nil {
			return nil, nil, badInput(err)
		}
	}
	return keys, admins, nil
}

// serveTLS loads --tls-cert and --tls-key (both or neither); nil without
// them.
func serveTLS(c *cli.Context) (*tls.Certificate, error) {
	certFile, keyFile := c.String("tls-cert"), c.String("tls-key")
	if (certFile == "") != (keyFile == "") {
		return nil, usageErrorf("serve: give both --tls-cert and --tls-key, or neither")
	}
	if certFile == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, usageErrorf("serve: --tls-cert %s / --tls-key %s: %v", certFile, keyFile, err)
	}
	return &cert, nil
}

// serveStore serves the store as it is, without a node: screens from its
// exposure index (or fresh walks), traces and cases.
func serveStore(c *cli.Context, keys []api.Key, tlsCert *tls.Certificate) (err error) {
	log := logger(c)
	casesRO := c.Bool("read-only")
	st, scr, err := openScreenerFor(c, false, false, casesRO)
	if err != nil {
		return err
	}
	defer closing(st, &err)
	status := scr.Status()
	warnIndexState(log, status)
	// The server never writes: it walks the trace index only if tracer
	// trace has brought it up to date.
	x, err := flow.Open(c.Context, st, flow.Options{NoUpdate: true})
	if err == nil {
		defer closing(x, &err)
	} else {
		x = nil
		log.Info("forward traces walk the store itself (run a forward tracer trace to build the trace index)", "why", err)
	}
	params := scr.Sources().Params
	graph := forwardGraph(st, x)
	runner := spec.NewRunner(st, params, x) // /v1/trace and cases run the same specifications
	cfg := apiConfig(c, keys)
	cfg.Screener, cfg.Tracer, cfg.Cases, cfg.CasesReadOnly = scr, runner, cases.ForStore(st, runner, graph, params), casesRO
	srv, err := api.New(cfg)
	if err != nil {
		return err
	}
	hs, ln, scheme, err := listenHTTP(c, srv, tlsCert, len(keys) > 0)
	if err != nil {
		return err
	}
	if !casesRO {
		announceHolder(c, st, scheme, ln, false)
	}
	fmt.Fprintf(c.App.ErrWriter, "serve: %s://%s/ (%s tip %d, %s, index %s, %d keys)\n", scheme, ln.Addr(), status.Network, status.TipHeight,
		orDash(status.SanctionsList), indexState(status), len(keys))
	return serveUntil(c, hs, ln, nil)
}

// warnIndexState warns when screens cannot use a current exposure index.
func warnIndexState(log *slog.Logger, status screen.Status) {
	switch {
	case status.ExposureUnavailable != "": // held.go's part: a list and no blocks
		log.Warn("serving direct-list screening only", "why", status.ExposureUnavailable)
	case status.Index == nil:
		log.Warn("no exposure index: every screen walks fresh; build it with tracer screen --rebuild-index")
	case len(status.Index.Stale) > 0:
		log.Warn("the exposure index is stale: screens walk fresh; rebuild it with tracer screen --rebuild-index", "why", strings.Join(status.Index.Stale, "; "))
	}
}

// apiConfig is the API's configuration from the flags.
func apiConfig(c *cli.Context, keys []api.Key) api.Config {
	return api.Config{Keys: keys, Rate: c.Float64("rate"), Burst: c.Int("burst"),
		MaxBody: c.Int64("max-body"), HandlerTimeout: c.Duration("handler-timeout"), TraceMaxTxs: c.Int("trace-max-txs"), Log: logger(c),
		Heavy: c.Int("heavy"), HeavyQueue: c.Int("heavy-queue"), MaxResponse: c.Int64("max-response"), AuthFailBurst: c.Int("auth-fail-burst"),
		Audit: auditLog(c)}
}

// listenHTTP listens on --listen, with TLS when a certificate is given.
func listenHTTP(c *cli.Context, srv *api.Server, tlsCert *tls.Certificate, keys bool) (*http.Server, net.Listener, string, error) {
	listen := c.String("listen")
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, nil, "", badInput(err)
	}
	hs := srv.HTTPServer(listen, c.Duration("read-timeout"))
	scheme := "http"
	if tlsCert != nil {
		scheme = "https"
		hs.TLSConfig = &tls.Config{Certificates: []tls.Certificate{*tlsCert}, MinVersion: tls.VersionTLS12}
		ln = tls.NewListener(ln, hs.TLSConfig)
	} else if keys && !isLoopback(listen) {
		logger(c).Warn("serving beyond loopback without TLS: API keys travel in clear; give --tls-cert and --tls-key")
	}
	return hs, ln, scheme, nil
}

// serveUntil serves until the context ends, the server fails or work (if
// not nil) returns; then it shuts the server down.
func serveUntil(c *cli.Context, hs *http.Server, ln net.Listener, work <-chan error) error {
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	var err error
	select {
	case err = <-errc:
		return err
	case err = <-work:
	case <-c.Context.Done():
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if serr := hs.Shutdown(ctx); serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	if err == nil {
		fmt.Fprintln(c.App.ErrWriter, "serve: stopped")
	}
	return err
}

// distinctKeys refuses a secret that is both an API key and an admin key.
func distinctKeys(keys, admins []api.Key) error {
	for _, k := range keys {
		for _, a := range admins {
			if k.Secret == a.Secret {
				return fmt.Errorf("api: key %q of --keys is also admin key %q: an admin key must not be an API key", k.Name, a.Name)
			}
		}
	}
	return nil
}

// isLoopback reports whether a listen address is on loopback only.
func isLoopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return host == "localhost" || ip != nil && ip.IsLoopback()
}

func indexState(s screen.Status) string {
	switch {
	case s.Index == nil:
		return "missing (screens walk fresh)"
	case len(s.Index.Stale) > 0:
		return "stale (screens walk fresh)"
	}
	return fmt.Sprintf("generation %d, %d addresses", s.Index.Gen, s.Index.Addresses)
}

// announceHolder writes the store's holder file (store/holder.go), so that
// a command refused by the store's lock names this serve and the route to
// use instead.
// admin says whether it serves the admin routes.
func announceHolder(c *cli.Context, st *store.Store, scheme string, ln net.Listener, admin bool) {
	if err := st.SetHolder(store.Holder{Command: "tracer serve", URL: fmt.Sprintf("%s://%s", scheme, ln.Addr()), Admin: admin}); err != nil {
		logger(c).Warn("commands refused by the store's lock will not name this serve", "err", err)
	}
}
