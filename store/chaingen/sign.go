package chaingen

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/btcsuite/btcd/btcec/v2/schnorr"
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
// its txid. It reads only data fixed before the signing phase began.
func (p *ptx) build() error {
	tx := wire.NewMsgTx(2)
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
	var hashes *txscript.TxSigHashes
	var fetcher *txscript.MultiPrevOutFetcher
	if segwit {
		fetcher = txscript.NewMultiPrevOutFetcher(nil)
		for _, u := range p.ins {
			fetcher.AddPrevOut(u.op, &wire.TxOut{Value: u.value, PkScript: u.addr.pk})
		}
		hashes = txscript.NewTxSigHashes(tx, fetcher)
	}
	// Public keys and tweaked keys are cached in the address, so each
	// signature costs one scalar multiplication (two for Schnorr).
	for i, u := range p.ins {
		a := u.addr
		var err error
		push := func(items ...[]byte) []byte {
			b := txscript.NewScriptBuilder()
			for _, it := range items {
				b.AddData(it)
			}
			s, e := b.Script()
			if e != nil {
				err = e
			}
			return s
		}
		var sig []byte
		switch a.typ {
		case P2PKH:
			if sig, err = txscript.RawTxInSignature(tx, i, a.pk, txscript.SigHashAll, a.keys[0]); err == nil {
				tx.TxIn[i].SignatureScript = push(sig, a.pub[0])
			}
		case P2PK:
			if sig, err = txscript.RawTxInSignature(tx, i, a.pk, txscript.SigHashAll, a.keys[0]); err == nil {
				tx.TxIn[i].SignatureScript = push(sig)
			}
		case P2WPKH, P2SHP2WPKH:
			prog := a.pk
			if a.typ == P2SHP2WPKH {
				prog = a.inner
			}
			if sig, err = txscript.RawTxInWitnessSignature(tx, hashes, i, u.value, prog, txscript.SigHashAll, a.keys[0]); err == nil {
				tx.TxIn[i].Witness = wire.TxWitness{sig, a.pub[0]}
				if a.typ == P2SHP2WPKH {
					tx.TxIn[i].SignatureScript = push(a.inner)
				}
			}
		case P2TR:
			var h []byte
			if h, err = txscript.CalcTaprootSignatureHash(hashes, txscript.SigHashDefault, tx, i, fetcher); err == nil {
				var s *schnorr.Signature
				if s, err = schnorr.Sign(a.tweak, h, schnorr.FastSign()); err == nil {
					tx.TxIn[i].Witness = wire.TxWitness{s.Serialize()}
				}
			}
		case P2WSHMultisig:
			w := wire.TxWitness{nil}
			for _, k := range a.keys[:2] {
				if sig, err = txscript.RawTxInWitnessSignature(tx, hashes, i, u.value, a.inner, txscript.SigHashAll, k); err != nil {
					break
				}
				w = append(w, sig)
			}
			tx.TxIn[i].Witness = append(w, a.inner)
		default:
			err = ErrBadScriptType
		}
		if err != nil {
			return fmt.Errorf("sign input %d (%s): %w", i, a.typ, err)
		}
	}
	p.tx = tx
	p.txid = tx.TxHash()
	return nil
}
