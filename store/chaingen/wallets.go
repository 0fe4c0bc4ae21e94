package chaingen

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// Owner kinds, as written in the kind column of owners.csv.
const (
	KindUser     = "user"
	KindMerchant = "merchant"
	KindExchange = "exchange"
	KindMining   = "mining-pool"
	KindOTC      = "otc-desk"
	KindMixer    = "mixer"
	KindScam     = "scam-operator"
	KindMule     = "money-mule"
)

// owner is a person or organisation; every address belongs to one wallet
// of one owner. Ownership truth is per owner: two addresses of different
// wallets of one owner are one entity.
type owner struct {
	name string
	kind string
}

// profile is a wallet software's behaviour: how it picks coins, where its
// change goes and how it orders outputs. The mix decides how often each
// change heuristic is right (see doc.go).
type profile struct {
	name       string
	reuse      int  // per mille of spends whose change goes back to the first input's address
	matchPayee bool // change takes the payee's script type (Bitcoin Core since 23)
	otherType  bool // change is of a fixed type other than the receiving type
	minimal    bool // multi-input payments need every input (no unnecessary input)
	changeLast bool // payee first, change last; otherwise random order or BIP69
	bip69      bool // outputs sorted by value (BIP69)
	round      int  // per mille of payments of a round amount
}

// profiles and their weights (per mille of wallets).
var profiles = []struct {
	p profile
	w int
}{
	{profile{name: "core", matchPayee: true, minimal: true, round: 200}, 300},
	{profile{name: "electrum", bip69: true, minimal: true, round: 250}, 200},
	{profile{name: "mobile", changeLast: true, minimal: true, round: 300}, 250},
	{profile{name: "mobile-mixed-type", otherType: true, changeLast: true, minimal: true, round: 300}, 80},
	{profile{name: "legacy-reuse", reuse: 1000, round: 300}, 70},
	{profile{name: "careless", reuse: 100, round: 150}, 100},
}

// wallet is a set of keys one owner's software controls, and the owner's
// spendable coins in the pool.
type wallet struct {
	name  string
	owner *owner
	prof  *profile
	typ   ScriptType // receiving addresses
	chTyp ScriptType // change addresses (unless the profile matches the payee)
	utxos []*utxo    // its outputs in the pool; utxo.wi indexes this
	roles map[string]*wallet
}

func (g *generator) newOwner(kind string, name string) *owner {
	return &owner{name: name, kind: kind}
}

// newWallet makes a wallet of o with a profile drawn from the mix and
// receiving type t.
func (g *generator) newWallet(o *owner, role string, t ScriptType) *wallet {
	r := g.rng.IntN(1000)
	p := &profiles[len(profiles)-1].p
	for i := range profiles {
		if r < profiles[i].w {
			p = &profiles[i].p
			break
		}
		r -= profiles[i].w
	}
	w := &wallet{name: o.name, owner: o, prof: p, typ: t, chTyp: t}
	if role != "" {
		w.name = o.name + "/" + role
	}
	switch {
	case t == P2PK:
		w.chTyp = P2PKH
	case p.otherType && t == P2WPKH:
		w.chTyp = P2TR
	case p.otherType:
		w.chTyp = P2WPKH
	}
	return w
}

// walletType draws a wallet's receiving type: the address mix of doc.go.
// Merchants (few, and paid often) use single-key wallets of the modern
// types or P2PKH.
func (g *generator) walletType(merchant bool) ScriptType {
	for {
		t := g.userType()
		switch {
		case merchant && (t == P2PK || t == P2WSHMultisig):
			continue
		}
		return t
	}
}

// userWallet returns a random user's (or, a quarter of the time, a
// merchant's) wallet, creating it on first use.
func (g *generator) userWallet() *wallet {
	if g.rng.IntN(4) == 0 {
		i := g.rng.IntN(len(g.merchants))
		if g.merchants[i] == nil {
			o := g.newOwner(KindMerchant, "merchant-"+strconv.Itoa(i))
			g.merchants[i] = g.newWallet(o, "", g.walletType(true))
		}
		return g.merchants[i]
	}
	i := g.rng.IntN(len(g.users))
	if g.users[i] == nil {
		o := g.newOwner(KindUser, "user-"+strconv.Itoa(i))
		g.users[i] = g.newWallet(o, "", g.walletType(false))
	}
	return g.users[i]
}

// role returns the owner's wallet for a role (a Whirlpool premix or
// postmix account), creating it on first use.
func (g *generator) role(w *wallet, role string, t ScriptType) *wallet {
	if w.roles == nil {
		w.roles = map[string]*wallet{}
	}
	if r, ok := w.roles[role]; ok {
		return r
	}
	r := g.newWallet(w.owner, role, t)
	w.roles[role] = r
	return r
}

// recv is a new receiving address of w.
func (g *generator) recv(w *wallet) *address { return g.newAddr(w, w.typ) }

// Pool bookkeeping: the pool and each wallet's list hold the same utxos,
// each knowing its index in both, so taking and adding cost O(1).

func (g *generator) addPool(u *utxo) {
	u.pi = int32(len(g.pool))
	g.pool = append(g.pool, u)
	if w := u.addr.w; w != nil {
		u.wi = int32(len(w.utxos))
		w.utxos = append(w.utxos, u)
	}
}

func (g *generator) removePool(u *utxo) {
	last := g.pool[len(g.pool)-1]
	g.pool[u.pi] = last
	last.pi = u.pi
	g.pool = g.pool[:len(g.pool)-1]
	if w := u.addr.w; w != nil {
		l := w.utxos[len(w.utxos)-1]
		w.utxos[u.wi] = l
		l.wi = u.wi
		w.utxos[len(w.utxos)-1] = nil
		w.utxos = w.utxos[:len(w.utxos)-1]
	}
}

// takeFrom removes a random coin of w worth at least minValue, or returns nil.
func (g *generator) takeFrom(w *wallet, minValue int64) *utxo {
	if w == nil {
		return nil
	}
	for try := 0; try < 8 && len(w.utxos) > 0; try++ {
		if u := w.utxos[g.rng.IntN(len(w.utxos))]; u.value >= minValue {
			g.removePool(u)
			return u
		}
	}
	return nil
}

// truthFiles are the streamed truth files: owners.csv, collaborative.csv
// and change.csv (doc.go).
type truthFiles struct {
	owners, collab, change *bufio.Writer
	files                  []*os.File
}

func openTruthFiles(dir string) (*truthFiles, error) {
	tf := &truthFiles{}
	for _, f := range []struct {
		name, header string
		w            **bufio.Writer
	}{
		{"owners.csv", "address,wallet,owner,kind\n", &tf.owners},
		{"collaborative.csv", "txid,kind,height,inputs,owners\n", &tf.collab},
		{"change.csv", "txid,vout\n", &tf.change},
	} {
		fh, err := os.Create(filepath.Join(dir, f.name))
		if err != nil {
			return nil, errors.Join(fmt.Errorf("create truth file: %w", err), tf.close())
		}
		tf.files = append(tf.files, fh)
		*f.w = bufio.NewWriterSize(fh, 1<<20)
		(*f.w).WriteString(f.header)
	}
	return tf, nil
}

func (tf *truthFiles) close() error {
	var first error
	for i, fh := range tf.files {
		w := []*bufio.Writer{tf.owners, tf.collab, tf.change}[i]
		if w != nil {
			if err := w.Flush(); err != nil && first == nil {
				first = fmt.Errorf("write %s: %w", fh.Name(), err)
			}
		}
		if err := fh.Close(); err != nil && first == nil {
			first = fmt.Errorf("close %s: %w", fh.Name(), err)
		}
	}
	tf.files = nil
	return first
}

// list writes a's owners.csv row the first time it is paid.
func (tf *truthFiles) list(a *address) {
	if a.listed || a.w == nil {
		return
	}
	a.listed = true
	w := tf.owners
	w.WriteString(a.String())
	w.WriteByte(',')
	w.WriteString(a.w.name)
	w.WriteByte(',')
	w.WriteString(a.w.owner.name)
	w.WriteByte(',')
	w.WriteString(a.w.owner.kind)
	w.WriteByte('\n')
}

// record writes the collaborative and change rows of a committed tx.
func (tf *truthFiles) record(p *ptx) {
	if p.collab != collabNone {
		owners := map[*owner]bool{}
		for _, u := range p.ins {
			if u.addr.w != nil {
				owners[u.addr.w.owner] = true
			}
		}
		fmt.Fprintf(tf.collab, "%s,%s,%d,%d,%d\n", p.txid, collabNames[p.collab], p.height, len(p.ins), len(owners))
		return
	}
	if len(p.outs) < 2 || len(p.ins) == 0 || p.ins[0].addr.w == nil {
		return
	}
	o := p.ins[0].addr.w.owner
	var id string
	for j := range p.outs {
		if a := p.outs[j].addr; a != nil && a.w != nil && a.w.owner == o {
			if id == "" {
				id = p.txid.String()
			}
			tf.change.WriteString(id)
			tf.change.WriteByte(',')
			tf.change.WriteString(strconv.Itoa(j))
			tf.change.WriteByte('\n')
		}
	}
}
