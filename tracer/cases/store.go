package cases

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/tracer"
	"github.com/tracer-oss/tracer/tracer/seedsel"
)

// ForStore returns the Service of a store: cases kept in st, traces run
// over graph (the store, or its trace index) with the labels of tracer
// trace (seedsel), expansions read from st.
func ForStore(st *store.Store, graph tracer.Graph, params *chaincfg.Params) *Service {
	sel := seedsel.New(st, params)
	tr := DirectTracer{Graph: graph, Params: params,
		Labels: func(backward bool) (tracer.Labeler, error) { return sel.Labels(backward) },
		Data:   func() tracer.DataInfo { return dataInfo(st) }}
	txNum := func(txid string) (store.TxNum, error) {
		h, err := chainhash.NewHashFromStr(txid)
		if err != nil {
			return 0, err
		}
		return st.TxNumOf(*h)
	}
	s := New(st, tr, st, txNum, params)
	s.Versions = func() (DataVersions, error) { return storeVersions(st) }
	return s
}

func dataInfo(st *store.Store) tracer.DataInfo {
	s := st.State()
	packs, _ := seedsel.PackInfo(st)
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
	dv := DataVersions{Network: s.Network, TipHeight: s.Height, TipHash: s.Hash.String(), SanctionsList: seedsel.ListInfo(st)}
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
