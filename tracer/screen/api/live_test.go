package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tracer-oss/tracer/tracer/screen/api"
)

// fakeAdmin records what the admin routes hand it.
type fakeAdmin struct {
	got       []string
	failAfter bool // Backup fails after writing part of the file
}

func (a *fakeAdmin) LoadSanctions(ctx context.Context, name string, _ bool, body io.Reader) (any, error) {
	b, err := io.ReadAll(body)
	a.got = append(a.got, fmt.Sprintf("sanctions %s %s by %s", name, b, api.AdminName(ctx)))
	return map[string]string{"ok": "sanctions"}, err
}

func (a *fakeAdmin) LoadTags(ctx context.Context, pack string, body io.Reader) (any, error) {
	b, err := io.ReadAll(body)
	a.got = append(a.got, fmt.Sprintf("tags %s %s", pack, b))
	return map[string]string{"ok": "tags"}, err
}

func (a *fakeAdmin) AddWatch(ctx context.Context, req api.WatchRequest) (any, error) {
	if req.Address == "bad" {
		return nil, fmt.Errorf("%w: bad address", api.ErrAdminInput)
	}
	a.got = append(a.got, "watch "+req.Address)
	return map[string]string{"ok": "watch"}, nil
}

func (a *fakeAdmin) RemoveWatch(ctx context.Context, addr string) (any, error) {
	a.got = append(a.got, "unwatch "+addr)
	return map[string]string{"ok": "unwatch"}, nil
}

func (a *fakeAdmin) Backup(ctx context.Context, w io.Writer) error {
	a.got = append(a.got, "backup by "+api.AdminName(ctx))
	if a.failAfter {
		if _, err := io.WriteString(w, "tracer-backup 2\npartial"); err != nil {
			return err
		}
		return errors.New("disk gone")
	}
	_, err := io.WriteString(w, "BACKUP-BYTES")
	return err
}

const (
	apiKey   = "api-key-0123456789abcdef"
	adminKey = "admin-key-0123456789abcdef"
)

// TestAdminRoutes: the admin routes are refused, each with its reason,
// without an admin API or without admin keys; they take an admin key and
// refuse an API key, and the other routes refuse an admin key.
func TestAdminRoutes(t *testing.T) {
	keys := []api.Key{{Name: "client", Secret: apiKey}}
	admins := []api.Key{{Name: "ops", Secret: adminKey}}
	tests := []struct {
		name         string
		admin        bool
		adminKeys    []api.Key
		method, path string
		key, body    string
		code         int
		want, got    string
	}{
		{"no admin API", false, admins, "POST", "/v1/admin/sanctions?name=l.csv", adminKey, "x", http.StatusNotFound, "serve --rpc", ""},
		{"no admin keys", true, nil, "POST", "/v1/admin/sanctions?name=l.csv", adminKey, "x", http.StatusForbidden, "--admin-keys", ""},
		{"no key", true, admins, "POST", "/v1/admin/sanctions?name=l.csv", "", "x", http.StatusUnauthorized, "admin key", ""},
		{"an API key", true, admins, "POST", "/v1/admin/sanctions?name=l.csv", apiKey, "x", http.StatusUnauthorized, "not an admin key", ""},
		{"sanctions", true, admins, "POST", "/v1/admin/sanctions?name=l.csv", adminKey, "LIST", 200, `"sanctions"`, "sanctions l.csv LIST by ops"},
		{"tags", true, admins, "POST", "/v1/admin/tags?name=pack1", adminKey, "TAGS", 200, `"tags"`, "tags pack1 TAGS"},
		{"tags without a name", true, admins, "POST", "/v1/admin/tags", adminKey, "TAGS", 400, "?name=PACK", ""},
		{"watch", true, admins, "POST", "/v1/admin/watches", adminKey, `{"address":"a1"}`, 200, `"watch"`, "watch a1"},
		{"watch, bad body", true, admins, "POST", "/v1/admin/watches", adminKey, `{"adress":"a1"}`, 400, "bad JSON body", ""},
		{"watch, refused input", true, admins, "POST", "/v1/admin/watches", adminKey, `{"address":"bad"}`, 400, "bad address", ""},
		{"unwatch", true, admins, "DELETE", "/v1/admin/watches/a1", adminKey, "", 200, `"unwatch"`, "unwatch a1"},
		{"backup", true, admins, "GET", "/v1/admin/backup", adminKey, "", 200, "BACKUP-BYTES", "backup by ops"},
		{"backup with an API key", true, admins, "GET", "/v1/admin/backup", apiKey, "", http.StatusUnauthorized, "not an admin key", ""},
		{"an admin key on a screening route", true, admins, "GET", "/v1/status", adminKey, "", http.StatusUnauthorized, "API key", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fa := &fakeAdmin{}
			cfg := api.Config{Keys: keys, AdminKeys: tt.adminKeys}
			if tt.admin {
				cfg.Admin = fa
			}
			s, _ := newServer(t, cfg)
			code, _, resp := do(t, s, tt.method, tt.path, tt.key, strings.NewReader(tt.body))
			if code != tt.code || !strings.Contains(string(resp), tt.want) {
				t.Errorf("%s %s: %d %s; want %d with %q", tt.method, tt.path, code, resp, tt.code, tt.want)
			}
			if got := strings.Join(fa.got, "|"); got != tt.got {
				t.Errorf("the admin was asked %q; want %q", got, tt.got)
			}
		})
	}
}

// TestAdminBackupCut: a backup that fails after it started sending is
// cut (the client sees a broken transfer, never a complete-looking file
// with an error appended).
func TestAdminBackupCut(t *testing.T) {
	fa := &fakeAdmin{failAfter: true}
	s, _ := newServer(t, api.Config{Admin: fa, AdminKeys: []api.Key{{Name: "ops", Secret: adminKey}}})
	srv := httptest.NewServer(s)
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/v1/admin/backup", nil)
	req.Header.Set("X-Admin-Key", adminKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return // cut before the headers went out: what was written was still buffered
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err == nil || strings.Contains(string(body), "disk gone") {
		t.Fatalf("a failed backup read whole: %q, %v; want a cut transfer", body, err)
	}
}

// TestViews: with Views, every request answers from the view it took
// and releases it when it ends; answers name the view's tip and list.
func TestViews(t *testing.T) {
	f := loadFixture(t)
	var taken, released atomic.Int64
	s, err := api.New(api.Config{Views: func() (api.View, func()) {
		taken.Add(1)
		return api.View{Screener: f.scr, Pending: &api.Pending{ListVersion: 9, Stage: "building"}}, func() { released.Add(1) }
	}})
	if err != nil {
		t.Fatal(err)
	}
	st := f.scr.Status()
	want := api.AsOf{TipHeight: st.TipHeight, TipHash: st.TipHash, ListVersion: st.ListVersion}
	for _, path := range []string{"/v1/address/" + exposedDeposit(f), "/v1/status"} {
		code, _, resp := do(t, s, "GET", path, "", nil)
		var got struct {
			api.AsOf
			Pending *api.Pending `json:"pending"`
		}
		if code != 200 || json.Unmarshal(resp, &got) != nil || got.AsOf != want {
			t.Errorf("%s: %d %.300s; want %+v", path, code, resp, want)
		}
		if path == "/v1/status" && (got.Pending == nil || got.Pending.ListVersion != 9) {
			t.Errorf("status without the pending build: %.300s", resp)
		}
	}
	code, _, resp := do(t, s, "POST", "/v1/screen", "", strings.NewReader(`{"addresses":["`+exposedDeposit(f)+`"]}`))
	var batch api.BatchResponse
	if code != 200 || json.Unmarshal(resp, &batch) != nil || batch.AsOf != want {
		t.Errorf("batch: %d %.300s; want %+v", code, resp, want)
	}
	code, _, resp = do(t, s, "GET", "/v1/trace?seed="+f.truth.Seeds[0].Address, "", nil)
	if code != http.StatusNotImplemented {
		t.Errorf("trace in a view without a tracer: %d %.200s; want 501", code, resp)
	}
	if taken.Load() != 4 || released.Load() != 4 {
		t.Errorf("views taken %d, released %d; want 4 and 4", taken.Load(), released.Load())
	}
}
