package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/flow"

	"github.com/urfave/cli/v2"
)

func statusCommand() *cli.Command {
	return &cli.Command{
		Name:   "status",
		Usage:  "show the store's network, tip, counts and size",
		Flags:  []cli.Flag{jsonFlag},
		Action: runStatus,
	}
}

type statusView struct {
	Store       string `json:"store"`
	Network     string `json:"network"`
	Empty       bool   `json:"empty"`
	Height      int32  `json:"height"`
	Hash        string `json:"hash,omitempty"`
	Time        string `json:"time,omitempty"`
	StartHeight int32  `json:"start_height"`
	Blocks      int64  `json:"blocks"`
	Txs         uint64 `json:"txs"`
	Inputs      int64  `json:"inputs"`
	Outputs     int64  `json:"outputs"`
	External    int64  `json:"external_inputs"`
	Unspent     int64  `json:"unspent_sat"`
	DiskBytes   int64  `json:"disk_bytes"`
	// Clusters is the clustering state; nil before tracer cluster ran.
	Clusters *store.ClusterState `json:"clusters,omitempty"`
	// TraceIndex is the flow index forward traces walk; nil before the
	// first forward trace built it.
	TraceIndex *traceIndexView `json:"trace_index,omitempty"`
}

type traceIndexView struct {
	Txs     uint64 `json:"txs"`
	Height  int32  `json:"height"`
	Bytes   int64  `json:"bytes"`
	Current bool   `json:"current"` // false: the next forward trace extends or rebuilds it
	Damaged string `json:"damaged,omitempty"`
}

func runStatus(c *cli.Context) (err error) {
	st, err := openStore(c, true)
	if err != nil {
		return err
	}
	defer closing(st, &err)
	v, err := storeStatus(st)
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c, v)
	}
	return printStatus(c.App.Writer, v)
}

// storeStatus describes the store: its chain, clusters and trace index.
func storeStatus(st *store.Store) (*statusView, error) {
	s := st.State()
	v := &statusView{Store: st.Dir(), Network: s.Network, Empty: s.Empty(), Height: s.Height, StartHeight: s.StartHeight,
		Blocks: s.Blocks, Txs: uint64(s.NextTx), Inputs: s.Inputs, Outputs: s.Outputs, External: s.External,
		Unspent: s.Value, DiskBytes: st.DiskSize()}
	if cs, ok, err := st.ClusterState(); err != nil {
		return nil, err
	} else if ok {
		v.Clusters = &cs
	}
	if fs, cur, err := flow.Describe(st); errors.Is(err, flow.ErrCorrupt) {
		v.TraceIndex = &traceIndexView{Damaged: err.Error()}
	} else if err != nil {
		return nil, err
	} else if fs.Txs > 0 {
		v.TraceIndex = &traceIndexView{Txs: fs.Txs, Height: fs.Height, Bytes: fs.Bytes, Current: cur}
	}
	if !s.Empty() {
		v.Hash = s.Hash.String()
		b, err := st.BlockByHeight(s.Height)
		if err != nil {
			return nil, err
		}
		v.Time = b.Time().Format("2006-01-02 15:04:05 UTC")
	}
	return v, nil
}

// printStatus renders the store's status for people.
func printStatus(w io.Writer, v *statusView) error {
	if v.Empty {
		fmt.Fprintf(w, "store %s is empty: run tracer ingest --blocks PATH\n", v.Store)
		return nil
	}
	fmt.Fprintf(w, "store      %s (%.1f MB on disk)\n", v.Store, float64(v.DiskBytes)/1e6)
	fmt.Fprintf(w, "network    %s\n", v.Network)
	fmt.Fprintf(w, "tip        %d %s (%s)\n", v.Height, v.Hash, v.Time)
	fmt.Fprintf(w, "range      heights %d–%d, %d blocks\n", v.StartHeight, v.Height, v.Blocks)
	fmt.Fprintf(w, "txs        %d (%d inputs, %d outputs)\n", v.Txs, v.Inputs, v.Outputs)
	if v.External > 0 {
		fmt.Fprintf(w, "external   %d inputs spend outputs from before height %d (value unknown)\n", v.External, v.StartHeight)
	}
	fmt.Fprintf(w, "unspent    %s BTC in tracked outputs\n", btc(v.Unspent))
	if cs := v.Clusters; cs != nil {
		behind := ""
		if uint64(cs.NextTx) < v.Txs {
			behind = fmt.Sprintf(" (%d txs not yet clustered: run tracer cluster)", v.Txs-uint64(cs.NextTx))
		}
		if cs.Dirty {
			behind = " (OUT OF DATE: a reorganisation undid clustered transactions; run tracer cluster --rebuild)"
		}
		fmt.Fprintf(w, "clusters   %d addresses in %d clusters, largest %d, up to tx %d%s\n", cs.Addresses, cs.Clusters, cs.Largest, cs.NextTx, behind)
		fmt.Fprintf(w, "guard      %d merges refused (both clusters > %d addresses)\n", cs.Refused, cs.MaxMerge)
	} else {
		fmt.Fprintln(w, "clusters   none (run tracer cluster)")
	}
	switch ti := v.TraceIndex; {
	case ti == nil:
		fmt.Fprintln(w, "trace idx  none (the first forward tracer trace builds it)")
	case ti.Damaged != "":
		fmt.Fprintf(w, "trace idx  damaged: %s (tracer verify --repair, or the next forward trace, rebuilds it)\n", ti.Damaged)
	case ti.Current:
		fmt.Fprintf(w, "trace idx  %d txs up to height %d, %.1f MB, current\n", ti.Txs, ti.Height, float64(ti.Bytes)/1e6)
	default:
		fmt.Fprintf(w, "trace idx  %d txs up to height %d, %.1f MB, behind the store (the next forward trace updates it)\n", ti.Txs, ti.Height, float64(ti.Bytes)/1e6)
	}
	return nil
}
