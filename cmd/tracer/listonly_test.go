package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracer-oss/tracer/tracer/screen"
)

// TestServeListOnly is issue 13's list-only serving: a store with a
// sanctions list and no blocks starts tracer serve (it refused, "the store
// is empty"), which screens against the list alone: a listed address is
// sanctioned, any other address of any network none, every answer and
// /v1/status say exposure is unavailable and why, in JSON and on the page,
// which never says "No exposure found". tracer screen answers the same; a
// store without a list still refuses.
func TestServeListOnly(t *testing.T) {
	const listed = "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"
	db := filepath.Join(t.TempDir(), "db")
	if code, _, errs := runCLI(t, "--db", db, "sanctions", "load", ofacFixture("sdn_advanced.xml")); code != 0 {
		t.Fatalf("sanctions load: exit %d: %s", code, errs)
	}
	base := startServe(t, db)

	var st screen.Status
	if code, b := get(t, base+"/v1/status"); code != 200 || json.Unmarshal(b, &st) != nil || !strings.Contains(st.ExposureUnavailable, "no blocks") || st.ListVersion != 1 {
		t.Fatalf("status: %d %s", code, b)
	}
	for _, tc := range []struct {
		addr, risk, method string
		listed             bool
	}{
		{listed, screen.RiskSanctioned, screen.MethodDirect, true},
		{"1BoatSLRHtKNngkdXEeobR76b53LETtpyT", screen.RiskNone, screen.MethodList, false},
		{"bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080", screen.RiskNone, screen.MethodList, false},
		{"tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx", screen.RiskNone, screen.MethodList, false},
	} {
		t.Run(tc.addr, func(t *testing.T) {
			code, b := get(t, base+"/v1/address/"+tc.addr)
			var r screen.Result
			if code != 200 || json.Unmarshal(b, &r) != nil {
				t.Fatalf("GET /v1/address: %d %s", code, b)
			}
			if r.Risk != tc.risk || r.Method != tc.method || r.ExposureUnavailable == "" || len(r.Direct) > 0 != tc.listed || len(r.Exposures) != 0 {
				t.Errorf("got %s", b)
			}
			if !strings.Contains(string(b), `"exposure_unavailable":"the store holds no blocks`) {
				t.Errorf("JSON without exposure_unavailable: %s", b)
			}
			code, page := get(t, base+"/?address="+url.QueryEscape(tc.addr))
			if code != 200 || !strings.Contains(string(page), "Exposure unavailable:") || strings.Contains(string(page), "No exposure found") {
				t.Errorf("page: %d %s", code, page)
			}
			if want := "Not on the sanctions list · exposure not checked"; !tc.listed && !strings.Contains(string(page), want) {
				t.Errorf("page of an unlisted address does not say %q", want)
			}
			if tc.listed && !strings.Contains(string(page), "SANCTIONED") {
				t.Errorf("page of a listed address does not say SANCTIONED")
			}
			code, out, errs := runCLI(t, "--db", db, "screen", "--json", tc.addr)
			var cr screen.Result
			if code != 0 || json.Unmarshal([]byte(out), &cr) != nil || cr.Risk != tc.risk || cr.ExposureUnavailable == "" {
				t.Errorf("tracer screen: exit %d %s %s", code, out, errs)
			}
		})
	}
	if code, b := get(t, base+"/v1/address/notvalid"); code != http.StatusBadRequest {
		t.Errorf("invalid address: %d %s", code, b)
	}
	body, _ := json.Marshal(map[string][]string{"addresses": {listed, "1BoatSLRHtKNngkdXEeobR76b53LETtpyT"}})
	resp, err := http.Post(base+"/v1/screen", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var batch struct {
		Results []screen.Result `json:"results"`
	}
	err = json.NewDecoder(resp.Body).Decode(&batch)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || len(batch.Results) != 2 || batch.Results[0].Risk != screen.RiskSanctioned || batch.Results[1].Risk != screen.RiskNone ||
		batch.Results[1].ExposureUnavailable == "" {
		t.Errorf("POST /v1/screen: %d %+v %v", resp.StatusCode, batch, err)
	}
	if code, _, errs := runCLI(t, "--db", db, "screen", "--rebuild-index"); code != exitUsage || !strings.Contains(errs, "no exposure index to build") {
		t.Errorf("screen --rebuild-index on a list-only store: exit %d %s", code, errs)
	}

	// A store with neither blocks nor a list has nothing to serve.
	empty := filepath.Join(t.TempDir(), "empty")
	if code, _, errs := runCLI(t, "--db", empty, "tags", "load", tagFixture("tags.csv")); code != 0 {
		t.Fatalf("tags load: exit %d %s", code, errs)
	}
	if code, _, errs := runCLI(t, "--db", empty, "serve", "--listen", "127.0.0.1:0"); code != exitUsage || !strings.Contains(errs, "is empty") {
		t.Errorf("serve of a store without blocks or list: exit %d %s", code, errs)
	}
}
