package chaingen

import (
	"bytes"
	"testing"
)

// deriveRange must agree with computing each public key on its own.
func TestDeriveRange(t *testing.T) {
	base := baseScalar(99)
	for _, tc := range []struct {
		name  string
		first uint64
		n     int
	}{{"one", 0, 1}, {"run", 5, 17}, {"far", 1 << 40, 3}} {
		t.Run(tc.name, func(t *testing.T) {
			privs, pubs := deriveRange(&base, tc.first, tc.n)
			for i := range privs {
				want := privs[i].PubKey().SerializeCompressed()
				if !bytes.Equal(want, pubs[i]) {
					t.Fatalf("key %d: pub %x, want %x", i, pubs[i], want)
				}
				one, _ := deriveRange(&base, tc.first+uint64(i), 1)
				if one[0].Key != privs[i].Key {
					t.Fatalf("key %d differs when derived alone", i)
				}
			}
		})
	}
}
