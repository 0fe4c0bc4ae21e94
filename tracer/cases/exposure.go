package cases

import (
	"errors"
	"fmt"
	"strings"

	"github.com/btcsuite/btcd/chaincfg"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/tracer/graphview"
	"github.com/tracer-oss/tracer/tracer/report"
	"github.com/tracer-oss/tracer/tracer/screen"
)

// NotIndexed is the exposure shown when the store has no exposure index.
const NotIndexed = "not indexed"

// ExposureStore is what storeExposure reads: the exposure index that
// tracer screen --rebuild-index builds, and the chain its records are drawn
// from (*store.Store and its snapshots implement it).
type ExposureStore = screen.Store

// StoreExposure returns an Exposure function reading st's exposure index:
// one header read, then a record drawn per address (screen.Reader).
func StoreExposure(st ExposureStore, params *chaincfg.Params) func(addrs []string) (map[string]string, error) {
	return exposureOf(st, st.Exposure().Info, params)
}

// StoreExposureAt is StoreExposure reading generation hdr of st's exposure
// index (nil: none) rather than the one in force: the generation of a live
// view, for the case viewer's exposure column.
func StoreExposureAt(st ExposureStore, hdr *store.ExposureIndex, params *chaincfg.Params) func(addrs []string) (map[string]string, error) {
	return exposureOf(st, func() (store.ExposureIndex, error) {
		if hdr == nil {
			return store.ExposureIndex{}, store.ErrNotFound
		}
		return *hdr, nil
	}, params)
}

// exposureOf reads st's exposure index at the generation info names.
func exposureOf(st ExposureStore, info func() (store.ExposureIndex, error), params *chaincfg.Params) func(addrs []string) (map[string]string, error) {
	return func(addrs []string) (map[string]string, error) {
		out := make(map[string]string, len(addrs))
		hdr, err := info()
		if errors.Is(err, store.ErrNotFound) {
			for _, a := range addrs {
				out[a] = NotIndexed
			}
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		of := fmt.Sprintf("index of block %d", hdr.TipHeight)
		if tip := st.State().Height; tip != hdr.TipHeight {
			of = fmt.Sprintf("index of block %d, store at %d: stale", hdr.TipHeight, tip)
		}
		rd, err := screen.NewReader(st, hdr, params, 0)
		if errors.Is(err, screen.ErrIndexStale) {
			for _, a := range addrs {
				out[a] = fmt.Sprintf("not indexed (%s: %v)", of, err)
			}
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		for _, a := range addrs {
			r, found, err := rd.Record(a)
			if err != nil {
				return nil, err
			}
			if !found {
				out[a] = "none (" + of + ")"
				continue
			}
			out[a] = summarizeExposure(r) + " (" + of + ")"
		}
		return out, nil
	}
}

// summarizeExposure states a record in one line, sanctioned first.
func summarizeExposure(r screen.Record) string {
	var parts []string
	for _, e := range r.Exposures {
		if e.Amount <= 0 {
			continue
		}
		p := fmt.Sprintf("%s %.2f%% (%s BTC, nearest %d hops", e.Category, e.Share*100, report.BTC(e.Amount), e.Hops)
		if e.Nearest != "" {
			p += ": " + e.Nearest
		}
		parts = append(parts, p+")")
	}
	if len(parts) == 0 {
		return fmt.Sprintf("none of %s BTC received", report.BTC(r.Received))
	}
	return strings.Join(parts, "; ") + fmt.Sprintf(" of %s BTC received", report.BTC(r.Received))
}

// annotate sets the exposure of g's address nodes.
func (s *Service) annotate(g *graphview.Graph) error {
	if s.Exposure == nil {
		return nil
	}
	var addrs []string
	for _, n := range g.Nodes {
		if n.Kind == graphview.KindAddress && n.Address != "" {
			addrs = append(addrs, n.Address)
		}
	}
	if len(addrs) == 0 {
		return nil
	}
	ex, err := s.Exposure(addrs)
	if err != nil {
		return fmt.Errorf("cases: exposure: %w", err)
	}
	for i := range g.Nodes {
		n := &g.Nodes[i]
		if n.Kind == graphview.KindAddress && n.Address != "" {
			n.Exposure = ex[n.Address]
		}
	}
	return nil
}
