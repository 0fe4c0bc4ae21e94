package chaingen

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"sync/atomic"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"
	"golang.org/x/sync/errgroup"
)

// parallel runs fn(i) for i in [0,n) on up to workers goroutines. Results
// are written by index, so the outcome does not depend on scheduling.
func parallel(ctx context.Context, n, workers int, fn func(i int) error) error {
	if n == 0 {
		return nil
	}
	workers = min(workers, n)
	if workers <= 1 {
		for i := 0; i < n; i++ {
			if err := fn(i); err != nil {
				return err
			}
		}
		return nil
	}
	var next atomic.Int64
	eg, ctx := errgroup.WithContext(ctx)
	for w := 0; w < workers; w++ {
		eg.Go(func() error {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return nil
				}
				if i%64 == 0 && ctx.Err() != nil {
					return ctx.Err()
				}
				if err := fn(i); err != nil {
					return err
				}
			}
		})
	}
	return eg.Wait()
}

// build turns a planned transaction into a signed wire transaction and sets
// its txid. It reads only data fixed before the signing phase began. With
// unsigned (Config.Unsigned) every signature is a placeholder of a real
// signature's size and form (placeholderSig).
func (p *ptx) build(unsigned bool) error {
	tx := wire.NewMsgTx(2)
	tx.TxIn = make([]*wire.TxIn, 0, len(p.ins))
	tx.TxOut = make([]*wire.TxOut, 0, len(p.outs))
	segwit := false
	for _, u := range p.ins {
		in := wire.NewTxIn(&u.op, nil, nil)
		in.Sequence = wire.MaxTxInSequenceNum - 2 // signals RBF, as most wallets do
		tx.AddTxIn(in)
		segwit = segwit || (u.addr.typ != P2PKH && u.addr.typ != P2PK)
	}
	for _, o := range p.outs {
		if o.addr == nil {
			s, err := txscript.NullDataScript(o.data)
			if err != nil {
				return err
			}
			tx.AddTxOut(wire.NewTxOut(0, s))
			continue
		}
		tx.AddTxOut(wire.NewTxOut(o.value, o.addr.pk))
	}
	var s signer
	if unsigned {
		s = &placeholder{}
	} else {
		rs := &realSigner{tx: tx}
		if segwit {
			rs.fetcher = txscript.NewMultiPrevOutFetcher(nil)
			for _, u := range p.ins {
				rs.fetcher.AddPrevOut(u.op, &wire.TxOut{Value: u.value, PkScript: u.addr.pk})
			}
			rs.hashes = txscript.NewTxSigHashes(tx, rs.fetcher)
		}
		s = rs
	}
	for i, u := range p.ins {
		if err := signInput(s, tx, i, u); err != nil {
			return fmt.Errorf("sign input %d (%s): %w", i, u.addr.typ, err)
		}
	}
	p.tx = tx
	p.txid = tx.TxHash()
	return nil
}

// signer makes the signatures of one transaction's inputs.
type signer interface {
	legacy(i int, u *utxo, script []byte, k *btcec.PrivateKey) ([]byte, error)
	witness(i int, u *utxo, script []byte, k *btcec.PrivateKey) ([]byte, error)
	taproot(i int, u *utxo) ([]byte, error)
}

// signInput writes input i's script and witness for the type it spends.
func signInput(s signer, tx *wire.MsgTx, i int, u *utxo) error {
	a := u.addr
	in := tx.TxIn[i]
	switch a.typ {
	case P2PKH:
		sig, err := s.legacy(i, u, a.pk, a.keys[0])
		if err != nil {
			return err
		}
		in.SignatureScript = pushes(sig, a.pub[0])
	case P2PK:
		sig, err := s.legacy(i, u, a.pk, a.keys[0])
		if err != nil {
			return err
		}
		in.SignatureScript = pushes(sig)
	case P2WPKH, P2SHP2WPKH:
		prog := a.pk
		if a.typ == P2SHP2WPKH {
			prog = a.inner
			in.SignatureScript = pushes(a.inner)
		}
		sig, err := s.witness(i, u, prog, a.keys[0])
		if err != nil {
			return err
		}
		in.Witness = wire.TxWitness{sig, a.pub[0]}
	case P2TR:
		sig, err := s.taproot(i, u)
		if err != nil {
			return err
		}
		in.Witness = wire.TxWitness{sig}
	case P2WSHMultisig:
		w := make(wire.TxWitness, 1, 4)
		for _, k := range a.keys[:2] {
			sig, err := s.witness(i, u, a.inner, k)
			if err != nil {
				return err
			}
			w = append(w, sig)
		}
		in.Witness = append(w, a.inner)
	default:
		return ErrBadScriptType
	}
	return nil
}

// pushes is a script of data pushes, each of 75 bytes or less (signatures,
// public keys, a P2WPKH program), as txscript.ScriptBuilder writes them.
func pushes(items ...[]byte) []byte {
	n := 0
	for _, it := range items {
		n += 1 + len(it)
	}
	s := make([]byte, 0, n)
	for _, it := range items {
		s = append(s, byte(len(it)))
		s = append(s, it...)
	}
	return s
}

// realSigner signs with the keys: RFC 6979 ECDSA and BIP340 Schnorr, so
// btcd and Core accept the chain.
type realSigner struct {
	tx      *wire.MsgTx
	hashes  *txscript.TxSigHashes
	fetcher *txscript.MultiPrevOutFetcher
}

func (r *realSigner) legacy(i int, _ *utxo, script []byte, k *btcec.PrivateKey) ([]byte, error) {
	return txscript.RawTxInSignature(r.tx, i, script, txscript.SigHashAll, k)
}

func (r *realSigner) witness(i int, u *utxo, script []byte, k *btcec.PrivateKey) ([]byte, error) {
	return txscript.RawTxInWitnessSignature(r.tx, r.hashes, i, u.value, script, txscript.SigHashAll, k)
}

func (r *realSigner) taproot(i int, u *utxo) ([]byte, error) {
	h, err := txscript.CalcTaprootSignatureHash(r.hashes, txscript.SigHashDefault, r.tx, i, r.fetcher)
	if err != nil {
		return nil, err
	}
	return signSchnorr(u.addr.tweak, u.addr.odd, u.addr.pk[2:34], h), nil
}

// bip340Extra is the extra data btcd's schnorr.Sign feeds RFC 6979:
// SHA-256("BIP-340").
var bip340Extra = [32]byte{
	0xa3, 0xeb, 0x4c, 0x18, 0x2f, 0xae, 0x7e, 0xf4,
	0xe8, 0x10, 0xc6, 0xee, 0x13, 0xb0, 0xe9, 0x26,
	0x68, 0x6d, 0x71, 0xe8, 0x7f, 0x39, 0x4f, 0x79,
	0x9c, 0x00, 0xa5, 0x21, 0x03, 0xcb, 0x4e, 0x17,
}

// signSchnorr is btcd's schnorr.Sign(key, hash, FastSign()) byte for byte,
// given the key's x-only public key and its parity: schnorr.Sign derives the
// public key again for every signature, which doubled the cost of a P2TR
// input (TestSignSchnorrMatchesBtcd).
func signSchnorr(key *btcec.PrivateKey, odd bool, xonly, hash []byte) []byte {
	d := key.Key
	if odd {
		d.Negate()
	}
	var db [32]byte
	d.PutBytes(&db)
	for iter := uint32(0); ; iter++ {
		k := btcec.NonceRFC6979(db[:], hash, bip340Extra[:], nil, iter)
		var r btcec.JacobianPoint
		btcec.ScalarBaseMultNonConst(k, &r)
		r.ToAffine()
		if r.Y.IsOdd() {
			k.Negate()
		}
		rx := r.X.Bytes()
		var e btcec.ModNScalar
		if e.SetBytes((*[32]byte)(chainhash.TaggedHash(chainhash.TagBIP0340Challenge, rx[:], xonly, hash))) != 0 {
			continue // as schnorr.Sign: a challenge of n or more takes the next nonce
		}
		var sc btcec.ModNScalar
		sc.Mul2(&e, &d).Add(k)
		sig := make([]byte, 64)
		copy(sig, rx[:])
		sc.PutBytesUnchecked(sig[32:])
		return sig
	}
}

// placeholder makes signatures that look real and are not: a DER ECDSA
// signature (low S, 71 or 72 bytes with the sighash byte, as real ones
// mostly are) or a 64-byte Schnorr signature, filled from a PCG seeded by
// the outpoint spent, the input's index and a counter (multisig's two
// signatures differ). No node accepts them; ingest, tracing and clustering
// never check a signature, and the chain's sizes stay those of a signed one.
type placeholder struct{ n uint64 }

func (f *placeholder) rng(u *utxo, i int) *rand.PCG {
	f.n++
	h := binary.LittleEndian.Uint64(u.op.Hash[:8])
	return rand.NewPCG(h^uint64(u.op.Index)<<32^uint64(i), f.n)
}

func (f *placeholder) legacy(i int, u *utxo, _ []byte, _ *btcec.PrivateKey) ([]byte, error) {
	return f.ecdsa(i, u), nil
}

func (f *placeholder) witness(i int, u *utxo, _ []byte, _ *btcec.PrivateKey) ([]byte, error) {
	return f.ecdsa(i, u), nil
}

func (f *placeholder) ecdsa(i int, u *utxo) []byte {
	g := f.rng(u, i)
	var r, s [32]byte
	for j := 0; j < 32; j += 8 {
		binary.LittleEndian.PutUint64(r[j:], g.Uint64())
		binary.LittleEndian.PutUint64(s[j:], g.Uint64())
	}
	r[0] = max(r[0], 1)                 // minimal encoding: no leading zero byte
	s[0] = min(max(s[0]&0x7f, 1), 0x7e) // low S (BIP146): below n/2
	rl := 32
	if r[0]&0x80 != 0 {
		rl = 33 // a high bit takes a 0x00 pad, as in DER
	}
	sig := make([]byte, 0, 4+rl+2+32+1)
	sig = append(sig, 0x30, byte(2+rl+2+32), 0x02, byte(rl))
	if rl == 33 {
		sig = append(sig, 0)
	}
	sig = append(sig, r[:]...)
	sig = append(sig, 0x02, 32)
	sig = append(sig, s[:]...)
	return append(sig, byte(txscript.SigHashAll))
}

func (f *placeholder) taproot(i int, u *utxo) ([]byte, error) {
	g := f.rng(u, i)
	sig := make([]byte, 64)
	for j := 0; j < 64; j += 8 {
		binary.LittleEndian.PutUint64(sig[j:], g.Uint64())
	}
	return sig, nil
}
