package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/tracer-oss/tracer/store/storetest"
	"github.com/tracer-oss/tracer/tracer/screen/api"
)

// rpcChain serves the blocks of a generated regtest chain over the three
// JSON-RPC methods a follower calls (getblockchaininfo, getblockhash,
// getblock verbosity 0), as btcd does in HTTP POST mode; it returns the
// URL and the tip's hash.
func rpcChain(t *testing.T, blocksDir string) (string, chainhash.Hash) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(blocksDir, "blk*.dat"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no blk files in %s: %v", blocksDir, err)
	}
	sort.Strings(files)
	var raws [][]byte
	for _, f := range files {
		raws = append(raws, storetest.RawBlocks(t, f)...)
	}
	hashes := make([]chainhash.Hash, len(raws))
	byHash := map[string][]byte{}
	for i, raw := range raws {
		var h wire.BlockHeader
		if err := h.Deserialize(bytes.NewReader(raw)); err != nil {
			t.Fatal(err)
		}
		hashes[i] = h.BlockHash()
		byHash[hashes[i].String()] = raw
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Method string            `json:"method"`
			Params []json.RawMessage `json:"params"`
			ID     json.RawMessage   `json:"id"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var result any
		var rpcErr any
		switch req.Method {
		case "getblockchaininfo":
			result = map[string]any{"chain": "regtest", "blocks": len(hashes) - 1, "bestblockhash": hashes[len(hashes)-1].String()}
		case "getblockhash":
			var h int
			if len(req.Params) == 1 && json.Unmarshal(req.Params[0], &h) == nil && h >= 0 && h < len(hashes) {
				result = hashes[h].String()
			} else {
				rpcErr = map[string]any{"code": -8, "message": "Block height out of range"}
			}
		case "getblock":
			var hash string
			if len(req.Params) >= 1 && json.Unmarshal(req.Params[0], &hash) == nil && byHash[hash] != nil {
				result = hex.EncodeToString(byHash[hash])
			} else {
				rpcErr = map[string]any{"code": -5, "message": "Block not found"}
			}
		default:
			rpcErr = map[string]any{"code": -32601, "message": "Method not found"}
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"result": result, "error": rpcErr, "id": req.ID}) //nolint:errcheck // the client sees a broken reply
	}))
	t.Cleanup(srv.Close)
	return srv.URL, hashes[len(hashes)-1]
}

// TestLiveTraceEverywhere: GET /v1/trace of a live `serve --rpc` (which
// answers from its published snapshot, not the trace index) gives the
// same hits, byte for byte, and the same parameters and data as `tracer
// trace` and a job file of `tracer jobs run` on the same store at the same
// tip.
func TestLiveTraceEverywhere(t *testing.T) {
	cc := buildClusteredCase(t)
	node, tip := rpcChain(t, filepath.Join(cc.gen, "blocks"))
	addr := "127.0.0.1:" + storetest.FreePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var errb lockedBuffer
	code := -1
	wg.Add(1)
	go func() {
		defer wg.Done()
		code = run(ctx, []string{"tracer", "--db", cc.db, "serve", "--rpc", node, "--rpc-user", "u", "--rpc-pass", "p", "--poll", "50ms", "--listen", addr}, io.Discard, &errb)
	}()
	stop := func() { cancel(); wg.Wait() }
	defer stop()
	base := "http://" + addr
	deadline := time.Now().Add(60 * time.Second)
	for {
		var st api.StatusResponse
		resp, err := http.Get(base + "/v1/status")
		if err == nil {
			err = json.NewDecoder(resp.Body).Decode(&st)
			resp.Body.Close()
		}
		if err == nil && st.TipHash == tip.String() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve --rpc did not reach the node's tip %s: %v %+v\n%s", tip, err, st, errb.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	status, apiBody := get(t, base+"/v1/trace?"+cc.specQuery().Encode())
	if status != 200 {
		t.Fatalf("/v1/trace: %d %s\n%s", status, apiBody, errb.String())
	}
	var asOf api.AsOf
	if err := json.Unmarshal(apiBody, &asOf); err != nil || asOf.TipHash != tip.String() {
		t.Fatalf("/v1/trace answered from %+v (%v); want tip %s", asOf, err, tip)
	}
	stop() // the store is the server's while it runs
	if code != 0 {
		t.Fatalf("serve --rpc: exit %d: %s", code, errb.String())
	}
	cliBody, jobBody := cc.specRuns(t)
	hits, viaCluster := sameSpecOutputs(t, cliBody, jobBody, apiBody)
	t.Logf("%d hits (%d via cluster), byte-identical from trace, jobs run and a live server's /v1/trace", hits, viaCluster)
}
