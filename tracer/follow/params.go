package follow

import (
	"fmt"

	"github.com/btcsuite/btcd/chaincfg"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/network"
)

func paramsOf(st *store.Store, fallback string) (*chaincfg.Params, error) {
	name := st.State().Network
	if name == "" {
		name = fallback
	}
	n, err := network.ByName(name)
	if err != nil {
		return nil, fmt.Errorf("follow: %w", err)
	}
	return n.Params, nil
}
