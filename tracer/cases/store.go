package cases

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/tracer"
	"github.com/tracer-oss/tracer/tracer/seedsel"
	"github.com/tracer-oss/tracer/tracer/spec"
)

// ForStore returns the Service of a store: cases kept in st, traces run
// by runner (spec.NewRunner over st), expansions read from chain (the
// store, or its trace index).
func ForStore(st *store.Store, runner *spec.Runner, chain tracer.Graph, params *chaincfg.Params) *Service {
	return ForRoom(st, st.Cases(), runner, chain, params)
}

// ForRoom is ForStore with the cases kept in room instead of st's own: a
// live server reads the chain from a snapshot (st) and sends case writes
// to the loop that writes the store.
func ForRoom(st *store.Store, room Store, runner *spec.Runner, chain tracer.Graph, params *chaincfg.Params) *Service {
	txNum := func(txid string) (store.TxNum, error) {
		h, err := chainhash.NewHashFromStr(txid)
		if err != nil {
			return 0, err
		}
		return st.TxNumOf(*h)
	}
	s := New(room, SpecTracer{Runner: runner}, chain, txNum, params)
	s.Versions = func() (DataVersions, error) { return storeVersions(st) }
	s.Exposure = StoreExposure(st, params)
	return s
}

// clusterInfo describes the store's clusters as tracer trace does ("" without).
func clusterInfo(st *store.Store) string {
	cs, ok, err := st.ClusterState()
	if err != nil || !ok {
		return ""
	}
	rules := "none"
	if len(cs.Rules) > 0 {
		rules = strings.Join(cs.Rules, ", ")
	}
	return fmt.Sprintf("clusters of %d addresses up to tx %d (change rules: %s)", cs.Addresses, cs.NextTx, rules)
}

func sum(v any) string {
	b, _ := json.Marshal(v)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// storeVersions names the store's data now.
func storeVersions(st *store.Store) (DataVersions, error) {
	s := st.State()
	dv := DataVersions{Network: s.Network, TipHeight: s.Height, TipHash: s.Hash.String(), SanctionsList: seedsel.ListInfo(st), Clusters: clusterInfo(st)}
	lv, err := st.Lists().Version(0)
	switch {
	case err == nil:
		lv.Current = false
		dv.ListVersion, dv.ListSHA256 = lv.Version, sum(lv)
	case !errors.Is(err, store.ErrNotFound):
		return dv, err
	}
	packs, err := st.Tags().Packs()
	if err != nil {
		return dv, err
	}
	for _, p := range packs {
		dv.TagPacks = append(dv.TagPacks, PackVersion{Name: p.Name, Gen: p.Gen, Tags: p.Tags, SHA256: sum(p)})
	}
	return dv, nil
}
