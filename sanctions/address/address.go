package address

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
)

// Kind is an output script's type. Values are stored on disk: never renumber.
type Kind uint8

const (
	NonStandard Kind = 0
	P2PK        Kind = 1
	P2PKH       Kind = 2
	P2SH        Kind = 3
	P2WPKH      Kind = 4
	P2WSH       Kind = 5
	P2TR        Kind = 6
	Multisig    Kind = 7
	OpReturn    Kind = 8
	numKinds         = 9
)

var kindNames = [numKinds]string{"nonstandard", "p2pk", "p2pkh", "p2sh", "p2wpkh", "p2wsh", "p2tr", "multisig", "op_return"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// PayloadLen is the length of a kind's payload.
func (k Kind) PayloadLen() int {
	switch k {
	case P2PK, P2PKH, P2SH, P2WPKH:
		return 20
	case P2WSH, P2TR, Multisig, NonStandard:
		return 32
	default:
		return 0
	}
}

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool { return k < numKinds }

// Class is the kind under which an output is indexed: P2PK joins P2PKH.
func (k Kind) Class() Kind {
	if k == P2PK {
		return P2PKH
	}
	return k
}

// HasAddress reports whether outputs of this kind have an address.
func (k Kind) HasAddress() bool { return k != OpReturn }

// ErrInvalid is returned for a string that is no address of the network.
var ErrInvalid = errors.New("address: invalid")

// NetworkError is a valid address of another network than the one asked
// for (a mainnet address given to a regtest store). It is ErrInvalid.
type NetworkError struct {
	Addr string
	Of   string // the networks it is an address of: "mainnet", "testnet, signet or regtest"
	Want string // the network asked for
}

func (e *NetworkError) Error() string {
	return fmt.Sprintf("%v: %q: %s address; this store is %s", ErrInvalid, e.Addr, e.Of, e.Want)
}

// Problem is what is wrong with an address, from an error of Parse, without
// the package's prefix: for parsers of files that wrap it in their own
// sentinel ("tags: invalid BTC address "1Boat...": mainnet address; this
// store is regtest").
func Problem(err error) string {
	return strings.TrimPrefix(err.Error(), ErrInvalid.Error()+": ")
}

// Is makes a NetworkError match ErrInvalid.
func (e *NetworkError) Is(target error) bool { return target == ErrInvalid }

// Addr is an address in compact form. The zero value is a nonstandard script
// with an all-zero hash.
type Addr struct {
	Kind    Kind
	Payload [32]byte // the first Kind.PayloadLen() bytes are used
}

// Bytes returns the used part of the payload.
func (a *Addr) Bytes() []byte { return a.Payload[:a.Kind.PayloadLen()] }

// Same reports whether a and b are the same address (P2PK equals its P2PKH).
func (a Addr) Same(b Addr) bool {
	return a.Kind.Class() == b.Kind.Class() && a.Payload == b.Payload
}

// Key is a's class and the first 7 bytes of its payload, as one number:
// what the store's address index keys by. Different addresses may share
// a key (rarely); the same address always has the same key, P2PK as its
// P2PKH.
func (a Addr) Key() uint64 {
	k := uint64(a.Kind.Class()) << 56
	for i := 0; i < 7; i++ {
		k |= uint64(a.Payload[i]) << (48 - 8*i)
	}
	return k
}

// Classify returns the compact address of an output script.
func Classify(script []byte) Addr {
	var a Addr
	switch {
	case isP2PKH(script):
		a.Kind = P2PKH
		copy(a.Payload[:], script[3:23])
	case isP2SH(script):
		a.Kind = P2SH
		copy(a.Payload[:], script[2:22])
	case isWitness(script, 0x00, 20):
		a.Kind = P2WPKH
		copy(a.Payload[:], script[2:])
	case isWitness(script, 0x00, 32):
		a.Kind = P2WSH
		copy(a.Payload[:], script[2:])
	case isWitness(script, 0x51, 32):
		a.Kind = P2TR
		copy(a.Payload[:], script[2:])
	case isP2PK(script):
		a.Kind = P2PK
		copy(a.Payload[:], btcutil.Hash160(script[1:len(script)-1]))
	case len(script) > 0 && script[0] == 0x6a:
		a.Kind = OpReturn
	case isMultisig(script):
		a.Kind = Multisig
		a.Payload = sha256.Sum256(script)
	default:
		a.Kind = NonStandard
		a.Payload = sha256.Sum256(script)
	}
	return a
}

// isP2PKH matches OP_DUP OP_HASH160 <20 bytes> OP_EQUALVERIFY OP_CHECKSIG.
func isP2PKH(s []byte) bool {
	return len(s) == 25 && s[0] == 0x76 && s[1] == 0xa9 && s[2] == 0x14 && s[23] == 0x88 && s[24] == 0xac
}

// isP2SH matches OP_HASH160 <20 bytes> OP_EQUAL.
func isP2SH(s []byte) bool {
	return len(s) == 23 && s[0] == 0xa9 && s[1] == 0x14 && s[22] == 0x87
}

// isWitness matches a witness program: the version opcode, then one push
// of size bytes.
func isWitness(s []byte, version byte, size int) bool {
	return len(s) == 2+size && s[0] == version && int(s[1]) == size
}

// isP2PK matches <33-byte compressed or 65-byte uncompressed (or hybrid)
// public key> OP_CHECKSIG.
func isP2PK(s []byte) bool {
	switch len(s) {
	case 35:
		return s[0] == 0x21 && (s[1] == 0x02 || s[1] == 0x03) && s[34] == 0xac
	case 67:
		return s[0] == 0x41 && (s[1] == 0x04 || s[1] == 0x06 || s[1] == 0x07) && s[66] == 0xac
	}
	return false
}

// isMultisig matches OP_m <33- or 65-byte keys> OP_n OP_CHECKMULTISIG.
func isMultisig(s []byte) bool {
	n := len(s)
	if n < 3+34 || s[n-1] != 0xae {
		return false
	}
	m, total := s[0], s[n-2]
	if m < 0x51 || m > 0x60 || total < 0x51 || total > 0x60 || m > total {
		return false
	}
	keys := 0
	for i := 1; i < n-2; {
		l := int(s[i])
		if l != 33 && l != 65 {
			return false
		}
		i += 1 + l
		if i > n-2 {
			return false
		}
		keys++
	}
	return keys == int(total-0x50)
}

// String encodes a in the network's own format. OP_RETURN has no address
// and yields "".
func (a Addr) String(params *chaincfg.Params) string {
	if !a.Kind.Valid() || a.Kind == OpReturn {
		return ""
	}
	var buf [100]byte
	return string(a.Append(buf[:0], params))
}

// MaxLen is the longest string Parse decodes: the longest address form is a
// hex-encoded uncompressed public key, 130 characters (bech32 is at most 90,
// base58 about 35).
const MaxLen = 130

// Parse decodes an address string of the given network into compact form.
// It accepts the network's base58 and bech32/bech32m addresses and the
// "script:<hex>" and "multisig:<hex>" forms that String writes. A P2PKH
// address matches P2PK outputs too (see Addr.Same).
func Parse(s string, params *chaincfg.Params) (Addr, error) {
	var a Addr
	s = strings.TrimSpace(s)
	// Base58 decoding is quadratic in the length: refuse what cannot be an
	// address before decoding (the longest is a hex uncompressed public
	// key; sanctions.MaxAddressLen is this bound).
	if len(s) > MaxLen {
		return a, fmt.Errorf("%w: %d characters long (%q…); an address has at most %d", ErrInvalid, len(s), s[:24], MaxLen)
	}
	for prefix, kind := range map[string]Kind{"script:": NonStandard, "multisig:": Multisig} {
		if rest, ok := strings.CutPrefix(s, prefix); ok {
			b, err := hex.DecodeString(rest)
			if err != nil || len(b) != 32 {
				return a, fmt.Errorf("%w: %q: want %s followed by 64 hex digits", ErrInvalid, s, prefix)
			}
			a.Kind = kind
			copy(a.Payload[:], b)
			return a, nil
		}
	}
	if s == "" {
		return a, fmt.Errorf("%w: empty address", ErrInvalid)
	}
	dec, err := btcutil.DecodeAddress(s, params)
	if err == nil && !dec.IsForNet(params) {
		err = errors.New("wrong network")
	}
	if err != nil {
		if nets := networksOf(s); len(nets) > 0 {
			return a, &NetworkError{Addr: s, Of: nets, Want: params.Name}
		}
		return a, fmt.Errorf("%w: %q is not a Bitcoin address (%v)", ErrInvalid, s, err)
	}
	switch d := dec.(type) {
	case *btcutil.AddressPubKeyHash:
		a.Kind = P2PKH
		copy(a.Payload[:], d.ScriptAddress())
	case *btcutil.AddressScriptHash:
		a.Kind = P2SH
		copy(a.Payload[:], d.ScriptAddress())
	case *btcutil.AddressWitnessPubKeyHash:
		a.Kind = P2WPKH
		copy(a.Payload[:], d.ScriptAddress())
	case *btcutil.AddressWitnessScriptHash:
		a.Kind = P2WSH
		copy(a.Payload[:], d.ScriptAddress())
	case *btcutil.AddressTaproot:
		a.Kind = P2TR
		copy(a.Payload[:], d.ScriptAddress())
	case *btcutil.AddressPubKey:
		a.Kind = P2PKH
		copy(a.Payload[:], btcutil.Hash160(d.ScriptAddress()))
	default:
		return a, fmt.Errorf("%w: %q: unsupported address type %T", ErrInvalid, s, dec)
	}
	return a, nil
}

// networkFamilies are the networks an address string may belong to, by the
// name a user knows them by. Base58 and bech32 prefixes are shared: testnet3,
// testnet4 and signet use the same ones, and regtest shares testnet's base58.
var networkFamilies = []struct {
	name   string
	params *chaincfg.Params
}{
	{"mainnet", &chaincfg.MainNetParams},
	{"testnet", &chaincfg.TestNet3Params},
	{"signet", &chaincfg.SigNetParams},
	{"regtest", &chaincfg.RegressionNetParams},
}

// networksOf names the networks s is a valid address of ("mainnet",
// "testnet, signet or regtest"); "" when none.
func networksOf(s string) string {
	var names []string
	for _, n := range networkFamilies {
		if dec, err := btcutil.DecodeAddress(s, n.params); err == nil && dec.IsForNet(n.params) {
			names = append(names, n.name)
		}
	}
	switch len(names) {
	case 0:
		return ""
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// ParseAny decodes an address of any network tracer reads, for a store
// that holds no blocks yet (only lists or tags) and so has no network: it
// returns the address and the parameters of the first network it is valid
// on, mainnet first.
func ParseAny(s string) (Addr, *chaincfg.Params, error) {
	var first error
	for _, n := range networkFamilies {
		a, err := Parse(s, n.params)
		if err == nil {
			return a, n.params, nil
		}
		if first == nil {
			first = err
		}
	}
	return Addr{}, nil, first
}
