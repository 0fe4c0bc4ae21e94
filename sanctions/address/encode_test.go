package address

import (
	"encoding/hex"
	"math/rand/v2"
	"testing"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
)

// btcutilString is String as it was written before the fast encoders:
// through btcutil's address types. The tests hold String equal to it.
func btcutilString(a Addr, params *chaincfg.Params) string {
	var addr btcutil.Address
	var err error
	switch a.Kind {
	case P2PK, P2PKH:
		addr, err = btcutil.NewAddressPubKeyHash(a.Payload[:20], params)
	case P2SH:
		addr, err = btcutil.NewAddressScriptHashFromHash(a.Payload[:20], params)
	case P2WPKH:
		addr, err = btcutil.NewAddressWitnessPubKeyHash(a.Payload[:20], params)
	case P2WSH:
		addr, err = btcutil.NewAddressWitnessScriptHash(a.Payload[:32], params)
	case P2TR:
		addr, err = btcutil.NewAddressTaproot(a.Payload[:32], params)
	case Multisig:
		return "multisig:" + hex.EncodeToString(a.Payload[:])
	case NonStandard:
		return "script:" + hex.EncodeToString(a.Payload[:])
	default:
		return ""
	}
	if err != nil {
		return ""
	}
	return addr.EncodeAddress()
}

var networks = []*chaincfg.Params{&chaincfg.MainNetParams, &chaincfg.TestNet3Params, &chaincfg.RegressionNetParams, &chaincfg.SigNetParams}

// TestStringMatchesBtcutil encodes every kind on every network, with
// payloads of all zeros (leading '1's in base58), all ones and random
// bytes, and compares with btcutil's encoding.
func TestStringMatchesBtcutil(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var payloads [][32]byte
	var zero, ones, lead [32]byte
	for i := range ones {
		ones[i] = 0xff
	}
	lead[3] = 1 // three leading zero bytes
	payloads = append(payloads, zero, ones, lead)
	for i := 0; i < 2000; i++ {
		var p [32]byte
		for j := range p {
			p[j] = byte(rng.Uint32())
		}
		payloads = append(payloads, p)
	}
	for _, params := range networks {
		for k := Kind(0); k <= numKinds; k++ {
			t.Run(params.Name+"/"+k.String(), func(t *testing.T) {
				for _, p := range payloads {
					a := Addr{Kind: k, Payload: p}
					if got, want := a.String(params), btcutilString(a, params); got != want {
						t.Fatalf("%s payload %x: %q, btcutil %q", k, p, got, want)
					}
				}
			})
		}
	}
}

func FuzzString(f *testing.F) {
	f.Add(byte(P2PKH), []byte{0, 0, 1})
	f.Add(byte(P2TR), []byte{0xff, 0xfe})
	f.Fuzz(func(t *testing.T, kind byte, payload []byte) {
		a := Addr{Kind: Kind(kind % (numKinds + 1))}
		copy(a.Payload[:], payload)
		for _, params := range networks {
			if got, want := a.String(params), btcutilString(a, params); got != want {
				t.Fatalf("%s payload %x: %q, btcutil %q", a.Kind, a.Payload, got, want)
			}
		}
	})
}

func BenchmarkString(b *testing.B) {
	for _, k := range []Kind{P2PKH, P2WPKH, P2TR} {
		a := Addr{Kind: k, Payload: [32]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}}
		b.Run(k.String(), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				_ = a.String(&chaincfg.MainNetParams)
			}
		})
		b.Run(k.String()+"/btcutil", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				_ = btcutilString(a, &chaincfg.MainNetParams)
			}
		})
	}
}
