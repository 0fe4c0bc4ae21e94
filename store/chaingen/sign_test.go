package chaingen

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"math/big"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/ecdsa"
	"github.com/btcsuite/btcd/btcec/v2/schnorr"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"
)

// TestSignSchnorrMatchesBtcd: the generator's Schnorr signing, which reuses
// the cached public key, gives btcd's schnorr.Sign bytes for many keys and
// messages (both parities), and the signatures verify.
func TestSignSchnorrMatchesBtcd(t *testing.T) {
	base := baseScalar(3)
	privs, pubs := deriveRange(&base, 0, 200)
	odd := 0
	for i, k := range privs {
		a := &address{typ: P2TR}
		if err := a.setKeys([]*btcec.PrivateKey{k}, [][]byte{pubs[i]}, false); err != nil {
			t.Fatal(err)
		}
		if a.odd {
			odd++
		}
		var m [8]byte
		binary.BigEndian.PutUint64(m[:], uint64(i))
		h := sha256.Sum256(m[:])
		want, err := schnorr.Sign(a.tweak, h[:], schnorr.FastSign())
		if err != nil {
			t.Fatal(err)
		}
		got := signSchnorr(a.tweak, a.odd, a.pk[2:34], h[:])
		if !bytes.Equal(got, want.Serialize()) {
			t.Fatalf("key %d: signSchnorr %x, schnorr.Sign %x", i, got, want.Serialize())
		}
		pk, err := schnorr.ParsePubKey(a.pk[2:34])
		if err != nil {
			t.Fatal(err)
		}
		if !want.Verify(h[:], pk) {
			t.Fatalf("key %d: signature does not verify", i)
		}
	}
	if odd == 0 || odd == len(privs) {
		t.Fatalf("%d of %d tweaked keys odd: both parities must be tested", odd, len(privs))
	}
}

var halfOrder = new(big.Int).Rsh(btcec.S256().N, 1)

// TestPlaceholderSignatures: placeholders are strict DER, low S, 71 or 72
// bytes with SIGHASH_ALL, 64 bytes for Schnorr; deterministic per input;
// and they do not verify (they are not signatures).
func TestPlaceholderSignatures(t *testing.T) {
	lens := map[int]int{}
	key, err := btcec.NewPrivateKey()
	if err != nil {
		t.Fatal(err)
	}
	for i := range 400 {
		u := &utxo{op: wire.OutPoint{Hash: chainhash.Hash(sha256.Sum256([]byte{byte(i), byte(i >> 8)})), Index: uint32(i % 3)}}
		f := &placeholder{}
		sig := f.ecdsa(i%5, u)
		if again := (&placeholder{}).ecdsa(i%5, u); !bytes.Equal(sig, again) {
			t.Fatalf("input %d: placeholder not deterministic", i)
		}
		if second := f.ecdsa(i%5, u); bytes.Equal(sig, second) {
			t.Fatalf("input %d: a multisig's two placeholders are equal", i)
		}
		lens[len(sig)]++
		if sig[len(sig)-1] != byte(txscript.SigHashAll) {
			t.Fatalf("sighash byte %x", sig[len(sig)-1])
		}
		parsed, err := ecdsa.ParseDERSignature(sig[:len(sig)-1])
		if err != nil {
			t.Fatalf("input %d: %x: %v", i, sig, err)
		}
		rl := int(sig[3])
		if sv := new(big.Int).SetBytes(sig[4+rl+2 : len(sig)-1]); sv.Cmp(halfOrder) > 0 {
			t.Fatalf("input %d: high S %x", i, sv)
		}
		if parsed.Verify(u.op.Hash[:], key.PubKey()) {
			t.Fatalf("input %d: a placeholder verifies", i)
		}
		if ts, _ := f.taproot(0, u); len(ts) != 64 {
			t.Fatalf("schnorr placeholder of %d bytes", len(ts))
		}
	}
	if lens[71] < 100 || lens[72] < 100 || lens[71]+lens[72] != 400 {
		t.Fatalf("placeholder lengths %v: want about half 71 and half 72 bytes", lens)
	}
}
