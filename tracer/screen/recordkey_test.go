package screen

import (
	"errors"
	"testing"

	"github.com/btcsuite/btcd/chaincfg"

	"github.com/tracer-oss/tracer/sanctions/address"
	"github.com/tracer-oss/tracer/store"
)

// TestRecordKey: every address kind's record key turns back into its
// address string, a P2PK shares its P2PKH's key, keys of different
// addresses differ, and a damaged key is store.ErrCorrupt.
func TestRecordKey(t *testing.T) {
	params := &chaincfg.MainNetParams
	seen := map[string]address.Addr{}
	for k := address.Kind(0); k.Valid(); k++ {
		if !k.HasAddress() {
			if recordKey(address.Addr{Kind: k}) != "" {
				t.Fatalf("kind %v without an address has a key", k)
			}
			continue
		}
		for _, b := range []byte{0, 1, 0xff} {
			a := address.Addr{Kind: k}
			for i := range k.PayloadLen() {
				a.Payload[i] = b ^ byte(i)
			}
			key := recordKey(a)
			back, got, err := addressOfKey(key, params)
			if err != nil || got != a.String(params) || !back.Same(a) {
				t.Fatalf("%v %x: key %x gives %q, %v; want %q", k, a.Payload, key, got, err, a.String(params))
			}
			if p, err := address.Parse(a.String(params), params); err != nil || recordKey(p) != key {
				t.Fatalf("%v: the key of its string differs (%v)", k, err)
			}
			if prev, ok := seen[key]; ok && !prev.Same(a) {
				t.Fatalf("%v and %v share key %x", prev, a, key)
			}
			seen[key] = a
		}
	}
	if _, found, err := (&Reader{params: params}).Record("not an address"); found || err != nil {
		t.Fatalf("a non-address has a record: %v %v", found, err)
	}
	for _, bad := range []string{"", "\xff", string([]byte{byte(address.P2WPKH), 1, 2}), string([]byte{byte(address.P2PK)}) + string(make([]byte, 20))} {
		if _, _, err := addressOfKey(bad, params); !errors.Is(err, store.ErrCorrupt) {
			t.Fatalf("key %x: %v", bad, err)
		}
	}
}
