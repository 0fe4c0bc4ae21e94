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
	"github.com/tracer-oss/tracer/tracer/cluster"
	"github.com/tracer-oss/tracer/tracer/seedsel"
)

// ForStore returns the Service of a store: cases kept in st, traces run
// over graph (the store, or its trace index) with the labels of tracer
// trace (seedsel), expansions read from st.
func ForStore(st *store.Store, graph tracer.Graph, params *chaincfg.Params) *Service {
	sel := seedsel.New(st, params)
	// The trace entry point: the one line to change for another.
	tr := DirectTracer{Graph: graph, Params: params, Labels: storeLabels(st, sel, params), Data: func() tracer.DataInfo { return dataInfo(st) }}
	txNum := func(txid string) (store.TxNum, error) {
		h, err := chainhash.NewHashFromStr(txid)
		if err != nil {
			return 0, err
		}
		return st.TxNumOf(*h)
	}
	s := New(st, tr, st, txNum, params)
	s.Versions = func() (DataVersions, error) { return storeVersions(st) }
	s.Exposure = StoreExposure(st)
	return s
}

// storeLabels labels as tracer trace does by default: direct tags first,
// then, when the store has clusters, the labels of tagged clusters.
func storeLabels(st *store.Store, sel *seedsel.Selector, params *chaincfg.Params) func(bool) (tracer.Labeler, error) {
	return func(backward bool) (tracer.Labeler, error) {
		direct, err := sel.Labels(backward)
		if err != nil {
			return nil, err
		}
		if _, clustered, err := st.ClusterState(); err != nil || !clustered {
			return direct, err
		}
		cl, err := cluster.NewLabeler(st, params, cluster.LabelOptions{})
		if err != nil {
			return nil, err
		}
		return tracer.Labelers{direct, cl}, nil
	}
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

func dataInfo(st *store.Store) tracer.DataInfo {
	s := st.State()
	packs, _ := seedsel.PackInfo(st)
	if c := clusterInfo(st); c != "" {
		packs = append(packs, c)
	}
	return tracer.DataInfo{Network: s.Network, TipHeight: s.Height, TipHash: s.Hash.String(), SanctionsList: seedsel.ListInfo(st), TagPacks: packs}
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
	lv, err := st.SanctionsVersion(0)
	switch {
	case err == nil:
		lv.Current = false
		dv.ListVersion, dv.ListSHA256 = lv.Version, sum(lv)
	case !errors.Is(err, store.ErrNotFound):
		return dv, err
	}
	packs, err := st.TagPacks()
	if err != nil {
		return dv, err
	}
	for _, p := range packs {
		dv.TagPacks = append(dv.TagPacks, PackVersion{Name: p.Name, Gen: p.Gen, Tags: p.Tags, SHA256: sum(p)})
	}
	return dv, nil
}
