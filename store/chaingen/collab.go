package chaingen

import "slices"

// collabKind names a collaborative (or collaborative-looking) transaction
// in collaborative.csv.
type collabKind uint8

const (
	collabNone collabKind = iota
	collabTx0
	collabWhirlpool
	collabWabiSabi
	collabJoinMarket
	collabStonewall
	collabStonewallX2
	collabPayJoin
	numCollab
)

// Collaborative kinds as written in collaborative.csv. Tx0 and a solo
// Stonewall have one owner; the others have several.
const (
	CollabTx0         = "whirlpool-tx0"
	CollabWhirlpool   = "whirlpool"
	CollabWabiSabi    = "wabisabi"
	CollabJoinMarket  = "joinmarket"
	CollabStonewall   = "stonewall"
	CollabStonewallX2 = "stonewallx2"
	CollabPayJoin     = "payjoin"
)

var collabNames = [numCollab]string{"", CollabTx0, CollabWhirlpool, CollabWabiSabi, CollabJoinMarket,
	CollabStonewall, CollabStonewallX2, CollabPayJoin}

// CollabKinds lists the collaborative kinds in a stable order.
var CollabKinds = collabNames[1:]

// whirlpoolPools are the Whirlpool pool denominations (sat); Tx0 premix
// outputs are worth a denomination plus a small mining-fee allowance.
var whirlpoolPools = []int64{100_000, 1_000_000, 5_000_000, 50_000_000}

// whirlpoolFee is the coordinator's pool entry fee for denomination d.
func whirlpoolFee(d int64) int64 {
	if d >= 50_000_000 {
		return d * 35 / 1000
	}
	return d * 5 / 100
}

// collaborative picks one of the CoinJoin kinds for the everyday mix.
func (g *generator) collaborative() bool {
	switch r := g.rng.IntN(100); {
	case r < 45:
		return g.whirlpoolRound() || g.tx0()
	case r < 65:
		return g.tx0()
	case r < 94:
		return g.joinMarket()
	default:
		return g.wabiSabi()
	}
}

// tx0 is Whirlpool's premix transaction: one owner's coins pay the
// coordinator's fee, an OP_RETURN, 2–10 premix outputs of one value
// (denomination + mining-fee allowance) into the owner's premix account,
// and the rest as (toxic) change.
func (g *generator) tx0() bool {
	pool := 0 // the popular pools most often: 0.001 30%, 0.01 45%, 0.05 20%, 0.5 5%
	switch r := g.rng.IntN(100); {
	case r >= 95:
		pool = 3
	case r >= 75:
		pool = 2
	case r >= 30:
		pool = 1
	}
	d := whirlpoolPools[pool]
	rate := g.feeRate()
	premix := d + rate*110
	u := g.take(2*premix + whirlpoolFee(d) + 40_000)
	if u == nil {
		return false
	}
	ins := []*utxo{u}
	n := min(10, int((u.value-whirlpoolFee(d)-40_000)/premix))
	if n < 2 {
		for pool > 0 && n < 2 {
			pool--
			d = whirlpoolPools[pool]
			premix = d + rate*110
			n = min(10, int((u.value-whirlpoolFee(d)-40_000)/premix))
		}
		if n < 2 {
			g.release(ins)
			return false
		}
	}
	w := u.addr.w
	pre := g.role(w, "premix", P2WPKH)
	data := make([]byte, 46)
	for i := range data {
		data[i] = byte(g.rng.IntN(256))
	}
	p := &ptx{kind: kindCoinJoin, collab: collabTx0, ins: ins}
	p.outs = append(p.outs, pout{data: data}, out(whirlpoolFee(d), g.coordinator(), destNone, nil))
	types := []ScriptType{OpReturn, P2WPKH, P2WPKH}
	for i := 0; i < n; i++ {
		o := out(premix, g.recv(pre), destMix, nil)
		o.pool = int8(pool)
		p.outs = append(p.outs, o)
		types = append(types, P2WPKH)
	}
	change := g.newAddr(w, P2WPKH)
	rest := u.value - whirlpoolFee(d) - int64(n)*premix - feeFor(rate, ins, types)
	if rest < minPoolValue {
		g.release(ins)
		return false
	}
	p.outs = append(p.outs, out(rest, change, destPool, nil))
	g.add(p)
	return true
}

// coordinator is the Whirlpool coordinator's fee address (a few, reused).
func (g *generator) coordinator() *address {
	if g.coord == nil {
		o := g.newOwner(KindMixer, "whirlpool-coordinator")
		g.coord = &wallet{name: o.name, owner: o, prof: &profiles[0].p, typ: P2WPKH, chTyp: P2WPKH}
		for range 3 {
			g.coordAddrs = append(g.coordAddrs, g.recv(g.coord))
		}
	}
	return g.coordAddrs[g.rng.IntN(len(g.coordAddrs))]
}

// whirlpoolRound mixes five coins of one pool, of five owners, at least one
// of them a fresh premix (which pays the mining fee; remixes are free):
// five outputs of exactly the denomination, each into its owner's postmix
// account. Half the outputs queue to remix, the rest are spent normally.
func (g *generator) whirlpoolRound() bool {
	pool := g.rng.IntN(len(whirlpoolPools))
	q := g.mixq[pool]
	d := whirlpoolPools[pool]
	if len(q) < 5 {
		return false
	}
	var pick []int
	seen := map[*owner]bool{}
	premixes := 0
	for _, i := range g.rng.Perm(len(q)) {
		o := q[i].addr.w.owner
		if seen[o] {
			continue
		}
		seen[o] = true
		pick = append(pick, i)
		if q[i].value > d {
			premixes++
		}
		if len(pick) == 5 {
			break
		}
	}
	if len(pick) < 5 || premixes == 0 {
		return false
	}
	ins := make([]*utxo, 5)
	for k, i := range pick {
		ins[k] = q[i]
	}
	slices.Sort(pick)
	for k := len(pick) - 1; k >= 0; k-- {
		i := pick[k]
		q[i] = q[len(q)-1]
		q = q[:len(q)-1]
	}
	g.mixq[pool] = q
	if sum(ins)-5*d < 5*70 {
		g.mixq[pool] = append(g.mixq[pool], ins...)
		return false
	}
	g.rng.Shuffle(5, func(i, j int) { ins[i], ins[j] = ins[j], ins[i] })
	p := &ptx{kind: kindCoinJoin, collab: collabWhirlpool, ins: ins}
	for _, u := range ins {
		post := g.role(u.addr.w, "postmix", P2WPKH)
		dst := destPool
		if g.rng.IntN(2) == 0 {
			dst = destMix
		}
		o := out(d, g.recv(post), dst, nil)
		o.pool = int8(pool)
		p.outs = append(p.outs, o)
	}
	g.rng.Shuffle(5, func(i, j int) { p.outs[i], p.outs[j] = p.outs[j], p.outs[i] })
	g.add(p)
	return true
}

// queueMix adds a premix or postmix output to its pool's queue; a long
// queue sends its oldest coin back to ordinary spending.
func (g *generator) queueMix(u *utxo, pool int8) {
	q := append(g.mixq[pool], u)
	if len(q) > 60 {
		old := q[0]
		q = q[1:]
		g.addPool(old)
	}
	g.mixq[pool] = q
}

// joinMarket: a taker and 2–9 makers, each with one or two coins of its
// own wallet, get one equal output each; makers' changes include their
// fee, the taker pays the mining fee. Outputs are shuffled.
func (g *generator) joinMarket() bool {
	k := 3 + g.rng.IntN(8)
	denom := []int64{1_000_000, 5_000_000, 10_000_000, 50_000_000}[g.rng.IntN(4)]
	denom += int64(g.rng.IntN(1000)) * 1000 // takers pick any amount
	var parts [][]*utxo
	seen := map[*owner]bool{}
	for try := 0; try < 4*k && len(parts) < k; try++ {
		u := g.take(denom + denom/10 + 20_000)
		if u == nil {
			continue
		}
		if seen[u.addr.w.owner] {
			g.release([]*utxo{u})
			continue
		}
		seen[u.addr.w.owner] = true
		part := []*utxo{u}
		if g.rng.IntN(3) == 0 {
			if v := g.takeFrom(u.addr.w, minPoolValue); v != nil {
				part = append(part, v)
			}
		}
		parts = append(parts, part)
	}
	if len(parts) < 3 {
		for _, pt := range parts {
			g.release(pt)
		}
		return false
	}
	rate := g.feeRate()
	p := &ptx{kind: kindCoinJoin, collab: collabJoinMarket}
	var outs []pout
	var makerFees int64
	for i, pt := range parts {
		p.ins = append(p.ins, pt...)
		w := pt[0].addr.w
		outs = append(outs, out(denom, g.newAddr(w, P2WPKH), destPool, nil))
		if i == 0 {
			continue // the taker: change after the fees are known
		}
		fee := denom * int64(1+g.rng.IntN(20)) / 100_000
		makerFees += fee
		if c := sum(pt) - denom + fee; c >= minPoolValue {
			outs = append(outs, out(c, g.newAddr(w, P2WPKH), destPool, nil))
		}
	}
	types := make([]ScriptType, len(outs)+1)
	mining := feeFor(rate, p.ins, types)
	c := sum(parts[0]) - denom - makerFees - mining
	if c < 0 {
		for _, pt := range parts {
			g.release(pt)
		}
		return false
	}
	if c >= minPoolValue {
		outs = append(outs, out(c, g.newAddr(parts[0][0].addr.w, P2WPKH), destPool, nil))
	}
	g.rng.Shuffle(len(p.ins), func(i, j int) { p.ins[i], p.ins[j] = p.ins[j], p.ins[i] })
	g.rng.Shuffle(len(outs), func(i, j int) { outs[i], outs[j] = outs[j], outs[i] })
	p.outs = outs
	g.add(p)
	return true
}

// wabiSabiDenoms are Wasabi 2's standard output denominations: powers of 2
// and 3, twice powers of 3, and 1, 2 and 5 times powers of 10, from 5,000
// sat up (the rule Dumplings uses to recognise its rounds).
var wabiSabiDenoms = func() []int64 {
	set := map[int64]bool{5000: true}
	for _, base := range []int64{2, 3, 10} {
		for v := base; v <= 134_375_000_000; v *= base {
			for _, m := range []int64{1, 2, 5} {
				if (m == 5 && base != 10) || (m == 2 && base == 2) {
					continue
				}
				if x := v * m; x >= 5000 && x <= 134_375_000_000 {
					set[x] = true
				}
			}
		}
	}
	var out []int64
	for v := range set {
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}()

// wabiSabi: 20–60 owners bring 1–4 coins each (50–150 inputs); each owner's
// amount, less its fee share, is decomposed greedily into up to four
// standard denominations, the rest (if worth keeping) a change output;
// inputs and outputs are sorted by value, descending.
func (g *generator) wabiSabi() bool {
	k := 20 + g.rng.IntN(41)
	rate := g.feeRate()
	var ins []*utxo
	var outs []pout
	seen := map[*owner]bool{}
	for try := 0; try < 3*k && len(seen) < k; try++ {
		u := g.take(200_000)
		if u == nil {
			continue
		}
		if seen[u.addr.w.owner] {
			g.release([]*utxo{u})
			continue
		}
		seen[u.addr.w.owner] = true
		part := []*utxo{u}
		for n := g.rng.IntN(4); n > 0; n-- {
			if v := g.takeFrom(u.addr.w, minPoolValue); v != nil {
				part = append(part, v)
			}
		}
		ins = append(ins, part...)
		t := P2WPKH
		if g.rng.IntN(3) == 0 {
			t = P2TR
		}
		w := u.addr.w
		left := sum(part) - rate*int64(len(part)*69)
		for n := 0; n < 4 && left >= 5000+rate*43; n++ {
			left -= rate * 43
			i, _ := slices.BinarySearch(wabiSabiDenoms, left+1)
			d := wabiSabiDenoms[i-1]
			outs = append(outs, out(d, g.newAddr(w, t), destPool, nil))
			left -= d
		}
		if left >= minPoolValue+rate*43 {
			outs = append(outs, out(left-rate*43, g.newAddr(w, t), destPool, nil))
		}
	}
	if len(seen) < 10 {
		g.release(ins)
		return false
	}
	slices.SortStableFunc(ins, func(a, b *utxo) int { return cmpDesc(a.value, b.value) })
	slices.SortStableFunc(outs, func(a, b pout) int { return cmpDesc(a.value, b.value) })
	p := &ptx{kind: kindCoinJoin, collab: collabWabiSabi, ins: ins, outs: outs}
	g.add(p)
	return true
}

func cmpDesc(a, b int64) int {
	switch {
	case a > b:
		return -1
	case a < b:
		return 1
	}
	return 0
}

// stonewall: Samourai's Stonewall looks like a two-party CoinJoin: two
// outputs of the payment amount (one to the payee, one back to the
// spender), and two changes. Solo, every input is the spender's;
// STONEWALLx2 splits inputs, decoy and one change with a collaborator.
func (g *generator) stonewall() bool {
	u := g.take(200_000)
	if u == nil {
		return false
	}
	w := u.addr.w
	a := []*utxo{u}
	var b []*utxo
	var cw *wallet
	x2 := g.rng.IntN(2) == 0
	if x2 {
		if c := g.take(200_000); c != nil && c.addr.w.owner != w.owner {
			b, cw = []*utxo{c}, c.addr.w
		} else if c != nil {
			g.release([]*utxo{c})
		}
	} else if c := g.takeFrom(w, 200_000); c != nil {
		b, cw = []*utxo{c}, w
	}
	if b == nil {
		g.release(a)
		return false
	}
	rate := g.feeRate()
	ins := append(slices.Clone(a), b...)
	to := g.payee()
	types := []ScriptType{to.typ, P2WPKH, P2WPKH, P2WPKH}
	fee := feeFor(rate, ins, types)
	amt := min(sum(a), sum(b)) * int64(30+g.rng.IntN(60)) / 100
	ca := sum(a) - amt - fee/2
	cb := sum(b) - amt - (fee - fee/2)
	if ca < minPoolValue || cb < minPoolValue {
		g.release(ins)
		return false
	}
	p := &ptx{kind: kindPayment, collab: collabStonewall, ins: ins}
	if x2 {
		p.collab = collabStonewallX2
	}
	p.outs = []pout{out(amt, to, destPool, nil), out(amt, g.newAddr(cw, cw.chTyp), destPool, nil),
		out(ca, g.newAddr(w, w.chTyp), destPool, nil), out(cb, g.newAddr(cw, cw.chTyp), destPool, nil)}
	g.rng.Shuffle(len(p.outs), func(i, j int) { p.outs[i], p.outs[j] = p.outs[j], p.outs[i] })
	g.add(p)
	return true
}

// payJoin (BIP78): a merchant's wallet adds one of its coins, of the
// sender's script type, to the sender's payment and takes payment plus
// coin in one output; the sender's change is the other output.
func (g *generator) payJoin() bool {
	u := g.take(100_000)
	if u == nil {
		return false
	}
	var r *utxo
	for try := 0; try < 8 && r == nil; try++ {
		m := g.merchants[g.rng.IntN(len(g.merchants))]
		if m != nil && m.typ == u.addr.typ && m.owner != u.addr.w.owner {
			r = g.takeFrom(m, minPoolValue)
		}
	}
	if r == nil {
		g.release([]*utxo{u})
		return false
	}
	ins := []*utxo{u, r}
	to := g.recv(r.addr.w)
	change := g.changeAddr(u, to.typ)
	fee := feeFor(g.feeRate(), ins, []ScriptType{to.typ, change.typ})
	amt := (u.value - fee) * int64(10+g.rng.IntN(80)) / 100
	c := u.value - fee - amt
	if c < minPoolValue || amt < minPoolValue {
		g.release(ins)
		return false
	}
	g.rng.Shuffle(2, func(i, j int) { ins[i], ins[j] = ins[j], ins[i] })
	p := &ptx{kind: kindPayment, collab: collabPayJoin, ins: ins}
	p.outs = []pout{out(amt+r.value, to, destPool, nil), out(c, change, destPool, nil)}
	g.rng.Shuffle(2, func(i, j int) { p.outs[i], p.outs[j] = p.outs[j], p.outs[i] })
	g.add(p)
	return true
}
