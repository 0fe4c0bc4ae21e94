package alert

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/tracer-oss/tracer/store"
)

// Sink receives rendered alerts. Send must be idempotent per id where it
// can be (FileSink is): a crash between Send and MarkDelivered sends again.
type Sink interface {
	Name() string
	Send(ctx context.Context, id string, line []byte) error
}

// DeliverConfig tunes Deliver.
type DeliverConfig struct {
	Wake       <-chan struct{} // a commit happened: look for new alerts now
	Poll       time.Duration   // look anyway this often; 0: 2 s
	MaxBackoff time.Duration   // longest wait between retries; 0: 30 s
	Logger     *slog.Logger
	// OnDelivered, if set, is called after each alert is marked delivered.
	OnDelivered func(Message)
}

// Deliver sends pending outbox alerts in order to every sink, retrying a
// failing sink with exponential backoff (the alert order is kept: later
// alerts wait), and marks each delivered. It returns when ctx ends.
func Deliver(ctx context.Context, st *store.Store, sinks []Sink, cfg DeliverConfig) error {
	if cfg.Poll <= 0 {
		cfg.Poll = 2 * time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 30 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	var cursor uint64
	for {
		alerts, err := st.Outbox().Pending(cursor, 256)
		if err != nil {
			return err
		}
		for _, a := range alerts {
			if done, err := deliverOne(ctx, st, sinks, a, cfg); !done {
				return err // nil when ctx ended
			}
			cursor = a.Seq
		}
		if len(alerts) > 0 {
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-cfg.Wake:
		case <-time.After(cfg.Poll):
		}
	}
}

// deliverOne sends alert a to every sink and marks it delivered; done is
// false when ctx ended first (err nil) or on err.
func deliverOne(ctx context.Context, st *store.Store, sinks []Sink, a store.Alert, cfg DeliverConfig) (done bool, err error) {
	line, m, err := Render(a)
	if err != nil {
		return false, err
	}
	for _, s := range sinks {
		if !sendRetrying(ctx, s, m.ID, line, cfg) {
			return false, nil
		}
	}
	if _, err := st.Outbox().MarkDelivered(a.Seq); err != nil {
		return false, err
	}
	if cfg.OnDelivered != nil {
		cfg.OnDelivered(m)
	}
	return true, nil
}

// sendRetrying sends one alert to s until it succeeds, waiting between
// tries from 250 ms doubling up to cfg.MaxBackoff; false when ctx ended
// first.
func sendRetrying(ctx context.Context, s Sink, id string, line []byte, cfg DeliverConfig) bool {
	backoff := 250 * time.Millisecond
	for {
		err := s.Send(ctx, id, line)
		if err == nil {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		cfg.Logger.Warn("alert delivery failed; retrying", "sink", s.Name(), "alert", id, "retry_in", backoff, "err", err)
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return false
		}
		backoff = min(2*backoff, cfg.MaxBackoff)
	}
}

// FileSink appends JSON lines to a file and syncs each. It remembers the
// ids already in the file, so an alert sent again after a crash is written
// once; a torn last line (a kill mid-write) is cut off when opened.
type FileSink struct {
	path string
	f    *os.File
	seen map[string]bool
}

// OpenFile opens or creates a JSON-lines alert file.
func OpenFile(path string) (*FileSink, error) {
	data, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return nil, fmt.Errorf("alert: %w", err)
	}
	if i := bytes.LastIndexByte(data, '\n'); i+1 < len(data) {
		data = data[:i+1]
		if err := os.Truncate(path, int64(len(data))); err != nil {
			return nil, fmt.Errorf("alert: cut torn line: %w", err)
		}
	}
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var m struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(sc.Bytes(), &m) == nil && m.ID != "" {
			seen[m.ID] = true
		}
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("alert: %w", err)
	}
	return &FileSink{path: path, f: f, seen: seen}, nil
}

func (s *FileSink) Name() string { return s.path }

func (s *FileSink) Send(_ context.Context, id string, line []byte) error {
	if s.seen[id] {
		return nil
	}
	if _, err := s.f.Write(append(line[:len(line):len(line)], '\n')); err != nil {
		return err
	}
	if err := s.f.Sync(); err != nil {
		return err
	}
	s.seen[id] = true
	return nil
}

// Close closes the file.
func (s *FileSink) Close() error { return s.f.Close() }

// WriterSink writes JSON lines to a stream such as stdout.
type WriterSink struct {
	mu sync.Mutex
	W  io.Writer
}

func (s *WriterSink) Name() string { return "stdout" }

func (s *WriterSink) Send(_ context.Context, _ string, line []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := s.W.Write(append(line[:len(line):len(line)], '\n'))
	return err
}

// SignatureHeader carries "sha256=" and the hex HMAC-SHA256 of the body
// keyed by the webhook secret.
const SignatureHeader = "X-Tracer-Signature"

// Sign returns the SignatureHeader value for body.
func Sign(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// WebhookSink POSTs each alert as JSON. Any status but 2xx is a failure
// that Deliver retries; receivers deduplicate by the X-Tracer-Alert-Id
// header (or the body's id).
type WebhookSink struct {
	URL    string
	Secret []byte
	Client *http.Client // nil: 10 s timeout
}

func (s *WebhookSink) Name() string { return s.URL }

func (s *WebhookSink) Send(ctx context.Context, id string, line []byte) error {
	c := s.Client
	if c == nil {
		c = &http.Client{Timeout: 10 * time.Second}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL, bytes.NewReader(line))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Tracer-Alert-Id", id)
	if len(s.Secret) > 0 {
		req.Header.Set(SignatureHeader, Sign(s.Secret, line))
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	// Drained so the connection can be reused; only the status matters, so
	// a failed read or Close of the answer's body changes nothing.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	_ = resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("webhook answered %s", resp.Status)
	}
	return nil
}
