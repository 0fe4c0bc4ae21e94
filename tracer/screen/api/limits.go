package api

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Bounds on the work one request may cause, beside the rate limit: heavy
// requests (traces, and screens that walk fresh because the exposure index
// is missing or stale) run a few at a time behind a short queue, and a
// response larger than MaxResponse is replaced by an error. A request that
// cannot get a slot is answered 503 with Retry-After — the connection
// stays open.

// heavyGate is a counting semaphore with a bounded queue.
type heavyGate struct {
	slots chan struct{}
	queue chan struct{}
}

func newHeavyGate(slots, queue int) *heavyGate {
	return &heavyGate{slots: make(chan struct{}, slots), queue: make(chan struct{}, slots+queue)}
}

// enter waits for a slot until wait has passed or ctx is done; ok false
// means the queue was full or the wait ran out. leave must follow an ok.
func (g *heavyGate) enter(ctx context.Context, wait time.Duration) bool {
	select {
	case g.queue <- struct{}{}:
	default:
		return false // queue full: do not even wait
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case g.slots <- struct{}{}:
		return true
	case <-t.C:
	case <-ctx.Done():
	}
	<-g.queue
	return false
}

func (g *heavyGate) leave() {
	<-g.slots
	<-g.queue
}

// busy answers 503 with a Retry-After.
func busy(w http.ResponseWriter, retry time.Duration, what string) {
	w.Header().Set("Retry-After", strconv.Itoa(int(retry.Seconds())+1))
	writeError(w, http.StatusServiceUnavailable, what)
}

// cappedWriter replaces a response whose Content-Length is larger than max
// (every JSON and page response sets one before WriteHeader) with a 507
// error, and refuses to stream more than max bytes of any other.
type cappedWriter struct {
	*statusWriter
	max      int64
	written  int64
	replaced bool
}

func (w *cappedWriter) WriteHeader(code int) {
	if n, err := strconv.ParseInt(w.Header().Get("Content-Length"), 10, 64); err == nil && n > w.max {
		w.replaced = true
		b := fmt.Appendf(nil, `{"error":"the response would be %d bytes, more than this server's limit of %d: ask for less (fewer seeds, a lower max_txs or max_hops, a smaller batch)","code":507}`+"\n", n, w.max)
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Content-Length", strconv.Itoa(len(b)))
		w.statusWriter.WriteHeader(http.StatusInsufficientStorage)
		w.statusWriter.Write(b)
		return
	}
	w.statusWriter.WriteHeader(code)
}

func (w *cappedWriter) Write(b []byte) (int, error) {
	if w.replaced {
		return len(b), nil
	}
	if w.written+int64(len(b)) > w.max {
		return 0, fmt.Errorf("api: response larger than %d bytes", w.max)
	}
	w.written += int64(len(b))
	return w.statusWriter.Write(b)
}
