package alert_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/chaingen"
	"github.com/tracer-oss/tracer/store/ingest"
	"github.com/tracer-oss/tracer/store/storetest"
	"github.com/tracer-oss/tracer/tracer/alert"
)

var params = &chaincfg.RegressionNetParams

// alertStore ingests a generated chain with the addresses paid in its last
// six blocks watched from six blocks below the tip; it returns the store
// and the tip height.
func alertStore(t *testing.T) (*store.Store, int32) {
	t.Helper()
	dir := t.TempDir()
	if _, err := chaingen.Generate(context.Background(), chaingen.Config{OutDir: dir, Txs: 600, Seed: 3, TxsPerBlock: 20}, nil); err != nil {
		t.Fatal(err)
	}
	blocks := filepath.Join(dir, "blocks")
	full := storetest.Open(t)
	if _, err := ingest.Run(context.Background(), full, ingest.Config{Paths: []string{blocks}, StartHeight: -1, ToHeight: -1}); err != nil {
		t.Fatal(err)
	}
	tip := full.State().Height
	st := storetest.Open(t)
	if _, err := ingest.Run(context.Background(), st, ingest.Config{Paths: []string{blocks}, StartHeight: -1, ToHeight: tip - 6}); err != nil {
		t.Fatal(err)
	}
	for h := tip - 5; h <= tip; h++ {
		b, _ := full.BlockByHeight(h)
		tx, err := full.TxByNum(b.FirstTx + 1)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.WatchList().Add(store.Watch{Kind: store.WatchAddress, Value: tx.Outputs[0].Addr.String(params), FromHeight: tip - 6}); err != nil {
			t.Fatal(err)
		}
	}
	a, err := alert.New(st, params)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ingest.Run(context.Background(), st, ingest.Config{Paths: []string{blocks}, StartHeight: -1, ToHeight: -1, Observer: a, CommitTxs: 30}); err != nil {
		t.Fatal(err)
	}
	return st, tip
}

func statuses(t *testing.T, st *store.Store) map[store.AlertStatus]int {
	t.Helper()
	n := map[store.AlertStatus]int{}
	notices := 0
	if err := st.Outbox().Each(func(a store.Alert) error {
		if a.Retracts != 0 {
			notices++
			return nil
		}
		n[a.Status]++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	n[99] = notices
	return n
}

// TestOutboxRetraction: an undo withdraws the undone blocks' alerts, the
// undelivered ones silently, the delivered ones with one notice each, and an
// alert retracted while in flight gets its notice when marked delivered.
func TestOutboxRetraction(t *testing.T) {
	st, tip := alertStore(t)
	pending, err := st.Outbox().Pending(0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) < 6 {
		t.Fatalf("%d alerts for 6 watched payees", len(pending))
	}
	// Deliver the alerts of blocks up to tip-3; take one of block tip-1 "in flight".
	var inflight store.Alert
	for _, a := range pending {
		switch {
		case a.Height <= tip-3:
			if _, err := st.Outbox().MarkDelivered(a.Seq); err != nil {
				t.Fatal(err)
			}
		case a.Height == tip-1 && inflight.Seq == 0:
			inflight = a
		}
	}
	before := statuses(t, st)
	rr, err := st.Rollback(context.Background(), tip-4)
	if err != nil {
		t.Fatal(err)
	}
	after := statuses(t, st)
	t.Logf("before %v, after %v, rollback %+v", before, after, rr)
	if rr.Notices == 0 || rr.Retracted == 0 || after[99] != rr.Notices || after[store.AlertRetracted] != rr.Retracted || after[store.AlertWithdrawn] != rr.Notices {
		t.Fatalf("rollback %+v, statuses %v", rr, after)
	}
	if inflight.Seq == 0 {
		t.Fatal("no alert at tip-1")
	}
	notice, err := st.Outbox().MarkDelivered(inflight.Seq)
	if err != nil || !notice {
		t.Fatalf("in-flight alert: notice %v, %v", notice, err)
	}
	// A second, deeper undo withdraws nothing twice.
	rr2, err := st.Rollback(context.Background(), tip-6)
	if err != nil {
		t.Fatal(err)
	}
	final := statuses(t, st)
	if final[store.AlertPending] != 0 || final[store.AlertDelivered] != 0 {
		t.Fatalf("after undoing every alerting block: %v (%+v)", final, rr2)
	}
	if final[99] != final[store.AlertWithdrawn] {
		t.Fatalf("%d notices for %d withdrawn alerts", final[99], final[store.AlertWithdrawn])
	}
}

// TestWebhookRetriesAndSignature: a webhook that fails twice gets the
// alert again with backoff, every request signed; the file sink writes
// each id once and cuts a torn last line.
func TestWebhookRetriesAndSignature(t *testing.T) {
	st, _ := alertStore(t)
	want, _ := st.Outbox().Pending(0, 1000)
	secret := []byte("s3cret")
	var mu sync.Mutex
	var got []string
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		calls++
		if r.Header.Get(alert.SignatureHeader) != alert.Sign(secret, body) {
			t.Errorf("bad signature %q", r.Header.Get(alert.SignatureHeader))
		}
		if calls <= 2 {
			http.Error(w, "try later", http.StatusServiceUnavailable)
			return
		}
		var m alert.Message
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatal(err)
		}
		if m.ID != r.Header.Get("X-Tracer-Alert-Id") {
			t.Errorf("id %q vs header %q", m.ID, r.Header.Get("X-Tracer-Alert-Id"))
		}
		got = append(got, m.ID)
	}))
	defer srv.Close()
	path := filepath.Join(t.TempDir(), "alerts.jsonl")
	// a1 already delivered; a torn line
	if err := os.WriteFile(path, []byte(`{"id":"a1","kind":"alert"}`+"\n"+`{"id":"a2","ki`), 0o644); err != nil {
		t.Fatal(err)
	}
	fs, err := alert.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- alert.Deliver(ctx, st, []alert.Sink{fs, &alert.WebhookSink{URL: srv.URL, Secret: secret}},
			alert.DeliverConfig{Poll: 20 * time.Millisecond, MaxBackoff: 50 * time.Millisecond})
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		p, _ := st.Outbox().Pending(0, 1)
		if len(p) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("alerts not delivered")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	fs.Close()
	if len(got) != len(want) || calls != len(want)+2 {
		t.Fatalf("webhook got %d alerts in %d calls, want %d in %d", len(got), calls, len(want), len(want)+2)
	}
	data, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != len(want) {
		t.Fatalf("file holds %d lines, want %d (a1 kept, the torn line cut, a1 not repeated)", len(lines), len(want))
	}
}
