package chaingen

import (
	"crypto/sha256"
	"encoding/binary"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/txscript"
)

// ScriptType is the kind of output script the generator writes.
type ScriptType uint8

// Script types, in the order of the summary's script-type mix.
const (
	P2WPKH ScriptType = iota
	P2TR
	P2SHP2WPKH
	P2PKH
	P2WSHMultisig // 2-of-3 multisig in P2WSH
	P2PK
	OpReturn
	numScriptTypes
)

var scriptTypeNames = [numScriptTypes]string{
	"p2wpkh", "p2tr", "p2sh-p2wpkh", "p2pkh", "p2wsh-2of3", "p2pk", "op_return",
}

func (t ScriptType) String() string {
	if t < numScriptTypes {
		return scriptTypeNames[t]
	}
	return "unknown"
}

// keysFor is how many private keys a script type needs.
func (t ScriptType) keysFor() uint64 {
	if t == P2WSHMultisig {
		return 3
	}
	return 1
}

// Estimated input weight (weight units) when spending each type, and output
// weight when paying it. Signatures are assumed to be 72 bytes (DER, high end).
var (
	inputWeight = [numScriptTypes]int{
		P2WPKH:        41*4 + 108,
		P2TR:          41*4 + 66,
		P2SHP2WPKH:    64*4 + 108,
		P2PKH:         148 * 4,
		P2WSHMultisig: 41*4 + 254,
		P2PK:          114 * 4,
	}
	outputWeight = [numScriptTypes]int{
		P2WPKH:        31 * 4,
		P2TR:          43 * 4,
		P2SHP2WPKH:    32 * 4,
		P2PKH:         34 * 4,
		P2WSHMultisig: 43 * 4,
		P2PK:          44 * 4,
		OpReturn:      (9 + 2 + 40) * 4,
	}
)

// Keys are consecutive scalars: key number idx is (b + idx) mod n where b is
// sha256 of the seed and a domain tag. Test data needs determinism, not
// unrelated keys, and consecutive keys let a worker derive a whole run of
// public keys with one scalar multiplication, point additions and one field
// inversion (deriveRange), which is what makes millions of addresses cheap.
func baseScalar(seed uint64) btcec.ModNScalar {
	var buf [8 + 16]byte
	binary.BigEndian.PutUint64(buf[0:], seed)
	copy(buf[8:], "chaingen/key/v1:")
	for {
		sum := sha256.Sum256(buf[:])
		var s btcec.ModNScalar
		if overflow := s.SetBytes(&sum); overflow == 0 && !s.IsZero() {
			return s
		}
		buf[23]++
	}
}

// deriveRange returns private keys first..first+n-1 and their compressed
// public keys.
func deriveRange(base *btcec.ModNScalar, first uint64, n int) ([]*btcec.PrivateKey, [][]byte) {
	var idx btcec.ModNScalar
	var ib [32]byte
	binary.BigEndian.PutUint64(ib[24:], first)
	idx.SetBytes(&ib)
	k := *base
	k.Add(&idx)
	privs := make([]*btcec.PrivateKey, n)
	pts := make([]btcec.JacobianPoint, n)
	var g btcec.JacobianPoint
	btcec.GeneratorJacobian(&g)
	var one btcec.ModNScalar
	one.SetInt(1)
	for i := 0; i < n; i++ {
		if k.IsZero() { // b+idx wrapped to zero: astronomically unlikely; skip it
			k.Add(&one)
		}
		kk := k
		privs[i] = btcec.PrivKeyFromScalar(&kk)
		if i == 0 {
			btcec.ScalarBaseMultNonConst(&k, &pts[0])
		} else {
			btcec.AddNonConst(&pts[i-1], &g, &pts[i])
		}
		k.Add(&one)
	}
	// Montgomery's trick: one inversion for all Z coordinates.
	acc := make([]btcec.FieldVal, n)
	var run btcec.FieldVal
	run.SetInt(1)
	for i := range pts {
		run.Mul(&pts[i].Z)
		run.Normalize()
		acc[i] = run
	}
	inv := run
	inv.Inverse()
	pubs := make([][]byte, n)
	for i := n - 1; i >= 0; i-- {
		zinv := inv
		if i > 0 {
			zinv.Mul(&acc[i-1])
			inv.Mul(&pts[i].Z)
			inv.Normalize()
		}
		zinv.Normalize()
		var z2, z3, x, y btcec.FieldVal
		z2.SquareVal(&zinv)
		z3.Mul2(&z2, &zinv)
		x.Mul2(&pts[i].X, &z2).Normalize()
		y.Mul2(&pts[i].Y, &z3).Normalize()
		pub := make([]byte, 33)
		pub[0] = 2
		if y.IsOdd() {
			pub[0] = 3
		}
		x.PutBytesUnchecked(pub[1:])
		pubs[i] = pub
	}
	return privs, pubs
}

// address is one receiving script with the keys that spend it. The planner
// creates it with key indices only; materialize derives keys and scripts (in
// parallel workers, once, before any transaction paying it is built).
type address struct {
	typ    ScriptType
	idx    uint64 // first key index; multisig uses idx, idx+1, idx+2
	keys   []*btcec.PrivateKey
	pub    [][]byte          // compressed public keys, cached for signing
	tweak  *btcec.PrivateKey // P2TR: the BIP86-tweaked key that signs key-path spends
	odd    bool              // P2TR: the tweaked public key's y is odd (BIP340 negates the key)
	pk     []byte            // output script
	inner  []byte            // P2SH redeem script (the P2WPKH program) or P2WSH witness script
	ready  bool
	w      *wallet // the owner's wallet; nil for fork coinbases
	listed bool    // its owners.csv row is written
	paid   bool    // an output has paid it (address reuse is counted)
	enc    string  // the address, encoded while materializing (in parallel)
}

// materialize derives the address's keys on its own (one scalar
// multiplication per key); materializeRange does many at once.
func (a *address) materialize(base *btcec.ModNScalar, unsigned bool) error {
	if a.ready {
		return nil
	}
	privs, pubs := deriveRange(base, a.idx, int(a.typ.keysFor()))
	return a.setKeys(privs, pubs, unsigned)
}

// materializeRange materializes addresses whose keys are consecutive (as
// newAddr allocates them), sharing one deriveRange call.
func materializeRange(base *btcec.ModNScalar, as []*address, unsigned bool) error {
	if len(as) == 0 {
		return nil
	}
	first := as[0].idx
	next := first
	for _, a := range as {
		if a.idx != next {
			for _, b := range as {
				if err := b.materialize(base, unsigned); err != nil {
					return err
				}
			}
			return nil
		}
		next += a.typ.keysFor()
	}
	privs, pubs := deriveRange(base, first, int(next-first))
	for _, a := range as {
		o := a.idx - first
		n := a.typ.keysFor()
		if err := a.setKeys(privs[o:o+n:o+n], pubs[o:o+n:o+n], unsigned); err != nil {
			return err
		}
	}
	return nil
}

// With unsigned (Config.Unsigned) a P2TR output carries the internal key
// itself, untweaked: nothing signs for it, and the tweak would cost a scalar
// multiplication per address.
func (a *address) setKeys(privs []*btcec.PrivateKey, pubs [][]byte, unsigned bool) error {
	// Copy: a sub-slice would keep the whole batch's arrays alive for as
	// long as any one address of it lives.
	a.keys = append([]*btcec.PrivateKey(nil), privs...)
	a.pub = append([][]byte(nil), pubs...)
	pub := pubs[0]
	var err error
	switch {
	case a.typ == P2WPKH:
		a.pk = p2wpkhScript(btcutil.Hash160(pub))
	case a.typ == P2SHP2WPKH:
		a.inner = p2wpkhScript(btcutil.Hash160(pub))
		a.pk = p2shScript(btcutil.Hash160(a.inner))
	case a.typ == P2PKH:
		a.pk, err = txscript.NewScriptBuilder().AddOp(txscript.OP_DUP).AddOp(txscript.OP_HASH160).
			AddData(btcutil.Hash160(pub)).AddOp(txscript.OP_EQUALVERIFY).AddOp(txscript.OP_CHECKSIG).Script()
	case a.typ == P2PK:
		a.pk, err = txscript.NewScriptBuilder().AddData(pub).AddOp(txscript.OP_CHECKSIG).Script()
	case a.typ == P2TR && unsigned:
		a.pk = append([]byte{txscript.OP_1, 32}, pub[1:]...)
	case a.typ == P2TR:
		// BIP86 key path only: tweak with an empty script root.
		d := a.keys[0].Key
		if pub[0] == 3 {
			d.Negate()
		}
		var t btcec.ModNScalar
		t.SetBytes((*[32]byte)(chainhash.TaggedHash(chainhash.TagTapTweak, pub[1:], []byte{})))
		d.Add(&t)
		a.tweak = btcec.PrivKeyFromScalar(&d)
		tpub := a.tweak.PubKey()
		a.odd = tpub.SerializeCompressed()[0] == 3
		a.pk, err = txscript.PayToTaprootScript(tpub)
	case a.typ == P2WSHMultisig:
		b := txscript.NewScriptBuilder().AddOp(txscript.OP_2)
		for _, pk := range a.pub {
			b.AddData(pk)
		}
		a.inner, err = b.AddOp(txscript.OP_3).AddOp(txscript.OP_CHECKMULTISIG).Script()
		if err == nil {
			h := sha256.Sum256(a.inner)
			a.pk = append([]byte{txscript.OP_0, 32}, h[:]...)
		}
	default:
		return ErrBadScriptType
	}
	if err != nil {
		return err
	}
	a.enc = scriptAddress(a.pk)
	a.ready = true
	return nil
}

func p2wpkhScript(h []byte) []byte { return append([]byte{txscript.OP_0, 20}, h...) }

func p2shScript(h []byte) []byte {
	s := append([]byte{txscript.OP_HASH160, 20}, h...)
	return append(s, txscript.OP_EQUAL)
}

// String encodes the address for regtest; P2PK outputs are shown as the
// P2PKH address of their key, as block explorers and Core's RPC do.
func (a *address) String() string {
	if a.enc != "" {
		return a.enc
	}
	return scriptAddress(a.pk)
}

func scriptAddress(pk []byte) string {
	_, addrs, _, err := txscript.ExtractPkScriptAddrs(pk, &chaincfg.RegressionNetParams)
	if err != nil || len(addrs) != 1 {
		return ""
	}
	return addrs[0].EncodeAddress()
}
