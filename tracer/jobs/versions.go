package jobs

import (
	"fmt"
	"strings"
	"time"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/tracer/seedsel"
	"github.com/tracer-oss/tracer/tracer/spec"
)

// Versions are the data versions a batch is computed on: the store's tip,
// the sanctions list in force and each tag pack's generation. A finished
// job's output is valid for exactly these.
type Versions struct {
	Network       string        `json:"network"`
	TipHeight     int32         `json:"tip_height"`
	TipHash       string        `json:"tip_hash"`
	SanctionsList string        `json:"sanctions_list"` // "" when none is loaded
	TagPacks      []PackVersion `json:"tag_packs"`
	// Clusters states the store's clustering ("" when never clustered):
	// jobs use cluster labels when there are clusters, as every trace does.
	Clusters string `json:"clusters,omitempty"`
}

// PackVersion is one stored tag pack's generation.
type PackVersion struct {
	Name     string    `json:"name"`
	Gen      uint32    `json:"gen"`
	Tags     int       `json:"tags"`
	LoadedAt time.Time `json:"loaded_at"`
}

// CurrentVersions reads the data versions of st.
func CurrentVersions(st *store.Store) (Versions, error) {
	s := st.State()
	v := Versions{Network: s.Network, TipHeight: s.Height, TipHash: s.Hash.String(), SanctionsList: seedsel.ListInfo(st), TagPacks: []PackVersion{}}
	packs, err := st.Tags().Packs()
	if err != nil {
		return v, err
	}
	for _, p := range packs {
		v.TagPacks = append(v.TagPacks, PackVersion{Name: p.Name, Gen: p.Gen, Tags: p.Tags, LoadedAt: p.LoadedAt.UTC()})
	}
	cs, clustered, err := st.ClusterState()
	if err != nil {
		return v, err
	}
	if clustered {
		v.Clusters = spec.ClusterInfo(cs)
	}
	return v, nil
}

// Diff describes how now differs from v, "" when it does not.
func (v Versions) Diff(now Versions) string {
	var d []string
	if v.Network != now.Network {
		d = append(d, fmt.Sprintf("network %s, now %s", v.Network, now.Network))
	}
	if v.TipHeight != now.TipHeight || v.TipHash != now.TipHash {
		d = append(d, fmt.Sprintf("store tip %d (%s), now %d (%s)", v.TipHeight, short(v.TipHash), now.TipHeight, short(now.TipHash)))
	}
	if v.SanctionsList != now.SanctionsList {
		d = append(d, fmt.Sprintf("sanctions list %q, now %q", v.SanctionsList, now.SanctionsList))
	}
	if v.Clusters != now.Clusters {
		d = append(d, fmt.Sprintf("clusters %q, now %q", orNone(v.Clusters), orNone(now.Clusters)))
	}
	if packs(v.TagPacks) != packs(now.TagPacks) {
		d = append(d, fmt.Sprintf("tag packs [%s], now [%s]", packs(v.TagPacks), packs(now.TagPacks)))
	}
	return strings.Join(d, "; ")
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12] + "…"
	}
	return h
}

func packs(ps []PackVersion) string {
	var s []string
	for _, p := range ps {
		s = append(s, fmt.Sprintf("%s gen %d, %d tags, loaded %s", p.Name, p.Gen, p.Tags, p.LoadedAt.UTC().Format(time.RFC3339)))
	}
	return strings.Join(s, "; ")
}
