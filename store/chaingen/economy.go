package chaingen

import (
	"fmt"
	"math"
	"slices"
)

const (
	minPoolValue = 20_000  // smaller outputs are left unspent, like real dust
	forgetBelow  = 200_000 // pool overflow forgets outputs below this first
	dustValue    = 546
	coin         = 100_000_000
)

type exchange struct {
	name, actor string
	hot         []*address
	hotW, depW  *wallet
	hotUTXOs    []*utxo
	customers   []*address // deposit address of customer i
	deposits    []*utxo    // confirmed deposits waiting for a sweep
	lastSweep   int32
	// Accounts opened by scenarios: kept apart so that no everyday customer
	// reuses them.
	special       []*address
	specialTagged []bool
}

func newExchanges(g *generator) []*exchange {
	names := [][2]string{
		{"Northgate Exchange", "northgate"},
		{"Bluefin Markets", "bluefin"},
		{"Coinbridge Asia", "coinbridge"},
		{"Satoshi Square", "satoshisquare"},
	}
	var out []*exchange
	for _, n := range names {
		ex := &exchange{name: n[0], actor: n[1]}
		o := g.newOwner(KindExchange, n[1])
		ex.hotW = &wallet{name: n[1] + "/hot", owner: o, prof: &profiles[0].p, typ: P2WPKH, chTyp: P2WPKH}
		ex.depW = &wallet{name: n[1] + "/deposit", owner: o, prof: &profiles[0].p, typ: P2WPKH, chTyp: P2WPKH}
		for _, t := range []ScriptType{P2WPKH, P2SHP2WPKH, P2TR} {
			ex.hot = append(ex.hot, g.newAddr(ex.hotW, t))
		}
		out = append(out, ex)
	}
	return out
}

// taggedCustomer says whether customer i's deposit address is in the tag
// pack (known from earlier investigations); the rest are found by sweeps.
func taggedCustomer(i int) bool { return i%5 == 0 }

// depositAddr returns a customer's deposit address: often a new customer,
// otherwise an existing one reusing theirs.
func (g *generator) depositAddr(ex *exchange, wantTagged int) (*address, int) {
	maxCust := 200 + g.quota*2
	newCust := len(ex.customers) < 10 || (len(ex.customers) < maxCust && g.rng.IntN(3) == 0)
	if wantTagged >= 0 {
		newCust = true
	}
	if !newCust {
		i := g.rng.IntN(len(ex.customers))
		return ex.customers[i], i
	}
	for {
		i := len(ex.customers)
		t := P2WPKH
		if g.rng.IntN(4) == 0 {
			t = P2SHP2WPKH
		}
		ex.customers = append(ex.customers, g.newAddr(ex.depW, t))
		if wantTagged < 0 || taggedCustomer(i) == (wantTagged == 1) {
			return ex.customers[i], i
		}
	}
}

func (g *generator) feeRate() int64 {
	return 1 + int64(math.Min(g.rng.ExpFloat64()*6, 300))
}

func txWeight(ins []*utxo, outs []ScriptType) int {
	w := 10 * 4
	seg := false
	for _, u := range ins {
		w += inputWeight[u.addr.typ]
		seg = seg || (u.addr.typ != P2PKH && u.addr.typ != P2PK)
	}
	if seg {
		w += 2
	}
	for _, t := range outs {
		w += outputWeight[t]
	}
	return w
}

// feeFor is the fee at rate sat/vB for a transaction of the given shape.
func feeFor(rate int64, ins []*utxo, outs []ScriptType) int64 {
	return rate * int64((txWeight(ins, outs)+3)/4)
}

// take removes a random pool output worth at least minValue, or returns nil.
func (g *generator) take(minValue int64) *utxo {
	for try := 0; try < 48 && len(g.pool) > 0; try++ {
		if u := g.pool[g.rng.IntN(len(g.pool))]; u.value >= minValue {
			g.removePool(u)
			return u
		}
	}
	return nil
}

func (g *generator) release(us []*utxo) {
	for _, u := range us {
		g.addPool(u)
	}
}

func sum(us []*utxo) int64 {
	var s int64
	for _, u := range us {
		s += u.value
	}
	return s
}

// out makes an output; tracked destinations get a utxo the planner can
// refer to before the txid is known.
func out(value int64, a *address, d dest, ex *exchange) pout {
	o := pout{value: value, addr: a, dest: d, ex: ex}
	if d != destNone {
		o.u = &utxo{value: value, addr: a}
	}
	return o
}

func (g *generator) add(p *ptx) {
	var types []ScriptType
	var paid int64
	for _, o := range p.outs {
		paid += o.value
		if o.addr == nil {
			types = append(types, OpReturn)
		} else {
			types = append(types, o.addr.typ)
		}
	}
	p.fee = sum(p.ins) - paid
	if p.fee < 0 && g.bug == nil {
		g.bug = fmt.Errorf("%w: planned %s transaction pays %d more than its inputs", ErrInternal, kindNames[p.kind], -p.fee)
	}
	p.weight = txWeight(p.ins, types)
	g.block = append(g.block, p)
	g.blockWt += p.weight
}

// changeAddr is where the spender of in gets its change, as its wallet's
// profile decides: back to in's address, or a fresh address of the change
// type (or, for profiles that match it, of the payee's type).
func (g *generator) changeAddr(in *utxo, payee ScriptType) *address {
	w := in.addr.w
	if r := w.prof.reuse; r > 0 && in.addr.typ != P2PK && (r >= 1000 || g.rng.IntN(1000) < r) {
		return in.addr // address reuse: change back to the spending address
	}
	t := w.chTyp
	if w.prof.matchPayee && payee != P2PK && payee != OpReturn {
		t = payee
	}
	return g.newAddr(w, t)
}

// payee is a known address (a fifth of the time) or a new address of a
// random user's or merchant's wallet.
func (g *generator) payee() *address {
	if g.main != nil {
		if len(g.reuse) > 0 && g.rng.IntN(1000) < payeeReuse {
			return g.reuse[g.rng.IntN(len(g.reuse))]
		}
		return g.recv(g.userWallet())
	}
	if len(g.reuse) > 0 && g.rng.IntN(5) == 0 {
		return g.reuse[g.rng.IntN(len(g.reuse))]
	}
	return g.recv(g.userWallet())
}

// order arranges a payment's outputs as the spender's wallet does: change
// last, sorted by value (BIP69), or shuffled.
func (g *generator) order(w *wallet, outs []pout) {
	switch {
	case w.prof.changeLast:
	case w.prof.bip69:
		slices.SortStableFunc(outs, func(a, b pout) int { return cmpDesc(b.value, a.value) })
	default:
		g.rng.Shuffle(len(outs), func(i, j int) { outs[i], outs[j] = outs[j], outs[i] })
	}
}

// plan fills block h: scenario steps, peel chains, exchange sweeps, miner
// payouts, then the everyday mix up to the block's quota.
func (g *generator) plan(h int32) {
	left := int64(g.cfg.Txs) - g.doneTxs
	remaining := int64(max(1, g.planned-h+1))
	q := int(left / remaining)
	if left > 0 && q == 0 {
		q = 1
	}
	if q > 4 {
		q = int(float64(q) * (0.75 + 0.5*g.rng.Float64()))
	}
	q = min(q, int(left), 3000)
	if g.scam != nil {
		g.scam.plan(h)
	}
	if q <= 0 {
		return
	}
	full := func() bool { return len(g.block) >= q || g.blockWt > maxBlockWt-200_000 }
	g.payouts(h, q)
	for _, ex := range g.exchanges {
		if !full() {
			g.sweep(h, ex, q)
		}
	}
	for i := 0; i < len(g.peels) && !full(); i++ {
		g.peelStep(g.peels[i])
	}
	g.peels = dropDone(g.peels)
	fails := 0
	for !full() && fails < 64 {
		if !g.everyday() {
			fails++
		}
	}
}

func dropDone(ps []*peelChain) []*peelChain {
	out := ps[:0]
	for _, p := range ps {
		if p.cur != nil {
			out = append(out, p)
		}
	}
	return out
}

// payouts spends matured coinbases into many user outputs (a mining pool
// paying its members): at least one a block, more while the pool is short.
func (g *generator) payouts(h int32, q int) {
	n := 0
	for len(g.cbq) > 0 && h-g.cbq[0].height >= 100 && n < max(1, q/4) {
		if n > 0 && len(g.pool) >= g.poolGoal {
			break
		}
		cb := g.cbq[0]
		g.cbq = g.cbq[1:]
		n++
		if cb.value < 100_000 {
			continue // fee-only coinbase too small to bother with: stays unspent
		}
		k := min(max(10, g.poolGoal/100), 60)
		ins := []*utxo{cb}
		types := make([]ScriptType, k)
		addrs := make([]*address, k)
		for i := range addrs {
			addrs[i] = g.recv(g.userWallet())
			types[i] = addrs[i].typ
		}
		fee := feeFor(g.feeRate(), ins, types)
		avail := cb.value - fee
		if avail < int64(k)*minPoolValue*4 {
			k = 1
			addrs, types = addrs[:1], types[:1]
			fee = feeFor(1, ins, types)
			avail = cb.value - fee
		}
		p := &ptx{kind: kindPayout, ins: ins}
		shares := g.split(avail, k)
		for i, a := range addrs {
			p.outs = append(p.outs, out(shares[i], a, destPool, nil))
		}
		g.add(p)
	}
}

// split divides total into k positive random shares that add up to total.
func (g *generator) split(total int64, k int) []int64 {
	w := make([]float64, k)
	var s float64
	for i := range w {
		w[i] = 0.2 + g.rng.ExpFloat64()
		s += w[i]
	}
	out := make([]int64, k)
	var used int64
	for i := range w {
		out[i] = int64(float64(total) * w[i] / s)
		used += out[i]
	}
	out[k-1] += total - used
	return out
}

func (g *generator) everyday() bool {
	r := g.rng.IntN(1000)
	if len(g.pool) > 2*g.poolGoal && r < 100 {
		return g.consolidate()
	}
	if len(g.pool) < g.poolGoal/2 && r < 300 {
		return g.withdraw() || g.batchPay()
	}
	switch {
	case r < 450:
		return g.onePayment()
	case r < 570:
		return g.payment(2 + g.rng.IntN(3))
	case r < 620:
		return g.consolidate()
	case r < 770:
		return g.deposit()
	case r < 850:
		return g.withdraw() || g.payment(1)
	case r < 930:
		return g.batchPay()
	case r < 935:
		return g.collaborative()
	case r < 938:
		return g.startPeel()
	default:
		return g.payment(1)
	}
}

// onePayment is a one-input payment: rarely (2 and 1 in 1,000) a
// Stonewall or a PayJoin in its place.
func (g *generator) onePayment() bool {
	switch g.rng.IntN(1000) {
	case 0, 1:
		return g.stonewall() || g.payment(1)
	case 2:
		return g.payJoin() || g.payment(1)
	}
	return g.payment(1)
}

// payment: n inputs of one wallet → one payee and change; sometimes a dust
// output or an OP_RETURN rides along. Wallets with minimal coin selection
// pay more than all but the smallest input could cover (no input is
// unnecessary); the others pick any amount.
func (g *generator) payment(n int) bool {
	ins := g.walletInputs(n)
	if ins == nil {
		return false
	}
	w := ins[0].addr.w
	to := g.payee()
	change := g.changeAddr(ins[0], to.typ)
	extra := g.riders()
	types := []ScriptType{to.typ, change.typ}
	for _, e := range extra {
		if e.addr == nil {
			types = append(types, OpReturn)
		} else {
			types = append(types, e.addr.typ)
		}
	}
	fee := feeFor(g.feeRate(), ins, types)
	avail := sum(ins) - fee - int64(len(extra))*dustValue
	if avail < 2*minPoolValue {
		g.release(ins)
		return false
	}
	amt := g.paymentAmount(w, ins, avail)
	p := &ptx{kind: kindPayment, ins: ins}
	if len(ins) == 1 && len(extra) == 0 && g.rng.IntN(5) == 0 {
		// Send-all: the whole input to the payee, no change.
		p.outs = append(p.outs, out(sum(ins)-feeFor(g.feeRate(), ins, []ScriptType{to.typ}), to, destPool, nil))
		g.add(p)
		return true
	}
	p.outs = append(p.outs, out(amt, to, destPool, nil), out(avail-amt, change, destPool, nil))
	g.order(w, p.outs)
	p.outs = append(p.outs, extra...)
	g.add(p)
	return true
}

// walletInputs takes up to n coins of one wallet (nil: none to take).
func (g *generator) walletInputs(n int) []*utxo {
	first := g.take(minPoolValue * 3)
	if first == nil {
		return nil
	}
	ins := []*utxo{first}
	for i := 1; i < n; i++ {
		u := g.takeFrom(first.addr.w, minPoolValue*3)
		if u == nil {
			break
		}
		ins = append(ins, u)
	}
	return ins
}

// riders are what sometimes rides along a payment: a dust output (1 in 33)
// and an OP_RETURN (1 in 66).
func (g *generator) riders() []pout {
	var extra []pout
	if g.rng.IntN(33) == 0 {
		t := P2PKH
		if g.rng.IntN(2) == 0 {
			t = P2WPKH
		}
		extra = append(extra, out(dustValue, g.newAddr(g.userWallet(), t), destNone, nil))
	}
	if g.rng.IntN(66) == 0 {
		data := make([]byte, 20+g.rng.IntN(21))
		for i := range data {
			data[i] = byte(g.rng.IntN(256))
		}
		extra = append(extra, pout{addr: nil, data: data})
	}
	return extra
}

// paymentAmount picks what a payment of avail pays: any amount, or with
// minimal coin selection more than all but the smallest input cover;
// rounded as the wallet likes; leaving change of at least minPoolValue.
func (g *generator) paymentAmount(w *wallet, ins []*utxo, avail int64) int64 {
	amt := int64(float64(avail) * (0.05 + 0.75*g.rng.Float64()))
	if len(ins) > 1 && w.prof.minimal {
		small := ins[0].value
		for _, u := range ins {
			small = min(small, u.value)
		}
		amt = avail - int64(float64(min(small, avail/2))*(0.05+0.9*g.rng.Float64()))
	}
	if g.rng.IntN(1000) < w.prof.round && amt > 100_000 {
		unit := int64(100_000)
		for unit*100 < amt {
			unit *= 10
		}
		amt = amt / unit * unit
	}
	amt = max(amt, minPoolValue)
	if avail-amt < minPoolValue {
		amt = avail - minPoolValue
	}
	return amt
}

// batchPay: one input paying several people at once.
func (g *generator) batchPay() bool {
	u := g.take(20 * minPoolValue)
	if u == nil {
		return false
	}
	k := 2 + g.rng.IntN(5)
	addrs := make([]*address, k)
	types := make([]ScriptType, k+1)
	for i := range addrs {
		addrs[i] = g.payee()
		types[i] = addrs[i].typ
	}
	change := g.changeAddr(u, addrs[0].typ)
	types[k] = change.typ
	ins := []*utxo{u}
	avail := u.value - feeFor(g.feeRate(), ins, types)
	shares := g.split(avail, k+1)
	for _, s := range shares {
		if s < minPoolValue {
			g.release(ins)
			return false
		}
	}
	p := &ptx{kind: kindBatchPayment, ins: ins}
	for i, a := range addrs {
		p.outs = append(p.outs, out(shares[i], a, destPool, nil))
	}
	p.outs = append(p.outs, out(shares[k], change, destPool, nil))
	g.order(u.addr.w, p.outs)
	g.add(p)
	return true
}

// consolidate: a wallet with many coins (the fullest of a few sampled)
// sweeps 3–20 of them into one new address of its own.
func (g *generator) consolidate() bool {
	k := 3 + g.rng.IntN(18)
	var w *wallet
	for try := 0; try < 6 && len(g.pool) > 0; try++ {
		c := g.pool[g.rng.IntN(len(g.pool))].addr.w
		if w == nil || len(c.utxos) > len(w.utxos) {
			w = c
		}
	}
	if w == nil || len(w.utxos) < 2 {
		return false
	}
	var ins []*utxo
	for i := 0; i < k && len(w.utxos) > 0; i++ {
		u := w.utxos[g.rng.IntN(len(w.utxos))]
		g.removePool(u)
		ins = append(ins, u)
	}
	to := g.recv(w)
	fee := feeFor(g.feeRate(), ins, []ScriptType{to.typ})
	if sum(ins)-fee < minPoolValue {
		g.release(ins)
		return false
	}
	p := &ptx{kind: kindConsolidation, ins: ins}
	p.outs = append(p.outs, out(sum(ins)-fee, to, destPool, nil))
	g.add(p)
	return true
}

func (g *generator) deposit() bool {
	u := g.take(4 * minPoolValue)
	if u == nil {
		return false
	}
	ex := g.exchanges[g.rng.IntN(len(g.exchanges))]
	to, _ := g.depositAddr(ex, -1)
	change := g.changeAddr(u, to.typ)
	ins := []*utxo{u}
	avail := u.value - feeFor(g.feeRate(), ins, []ScriptType{to.typ, change.typ})
	amt := int64(float64(avail) * (0.1 + 0.8*g.rng.Float64()))
	if amt < minPoolValue || avail-amt < minPoolValue {
		g.release(ins)
		return false
	}
	p := &ptx{kind: kindDeposit, ins: ins}
	p.outs = append(p.outs, out(amt, to, destDeposit, ex), out(avail-amt, change, destPool, nil))
	g.order(u.addr.w, p.outs)
	g.add(p)
	if s := g.scam; s != nil && g.height >= s.start && len(s.cleanDeps) < 20 {
		// Everyday deposits made while the scenario runs: must not be flagged.
		for j := range p.outs {
			if p.outs[j].dest == destDeposit {
				s.cleanDeps = append(s.cleanDeps, &cleanInfo{u: p.outs[j].u, p: p, kind: "clean-deposit"})
			}
		}
	}
	return true
}

// sweep moves an exchange's confirmed deposits into one of its hot wallets
// in one many-input transaction, when enough have piled up or they are old.
func (g *generator) sweep(h int32, ex *exchange, q int) {
	if len(ex.deposits) == 0 || (len(ex.deposits) < max(5, q/25) && h-ex.lastSweep < 6) {
		return
	}
	n := min(len(ex.deposits), 100)
	ins := ex.deposits[:n:n]
	ex.deposits = append([]*utxo(nil), ex.deposits[n:]...)
	hot := ex.hot[g.rng.IntN(len(ex.hot))]
	fee := feeFor(g.feeRate(), ins, []ScriptType{hot.typ})
	p := &ptx{kind: kindSweep, ins: ins}
	p.outs = append(p.outs, out(sum(ins)-fee, hot, destHot, ex))
	for _, u := range ins {
		if u.watched {
			u.sweep, u.hotAddr = p, hot
		}
	}
	ex.lastSweep = h
	g.add(p)
}

// withdraw: a hot wallet pays many customers in one batch, change back to
// a hot wallet address.
func (g *generator) withdraw() bool {
	ex := g.exchanges[g.rng.IntN(len(g.exchanges))]
	if len(ex.hotUTXOs) == 0 {
		return false
	}
	i := g.rng.IntN(len(ex.hotUTXOs))
	u := ex.hotUTXOs[i]
	ex.hotUTXOs[i] = ex.hotUTXOs[len(ex.hotUTXOs)-1]
	ex.hotUTXOs = ex.hotUTXOs[:len(ex.hotUTXOs)-1]
	k := min(3+g.rng.IntN(10), int(u.value/(10*minPoolValue)))
	if k < 1 {
		return false // too small to bother; leave it
	}
	addrs := make([]*address, k)
	types := make([]ScriptType, k+1)
	for j := range addrs {
		addrs[j] = g.payee()
		types[j] = addrs[j].typ
	}
	hot := ex.hot[g.rng.IntN(len(ex.hot))]
	types[k] = hot.typ
	ins := []*utxo{u}
	avail := u.value - feeFor(g.feeRate(), ins, types)
	p := &ptx{kind: kindWithdrawal, ins: ins}
	var paid int64
	frac := 0.05 + 0.25*g.rng.Float64() // of the hot output paid out in this batch
	for _, a := range addrs {
		amt := max(minPoolValue, int64(float64(avail)*frac/float64(k)*(0.1+1.8*g.rng.Float64())))
		p.outs = append(p.outs, out(amt, a, destPool, nil))
		paid += amt
	}
	if avail-paid < 0 {
		ex.hotUTXOs = append(ex.hotUTXOs, u)
		return false
	}
	p.outs = append(p.outs, out(avail-paid, hot, destHot, ex))
	g.add(p)
	return true
}

// buildCoinJoin pays each input's owner one equal output of denom (first),
// then its change (in input order), both into the owner's wallet; each
// pays a share of the fee. owner[j] is the input whose owner receives
// output j.
func (g *generator) buildCoinJoin(kind txKind, ins []*utxo, denom int64, d func(i int) dest) (p *ptx, owner []int) {
	rate := g.feeRate()
	p = &ptx{kind: kind, ins: ins}
	var changes []pout
	var changeOwner []int
	for i, u := range ins {
		t := P2WPKH
		if g.rng.IntN(3) == 0 {
			t = P2TR
		}
		p.outs = append(p.outs, out(denom, g.newAddr(u.addr.w, t), d(i), nil))
		owner = append(owner, i)
		share := rate * int64((inputWeight[u.addr.typ]+2*outputWeight[t]+3)/4+2)
		if c := u.value - denom - share; c >= minPoolValue {
			changes = append(changes, out(c, g.newAddr(u.addr.w, t), d(i), nil))
			changeOwner = append(changeOwner, i)
		}
	}
	p.outs = append(p.outs, changes...)
	return p, append(owner, changeOwner...)
}

// peelChain repeatedly pays a small part of one output away and keeps the
// rest in a new change output of the same wallet, one hop per block.
type peelChain struct {
	cur  *utxo
	hops int
}

func (g *generator) startPeel() bool {
	if len(g.peels) >= 4 {
		return false
	}
	u := g.take(coin / 2)
	if u == nil {
		return false
	}
	g.peels = append(g.peels, &peelChain{hops: 10 + g.rng.IntN(60)})
	pc := g.peels[len(g.peels)-1]
	to := g.newAddr(u.addr.w, P2WPKH)
	fee := feeFor(g.feeRate(), []*utxo{u}, []ScriptType{P2WPKH})
	p := &ptx{kind: kindPeel, ins: []*utxo{u}}
	o := out(u.value-fee, to, destHeld, nil)
	p.outs = append(p.outs, o)
	pc.cur = o.u
	g.add(p)
	return true
}

func (g *generator) peelStep(pc *peelChain) {
	u := pc.cur
	if u.height == 0 || u.height >= g.height {
		return // not confirmed yet
	}
	ins := []*utxo{u}
	pc.hops--
	to := g.payee()
	var ex *exchange
	d := destPool
	if g.rng.IntN(4) == 0 {
		ex = g.exchanges[g.rng.IntN(len(g.exchanges))]
		to, _ = g.depositAddr(ex, -1)
		d = destDeposit
	}
	change := g.newAddr(u.addr.w, u.addr.typ)
	avail := u.value - feeFor(g.feeRate(), ins, []ScriptType{to.typ, change.typ})
	amt := max(minPoolValue, int64(float64(avail)*(0.005+0.05*g.rng.Float64())))
	if avail-amt < 10*minPoolValue || pc.hops <= 0 {
		// End of the chain: the rest goes back into circulation.
		p := &ptx{kind: kindPeel, ins: ins}
		p.outs = append(p.outs, out(u.value-feeFor(1, ins, []ScriptType{change.typ}), change, destPool, nil))
		g.add(p)
		pc.cur = nil
		return
	}
	p := &ptx{kind: kindPeel, ins: ins}
	next := out(avail-amt, change, destHeld, nil)
	p.outs = append(p.outs, out(amt, to, d, ex), next)
	pc.cur = next.u
	g.add(p)
}
