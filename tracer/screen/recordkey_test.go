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
			got, err := addressOfKey(key, params)
			if err != nil || got != a.String(params) {
				t.Fatalf("%v %x: key %x gives %q, %v; want %q", k, a.Payload, key, got, err, a.String(params))
			}
			if recordKeyOf(a.String(params), params) != key {
				t.Fatalf("%v: the key of its string differs", k)
			}
			if prev, ok := seen[key]; ok && !prev.Same(a) {
				t.Fatalf("%v and %v share key %x", prev, a, key)
			}
			seen[key] = a
		}
	}
	for _, bad := range []string{"", "\xff", string([]byte{byte(address.P2WPKH), 1, 2}), string([]byte{byte(address.P2PK)}) + string(make([]byte, 20))} {
		if _, err := addressOfKey(bad, params); !errors.Is(err, store.ErrCorrupt) {
			t.Fatalf("key %x: %v", bad, err)
		}
	}
	if recordKeyOf("not an address", params) != "" {
		t.Fatal("a non-address has a key")
	}
}
