package accuracy

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/tracer-oss/tracer/sanctions/address"
	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/tracer/cluster"
)

// Pairwise is a clustering's pairwise score against the owners.
type Pairwise struct {
	Addresses      int64   `json:"addresses"` // scored: every address in owners.csv
	Owners         int64   `json:"owners"`
	Clusters       int64   `json:"clusters"`        // clusters (singletons included) over those addresses
	TruePairs      int64   `json:"true_pairs"`      // Σ C(n(o),2)
	PredictedPairs int64   `json:"predicted_pairs"` // Σ C(n(c),2)
	CorrectPairs   int64   `json:"correct_pairs"`   // Σ C(n(c,o),2)
	Precision      float64 `json:"precision"`
	Recall         float64 `json:"recall"`
	Largest        int64   `json:"largest_cluster"`
	// LargestFalse is the largest cluster holding addresses of more than
	// one owner: its size, how many owners and the biggest owner's share.
	LargestFalse       int64   `json:"largest_false_cluster"`
	LargestFalseOwners int64   `json:"largest_false_cluster_owners"`
	LargestFalseShare  float64 `json:"largest_false_cluster_top_share"`
	FalseClusters      int64   `json:"false_clusters"` // clusters holding more than one owner
}

func pairs(n int64) int64 { return n * (n - 1) / 2 }

// Score scores the store's clusters against owners.csv (columns address,
// wallet, owner, kind; a header first). Addresses are decoded for params.
func Score(ctx context.Context, st *store.Store, ownersCSV string, params *chaincfg.Params) (*Pairwise, error) {
	k, err := readOwners(ctx, st, ownersCSV, params)
	if err != nil {
		return nil, err
	}
	return k.score(), nil
}

// cell is the addresses of one owner in one cluster.
type cell struct {
	root  store.AddrID
	owner int32
}

// ownerCounts is owners.csv laid over the store's clusters.
type ownerCounts struct {
	ownerSize   []int64 // addresses per owner, by owner index
	clusterSize map[store.AddrID]int64
	cells       map[cell]int64
	addresses   int64
	singletons  int64 // addresses in no cluster
}

// readOwners reads owners.csv and looks up each address's cluster.
func readOwners(ctx context.Context, st *store.Store, ownersCSV string, params *chaincfg.Params) (*ownerCounts, error) {
	f, err := os.Open(ownersCSV)
	if err != nil {
		return nil, err
	}
	defer f.Close() //nolint:errcheck // opened read-only: Close cannot lose data
	r := csv.NewReader(bufio.NewReaderSize(f, 1<<20))
	r.ReuseRecord = true
	r.FieldsPerRecord = 4
	if _, err := r.Read(); err != nil {
		return nil, fmt.Errorf("%w: %s: header: %v", ErrTruth, ownersCSV, err)
	}
	k := &ownerCounts{clusterSize: map[store.AddrID]int64{}, cells: map[cell]int64{}}
	ownerIdx := map[string]int32{}
	c := st.Clusters()
	for line := 2; ; line++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return k, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrTruth, ownersCSV, err)
		}
		if line%65536 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			c = st.Clusters() // bound the reader's cache
		}
		a, err := address.Parse(rec[0], params)
		if err != nil {
			return nil, fmt.Errorf("%w: %s line %d: %v", ErrTruth, ownersCSV, line, err)
		}
		o, ok := ownerIdx[rec[2]]
		if !ok {
			o = int32(len(k.ownerSize))
			ownerIdx[rec[2]] = o
			k.ownerSize = append(k.ownerSize, 0)
		}
		k.ownerSize[o]++
		k.addresses++
		root, err := rootOf(c, a)
		if err != nil {
			return nil, fmt.Errorf("cluster of %s: %w", rec[0], err)
		}
		if root == 0 {
			k.singletons++
			continue
		}
		k.clusterSize[root]++
		k.cells[cell{root, o}]++
	}
}

// rootOf is a's cluster, 0 when it is in none.
func rootOf(c *store.Clusters, a address.Addr) (store.AddrID, error) {
	id, ok, err := c.Lookup(a)
	if err != nil || !ok {
		return 0, err
	}
	root, _, err := c.Root(id)
	return root, err
}

// score counts the address pairs the clusters and the owners put together
// and the clusters mixing owners.
func (k *ownerCounts) score() *Pairwise {
	res := &Pairwise{Addresses: k.addresses, Owners: int64(len(k.ownerSize)), Clusters: k.singletons + int64(len(k.clusterSize))}
	for _, n := range k.ownerSize {
		res.TruePairs += pairs(n)
	}
	owners := map[store.AddrID]int64{}
	top := map[store.AddrID]int64{}
	for c, n := range k.cells {
		res.CorrectPairs += pairs(n)
		owners[c.root]++
		top[c.root] = max(top[c.root], n)
	}
	for root, n := range k.clusterSize {
		res.PredictedPairs += pairs(n)
		res.Largest = max(res.Largest, n)
		if owners[root] > 1 {
			res.FalseClusters++
			if n > res.LargestFalse {
				res.LargestFalse, res.LargestFalseOwners = n, owners[root]
				res.LargestFalseShare = float64(top[root]) / float64(n)
			}
		}
	}
	res.Precision, res.Recall = 1, 1
	if res.PredictedPairs > 0 {
		res.Precision = float64(res.CorrectPairs) / float64(res.PredictedPairs)
	}
	if res.TruePairs > 0 {
		res.Recall = float64(res.CorrectPairs) / float64(res.TruePairs)
	}
	return res
}

// None is the true kind of a transaction that is not collaborative, and
// Missed the detected kind of one Detect does not flag.
const (
	None   = "none"
	Missed = "missed"
)

// Confusion counts transactions by true kind (rows) and detected kind
// (columns).
type Confusion map[string]map[string]int64

// Kinds returns the row and column names, sorted, None and Missed last.
func (c Confusion) Kinds() (rows, cols []string) {
	seen := map[string]bool{}
	for r, m := range c {
		if r != None {
			rows = append(rows, r)
		}
		for k := range m {
			if !seen[k] && k != Missed {
				seen[k] = true
				cols = append(cols, k)
			}
		}
	}
	sort.Strings(rows)
	sort.Strings(cols)
	if _, ok := c[None]; ok {
		rows = append(rows, None)
	}
	return rows, append(cols, Missed)
}

// ReadCollaborative reads collaborative.csv (columns txid, kind, height,
// inputs, owners): the true kind of every collaborative transaction.
func ReadCollaborative(path string) (map[chainhash.Hash]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close() //nolint:errcheck // opened read-only: Close cannot lose data
	r := csv.NewReader(bufio.NewReader(f))
	r.FieldsPerRecord = 5
	if _, err := r.Read(); err != nil {
		return nil, fmt.Errorf("%w: %s: header: %v", ErrTruth, path, err)
	}
	out := map[chainhash.Hash]string{}
	for line := 2; ; line++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrTruth, path, err)
		}
		h, err := chainhash.NewHashFromStr(rec[0])
		if err != nil || len(rec[0]) != 64 {
			return nil, fmt.Errorf("%w: %s line %d: txid %q", ErrTruth, path, line, rec[0])
		}
		out[*h] = rec[1]
	}
}

// Detections runs cluster.Detect over every stored transaction (coinbases
// aside) and counts it against its true kind.
func Detections(ctx context.Context, st *store.Store, truth map[chainhash.Hash]string) (Confusion, error) {
	c := Confusion{}
	err := st.ForEachTxFunding(0, func(tx *store.Tx, funding []*store.Tx) error {
		if tx.Coinbase {
			return nil
		}
		if tx.Num%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		want, ok := truth[tx.ID]
		if !ok {
			want = None
		}
		got := cluster.Detect(tx, funding)
		if got == "" {
			got = Missed
		}
		if c[want] == nil {
			c[want] = map[string]int64{}
		}
		c[want][got]++
		return nil
	})
	return c, err
}
