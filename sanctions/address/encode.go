package address

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/btcsuite/btcd/chaincfg"
)

// Encoders of String, without btcutil's intermediate Address values and
// its decode-after-encode check (which tripled the cost of a bech32
// address: `tracer export graph` formats one per output and input). The
// tests hold them equal to btcutil's on every kind and network.

const bech32Charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"

// bech32Gen is the BCH generator of BIP 173, as the xor of its terms
// selected by each value of the checksum's top five bits.
var bech32Gen = func() (t [32]uint32) {
	gen := [5]uint32{0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3}
	for b := range t {
		for i, g := range gen {
			if b>>i&1 == 1 {
				t[b] ^= g
			}
		}
	}
	return t
}()

func bech32Step(chk uint32, v byte) uint32 {
	return (chk&0x1ffffff)<<5 ^ uint32(v) ^ bech32Gen[chk>>25]
}

// appendSegwit appends the bech32 (version 0) or bech32m (version 1)
// address of a witness program.
func appendSegwit(dst []byte, hrp string, version byte, program []byte) []byte {
	hrp = strings.ToLower(hrp)
	var data [1 + (32*8+4)/5]byte
	data[0] = version
	n := 1
	acc, bits := uint32(0), uint(0)
	for _, b := range program {
		acc = acc<<8 | uint32(b)
		bits += 8
		for bits >= 5 {
			bits -= 5
			data[n] = byte(acc>>bits) & 31
			n++
		}
	}
	if bits > 0 {
		data[n] = byte(acc<<(5-bits)) & 31
		n++
	}
	chk := uint32(1)
	for i := 0; i < len(hrp); i++ {
		chk = bech32Step(chk, hrp[i]>>5)
	}
	chk = bech32Step(chk, 0)
	for i := 0; i < len(hrp); i++ {
		chk = bech32Step(chk, hrp[i]&31)
	}
	dst = append(dst, hrp...)
	dst = append(dst, '1')
	for _, v := range data[:n] {
		chk = bech32Step(chk, v)
		dst = append(dst, bech32Charset[v])
	}
	for i := 0; i < 6; i++ {
		chk = bech32Step(chk, 0)
	}
	if version == 0 {
		chk ^= 1
	} else {
		chk ^= 0x2bc830a3 // bech32m (BIP 350)
	}
	for i := 0; i < 6; i++ {
		dst = append(dst, bech32Charset[(chk>>(5*(5-i)))&31])
	}
	return dst
}

const base58Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

// appendBase58Check appends the base58check encoding of version ‖ payload
// (a 20-byte hash).
func appendBase58Check(dst []byte, version byte, payload []byte) []byte {
	var in [1 + 20 + 4]byte
	in[0] = version
	copy(in[1:21], payload)
	h := sha256.Sum256(in[:21])
	h = sha256.Sum256(h[:])
	copy(in[21:], h[:4])
	// Base 58^5 digits, least significant first, by long division of
	// the big-endian input (each step multiplies by 256).
	const big = 58 * 58 * 58 * 58 * 58
	var limbs [8]uint64 // 25 bytes < 58^35 = (58^5)^7
	nl := 0
	for _, b := range in {
		carry := uint64(b)
		for j := 0; j < nl; j++ {
			carry += limbs[j] << 8
			limbs[j] = carry % big
			carry /= big
		}
		for carry > 0 {
			limbs[nl] = carry % big
			carry /= big
			nl++
		}
	}
	var digits [40]byte // least significant first
	nd := 0
	for j := 0; j < nl; j++ {
		v := limbs[j]
		for k := 0; k < 5; k++ {
			digits[nd] = byte(v % 58)
			v /= 58
			nd++
		}
	}
	for nd > 0 && digits[nd-1] == 0 {
		nd--
	}
	for _, b := range in {
		if b != 0 {
			break
		}
		dst = append(dst, '1')
	}
	for i := nd - 1; i >= 0; i-- {
		dst = append(dst, base58Alphabet[digits[i]])
	}
	return dst
}

// Append appends a.String(params) to dst.
func (a *Addr) Append(dst []byte, params *chaincfg.Params) []byte {
	switch a.Kind {
	case P2PK, P2PKH:
		return appendBase58Check(dst, params.PubKeyHashAddrID, a.Payload[:20])
	case P2SH:
		return appendBase58Check(dst, params.ScriptHashAddrID, a.Payload[:20])
	case P2WPKH:
		return appendSegwit(dst, params.Bech32HRPSegwit, 0, a.Payload[:20])
	case P2WSH:
		return appendSegwit(dst, params.Bech32HRPSegwit, 0, a.Payload[:32])
	case P2TR:
		return appendSegwit(dst, params.Bech32HRPSegwit, 1, a.Payload[:32])
	case Multisig:
		return hex.AppendEncode(append(dst, "multisig:"...), a.Payload[:])
	case NonStandard:
		return hex.AppendEncode(append(dst, "script:"...), a.Payload[:])
	}
	return dst
}
