package api

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// buckets are the latency histogram's upper bounds in seconds.
var buckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// metrics counts requests by route and status code and keeps a latency
// histogram per route, written in the Prometheus text format.
type metrics struct {
	started time.Time
	mu      sync.Mutex
	routes  map[string]*routeMetrics
}

type routeMetrics struct {
	mu     sync.Mutex
	codes  map[int]uint64
	counts []atomic.Uint64 // per bucket, non-cumulative; last is +Inf
	sumNs  atomic.Uint64
	total  atomic.Uint64
}

func newMetrics() *metrics {
	return &metrics{started: time.Now(), routes: map[string]*routeMetrics{}}
}

func (m *metrics) route(name string) *routeMetrics {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.routes[name]
	if r == nil {
		r = &routeMetrics{codes: map[int]uint64{}, counts: make([]atomic.Uint64, len(buckets)+1)}
		m.routes[name] = r
	}
	return r
}

func (r *routeMetrics) observe(code int, d time.Duration) {
	r.mu.Lock()
	r.codes[code]++
	r.mu.Unlock()
	s := d.Seconds()
	i := sort.SearchFloat64s(buckets, s)
	r.counts[i].Add(1)
	r.sumNs.Add(uint64(d.Nanoseconds()))
	r.total.Add(1)
}

func (m *metrics) write(w io.Writer) {
	m.mu.Lock()
	names := make([]string, 0, len(m.routes))
	for n := range m.routes {
		names = append(names, n)
	}
	m.mu.Unlock()
	sort.Strings(names)
	fmt.Fprintln(w, "# HELP tracer_http_requests_total HTTP requests by route and status code.")
	fmt.Fprintln(w, "# TYPE tracer_http_requests_total counter")
	for _, n := range names {
		r := m.route(n)
		r.mu.Lock()
		codes := make([]int, 0, len(r.codes))
		for c := range r.codes {
			codes = append(codes, c)
		}
		sort.Ints(codes)
		for _, c := range codes {
			fmt.Fprintf(w, "tracer_http_requests_total{route=%q,code=\"%d\"} %d\n", n, c, r.codes[c])
		}
		r.mu.Unlock()
	}
	fmt.Fprintln(w, "# HELP tracer_http_request_duration_seconds HTTP request latency by route.")
	fmt.Fprintln(w, "# TYPE tracer_http_request_duration_seconds histogram")
	for _, n := range names {
		r := m.route(n)
		var cum uint64
		for i, b := range buckets {
			cum += r.counts[i].Load()
			fmt.Fprintf(w, "tracer_http_request_duration_seconds_bucket{route=%q,le=%q} %d\n", n, strconv.FormatFloat(b, 'g', -1, 64), cum)
		}
		cum += r.counts[len(buckets)].Load()
		fmt.Fprintf(w, "tracer_http_request_duration_seconds_bucket{route=%q,le=\"+Inf\"} %d\n", n, cum)
		fmt.Fprintf(w, "tracer_http_request_duration_seconds_sum{route=%q} %g\n", n, float64(r.sumNs.Load())/1e9)
		fmt.Fprintf(w, "tracer_http_request_duration_seconds_count{route=%q} %d\n", n, r.total.Load())
	}
	fmt.Fprintln(w, "# HELP tracer_uptime_seconds Seconds since the server started.")
	fmt.Fprintln(w, "# TYPE tracer_uptime_seconds gauge")
	fmt.Fprintf(w, "tracer_uptime_seconds %g\n", time.Since(m.started).Seconds())
}
