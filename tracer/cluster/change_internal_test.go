package cluster

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/tracer-oss/tracer/sanctions/address"
	"github.com/tracer-oss/tracer/store"
)

// TestTxViewDistinctInputs: a view's input addresses are the distinct
// clusterable ones in input order, P2PK and its P2PKH one address, for
// few inputs (compared one by one) and many (looked up in a map), with
// one view reused across transactions as a pass reuses it.
func TestTxViewDistinctInputs(t *testing.T) {
	pool := func(i int) address.Addr {
		kinds := []address.Kind{address.P2WPKH, address.P2PK, address.P2PKH, address.P2TR, address.Multisig}
		a := address.Addr{Kind: kinds[i%len(kinds)]}
		// P2PK and P2PKH share payloads (i/5 for both), so they are one.
		a.Payload[0], a.Payload[1] = byte(i/5), byte(i/5>>8)
		return a
	}
	r := rand.New(rand.NewPCG(1, 2))
	var v txView
	for _, n := range []int{2, 3, 15, 16, 17, 40, 300, 5, 1000, 2} {
		for _, distinct := range []int{1, n / 2, n} {
			t.Run(fmt.Sprintf("%d inputs of %d addresses", n, distinct), func(t *testing.T) {
				tx := &store.Tx{Inputs: make([]store.Input, n)}
				spent := make([]store.Spent, n)
				for i := range spent {
					spent[i] = store.Spent{Known: i%7 != 6, Output: store.Output{Value: 1, Addr: pool(r.IntN(max(distinct, 1)))}}
				}
				var want []address.Addr
				for _, s := range spent {
					if s.Known && clusterable(s.Addr) && !slices.ContainsFunc(want, s.Addr.Same) {
						want = append(want, s.Addr)
					}
				}
				v.reset(tx, spent)
				if !slices.EqualFunc(v.ins, want, address.Addr.Same) {
					t.Fatalf("%d distinct inputs %v, want %d %v", len(v.ins), v.ins, len(want), want)
				}
			})
		}
	}
}
