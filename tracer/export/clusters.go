package export

import (
	"context"
	"fmt"
	"io"

	"github.com/btcsuite/btcd/chaincfg"

	"github.com/tracer-oss/tracer/store"
)

// ClusterRow is one address of the cluster forest: its entity (the
// cluster's root id, as `tracer entity` shows it) and the entity's label
// (empty when the cluster has none, or tags of two entities).
type ClusterRow struct {
	Address string `parquet:"address"`
	Entity  int64  `parquet:"entity"`
	Label   string `parquet:"label"`
}

func (r ClusterRow) record() []string { return []string{r.Address, i64(r.Entity), r.Label} }

// ClusterHeader is the CSV header of a clusters table.
var ClusterHeader = []string{"address", "entity", "label"}

// ClusterStats counts what Clusters wrote.
type ClusterStats struct {
	Addresses int64 `json:"addresses"`
	Entities  int64 `json:"entities"` // distinct roots seen: clusters of two or more, plus singletons interned by the pass
	Labeled   int64 `json:"labeled"`  // addresses with a label
}

// Clusters writes every address of the stored cluster forest, in address
// id order (first use), one row each, streamed: memory stays bounded by
// the forest reader's cache, which is renewed every 1M rows. Addresses in
// no cluster (never an input of a linking transaction) are not listed;
// each is an entity of its own. label names a root's entity ("" for none).
func Clusters(ctx context.Context, st *store.Store, params *chaincfg.Params, f Format, w io.Writer,
	label func(root store.AddrID) string, progress func(done, total int64)) (ClusterStats, error) {
	var stats ClusterStats
	state, ok, err := st.ClusterState()
	if err != nil {
		return stats, err
	}
	if !ok {
		return stats, ErrNoClusters
	}
	t, err := newTable[ClusterRow](w, f, ClusterHeader)
	if err != nil {
		return stats, err
	}
	c := st.Clusters()
	total := int64(state.NextID) - 1
	roots := map[store.AddrID]bool{}
	for id := store.AddrID(1); id < state.NextID; id++ {
		if id%(1<<20) == 0 {
			if err := ctx.Err(); err != nil {
				return stats, err
			}
			c = st.Clusters()
			if progress != nil {
				progress(int64(id), total)
			}
		}
		a, err := c.Addr(id)
		if err != nil {
			return stats, fmt.Errorf("export clusters: address %d: %w", id, err)
		}
		root, _, err := c.Root(id)
		if err != nil {
			return stats, fmt.Errorf("export clusters: cluster of %d: %w", id, err)
		}
		if !roots[root] {
			roots[root] = true
		}
		r := ClusterRow{Address: a.String(params), Entity: int64(root)}
		if label != nil {
			r.Label = label(root)
		}
		if r.Label != "" {
			stats.Labeled++
		}
		if err := t.add(r); err != nil {
			return stats, err
		}
		stats.Addresses++
	}
	stats.Entities = int64(len(roots))
	if progress != nil {
		progress(total, total)
	}
	return stats, t.close()
}
