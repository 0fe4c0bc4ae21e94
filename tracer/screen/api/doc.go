// Package api is tracer's screening HTTP JSON API (tracer serve): address
// screens, batch screens, bounded traces, status, health, Prometheus
// metrics, a Chainalysis-compatible sanctions route and a small HTML page.
//
//	GET  /v1/address/{addr}      screen one address (screen.Result)
//	POST /v1/screen              {"addresses": [...]}, at most 1,000
//	GET  /v1/trace               ?seed=ADDR (repeatable) and the keys of a trace specification
//	                             (package tracer/spec: direction, model, max_hops, stop, cluster, ...;
//	                             max_txs and max_hops capped by the server)
//	GET  /v1/status              tip, sanctions list version, tag packs, index
//	GET  /api/v1/address/{addr}  Chainalysis sanctions-screening shape
//	GET  /healthz                "ok"
//	GET  /metrics                Prometheus text format
//	GET  /                       the HTML page (?address=ADDR screens without JavaScript)
//
// With keys configured every route but /healthz needs a key in X-API-Key
// (the pages sign in once and keep it in a cookie), compared in constant time. Each key (or,
// without keys, each client IP) has a token bucket. Bodies are capped, and
// handlers time out. The handler only reads the store.
package api
