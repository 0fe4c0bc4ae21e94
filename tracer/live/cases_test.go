package live_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tracer-oss/tracer/tracer/cases"
	"github.com/tracer-oss/tracer/tracer/live"
)

// call sends a JSON request to the API and decodes the answer into out.
func (r *running) call(t *testing.T, method, path, body string, out any) int {
	t.Helper()
	return r.send(t, method, path, body, "", out)
}

// send sends a JSON request, with the admin key when one is given, and
// decodes the answer into out.
func (r *running) send(t *testing.T, method, path, body, admin string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, r.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if admin != "" {
		req.Header.Set("X-Admin-Key", admin)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("%s %s: %d, %v", method, path, resp.StatusCode, err)
		}
	}
	return resp.StatusCode
}

// TestCasesOnSnapshots: on a live server, a case's trace runs on the
// published view (its data names the view's tip even while the store is
// ahead of it), a case written is read back at once (also while the view
// is held for an index rebuild), and case writes run on the writing loop:
// while the loop is busy a note waits, and the store does not have it.
func TestCasesOnSnapshots(t *testing.T) {
	c := genChain(t)
	st := listStore(t, c)
	n := int32(len(c.blocks) - 1)
	m := n - 5
	node := &memNode{}
	node.set(c.blocks[:m+1], c.hashes[:m+1])
	release := make(chan struct{})
	var builds atomic.Int32
	r := startWith(t, st, node, func(cfg *live.Config) {
		live.WithBuildGate(cfg, func(ctx context.Context) {
			if builds.Add(1) > 1 { // the first build passes; the one for a tag pack waits
				select {
				case <-release:
				case <-ctx.Done():
				}
			}
		})
	})
	defer close(release)
	r.waitTip(t, c.hashes[m])

	// A tag pack makes the index rebuild; the view is held at m while the
	// store follows the node to n.
	csv := "address,label,category,source\n" + c.truth.Deposits[0].Address + ",Ops Desk,exchange,https://example.org\n"
	if code := r.admin(t, "POST", "/v1/admin/tags?name=ops-pack.csv", csv, nil); code != 200 {
		t.Fatalf("POST tags: %d", code)
	}
	node.set(c.blocks, c.hashes)
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(r.status(t).Stale, fmt.Sprintf("the store is at tip %d", n)) {
		if time.Now().After(deadline) {
			t.Fatalf("view %+v: want the store at %d and the view held", r.status(t), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if s := r.status(t); s.TipHeight != m {
		t.Fatalf("held view at %d; want %d", s.TipHeight, m)
	}

	var made cases.Case
	seed := c.truth.Seeds[0].Address
	if code := r.call(t, "POST", "/v1/cases", `{"seeds": ["`+seed+`"], "title": "live"}`, &made); code != http.StatusCreated || made.ID == 0 {
		t.Fatalf("POST /v1/cases: %d %+v", code, made)
	}
	if made.Data.TipHeight != m || made.Versions.TipHash != c.hashes[m].String() {
		t.Errorf("the case's trace ran at tip %d (%s); want the view's, %d (%s)", made.Data.TipHeight, made.Versions.TipHash, m, c.hashes[m])
	}
	var got cases.Case
	if code := r.call(t, "GET", "/v1/cases/"+itoa(made.ID), "", &got); code != 200 || got.ID != made.ID || got.Title != "live" {
		t.Fatalf("GET the case just made (view held): %d %+v", code, got)
	}
	var list struct{ Cases []cases.Case }
	if code := r.call(t, "GET", "/v1/cases", "", &list); code != 200 || len(list.Cases) != 1 {
		t.Fatalf("GET /v1/cases: %d, %d cases", code, len(list.Cases))
	}

	// While the writing loop is busy, a note waits for it.
	hold := live.HoldLoop(context.Background(), r.svc)
	noted := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest("PUT", r.srv.URL+"/v1/cases/"+itoa(made.ID)+"/notes/"+seed, strings.NewReader(`{"text": "first look"}`))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			noted <- 0
			return
		}
		resp.Body.Close()
		noted <- resp.StatusCode
	}()
	time.Sleep(300 * time.Millisecond)
	select {
	case code := <-noted:
		hold()
		t.Fatalf("a note was written (%d) while the writing loop was busy: case writes bypass the loop", code)
	default:
	}
	if rec, err := st.Cases().Record(made.ID); err != nil || strings.Contains(string(rec), "first look") {
		hold()
		t.Fatalf("the store has the note before the loop ran it (%v)", err)
	}
	hold()
	if code := <-noted; code != 200 {
		t.Fatalf("PUT note: %d", code)
	}
	if code := r.call(t, "GET", "/v1/cases/"+itoa(made.ID), "", &got); code != 200 || got.Notes[seed].Text != "first look" {
		t.Fatalf("the note is not read back at once: %d %+v", code, got.Notes)
	}
}

func itoa(v uint64) string {
	b, _ := json.Marshal(v)
	return string(b)
}
