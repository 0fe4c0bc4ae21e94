package sanctions

import (
	"fmt"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"

	"github.com/tracer-oss/tracer/sanctions/address"
)

// MaxAddressLen is the longest string that can be a Bitcoin address in
// any form btcutil decodes (address.MaxLen: a hex-encoded uncompressed
// public key). Decoding base58 takes time quadratic in the length, so
// longer strings are refused before any decoding.
const MaxAddressLen = address.MaxLen

// DecodeAddress is btcutil.DecodeAddress for untrusted input: a string
// longer than MaxAddressLen is refused at once.
func DecodeAddress(s string, net *chaincfg.Params) (btcutil.Address, error) {
	if len(s) > MaxAddressLen {
		return nil, fmt.Errorf("%d characters long; an address has at most %d", len(s), MaxAddressLen)
	}
	return btcutil.DecodeAddress(s, net)
}

// Clip shortens s for an error message: the first 48 bytes and its length.
func Clip(s string) string {
	if len(s) <= 64 {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprintf("%q… (%d bytes)", s[:48], len(s))
}
