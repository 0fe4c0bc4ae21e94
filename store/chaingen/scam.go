package chaingen

import (
	"math/rand/v2"
	"strconv"
)

// scamBlocks is how many blocks the scam-centre scenario spans at most.
const scamBlocks = 34

type entity struct {
	name       string
	individual bool
	first      string
	last       string
	program    string
	seeds      []*address
}

type depositInfo struct {
	u        *utxo
	p        *ptx
	ex       *exchange
	tagged   bool
	clean    bool // made by a clean user
	customer *address
}

type cleanInfo struct {
	u    *utxo
	p    *ptx
	kind string
}

type scamPeel struct {
	cur  *utxo
	hops int
}

// scamCentre plays the scam-centre scenario: victims pay the sanctioned
// seeds, the operators consolidate, split, peel, mix and cash out at
// exchanges. Every transaction it makes is recorded for the ground truth.
type scamCentre struct {
	g        *generator
	rng      *rand.Rand
	start    int32
	entities []*entity
	seeds    []*address
	seedOf   map[*address]int
	ops      *wallet // the operators' working wallet
	mules    int     // mule owners so far

	// Tainted coins back in the economy: an OTC desk buys mules' coins and
	// pays merchants with them, and its customers from clean inventory;
	// they pay others in turn. flows lists every output of those steps.
	desk      *wallet
	deskInv   *utxo   // the desk's clean inventory
	deskCoins []*utxo // tainted coins the desk bought
	spend     []*utxo // merchants' and customers' receipts, to be spent onwards
	flows     []*cleanInfo
	sold      int // mule coins forwarded so far

	txs      []*ptx
	funding  []*utxo
	fundSeed []int
	deposits []*depositInfo
	clean    []*cleanInfo
	accounts map[*exchange][2]*address

	otc        *utxo
	k1, k2     *utxo
	p1, p2, p3 *utxo
	x1, y1, z  *utxo
	directDep  *utxo
	o2         *utxo
	cjScam     *utxo
	cjClean    []*utxo
	peels      []*scamPeel
	muleCoins  []*utxo
	cleanDeps  []*cleanInfo
}

func newScamCentre(g *generator, start int32) *scamCentre {
	s := &scamCentre{g: g, rng: rand.New(rand.NewPCG(g.seed, 0x5343414d)), start: start,
		seedOf: map[*address]int{}, accounts: map[*exchange][2]*address{}}
	org := &entity{name: "GOLDEN LOTUS HOLDINGS LTD.", program: "CYBER2"}
	person := &entity{name: "ORLAND, Teodor", individual: true, first: "Teodor", last: "ORLAND", program: "TCO"}
	// One operation: the company and the individual run it together, so
	// their seeds are one owner's wallets.
	o := g.newOwner(KindScam, "scam-centre")
	s.ops = &wallet{name: "scam-centre/ops", owner: o, prof: &profiles[0].p, typ: P2WPKH, chTyp: P2WPKH}
	orgW := &wallet{name: "scam-centre/golden-lotus", owner: o, prof: &profiles[0].p, typ: P2WPKH, chTyp: P2WPKH}
	personW := &wallet{name: "scam-centre/orland", owner: o, prof: &profiles[0].p, typ: P2WPKH, chTyp: P2WPKH}
	for i, t := range []ScriptType{P2WPKH, P2TR, P2PKH, P2SHP2WPKH, P2WPKH} {
		w := orgW
		if i == 4 {
			w = personW
		}
		a := g.newAddr(w, t)
		s.seeds = append(s.seeds, a)
		s.seedOf[a] = i
		if i < 4 {
			org.seeds = append(org.seeds, a)
		} else {
			person.seeds = append(person.seeds, a)
		}
	}
	s.entities = []*entity{org, person}
	return s
}

func (s *scamCentre) done(h int32) bool {
	return h > s.start+scamBlocks || (h > s.start+12 && len(s.peels) == 0 && len(s.muleCoins) == 0 &&
		len(s.deskCoins) == 0 && len(s.spend) == 0)
}

// record adds a scenario transaction to the block and the truth.
func (s *scamCentre) record(p *ptx) *ptx {
	p.kind = kindScam
	for _, u := range p.ins {
		if u.tracked {
			u.spentBy = p
		}
	}
	for i := range p.outs {
		if o := &p.outs[i]; o.u != nil {
			o.u.tracked = true
		}
	}
	s.txs = append(s.txs, p)
	s.g.add(p)
	return p
}

func ready(u *utxo, h int32) bool { return u != nil && u.height > 0 && u.height < h }

// account returns the scam's deposit address at ex, tagged or not.
func (s *scamCentre) account(ex *exchange, tagged bool) *address {
	i := 0
	if tagged {
		i = 1
	}
	acc := s.accounts[ex]
	if acc[i] == nil || s.rng.IntN(2) == 0 {
		a := s.g.newAddr(ex.depW, P2WPKH)
		ex.special = append(ex.special, a)
		ex.specialTagged = append(ex.specialTagged, tagged)
		acc[i] = a
		s.accounts[ex] = acc
	}
	return acc[i]
}

// depositOut pays value into a deposit address and remembers it.
func (s *scamCentre) depositOut(value int64, ex *exchange, tagged, clean bool) (pout, *depositInfo) {
	var a *address
	if clean {
		a = s.g.newAddr(ex.depW, P2WPKH)
		ex.special = append(ex.special, a)
		ex.specialTagged = append(ex.specialTagged, tagged)
	} else {
		a = s.account(ex, tagged)
	}
	o := out(value, a, destDeposit, ex)
	o.u.watched = true
	d := &depositInfo{u: o.u, ex: ex, tagged: tagged, clean: clean, customer: a}
	o.u.deposit = d
	s.deposits = append(s.deposits, d)
	return o, d
}

func (s *scamCentre) ex(i int) *exchange { return s.g.exchanges[i%len(s.g.exchanges)] }

// sweepAll spends every input into one output (a 1-in-1-out or n-in-1-out hop).
func (s *scamCentre) sweepTo(ins []*utxo, mk func(v int64) pout) {
	types := []ScriptType{P2WPKH}
	v := sum(ins) - feeFor(s.g.feeRate(), ins, types)
	p := &ptx{ins: ins}
	o := mk(v)
	p.outs = append(p.outs, o)
	s.record(p)
	if o.u != nil && o.u.deposit != nil {
		o.u.deposit.p = p
	}
}

// plan makes the scenario's transactions of height h, by round r =
// h - start: victims pay the seeds (rounds 0-5), the funds are
// consolidated (7), split (8), partly deposited and mixed (9), swept and
// set peeling (10), and clean coins deposited (11); peel chains step on
// from round 11.
func (s *scamCentre) plan(h int32) {
	r := h - s.start
	if r < 0 {
		return
	}
	rate := s.g.feeRate()
	switch {
	case r <= 5:
		for i := 0; i < 4; i++ {
			s.victim(h, rate)
		}
		if r == 3 {
			s.otcPayment(rate)
		}
		if r == 4 {
			s.deskStock(rate)
		}
	case r == 7:
		s.consolidate()
	case r == 8:
		s.splitK1(rate)
		s.splitK2(rate)
	case r == 9:
		s.depositWithOTC(h, rate)
		if ready(s.x1, h) {
			s.mix(h)
		}
	case r == 10:
		s.sweepAndPeel(h)
	case r == 11:
		for i, u := range s.cjClean[:min(2, len(s.cjClean))] {
			ex := s.ex(1 + 2*i)
			s.sweepTo([]*utxo{u}, func(v int64) pout { o, _ := s.depositOut(v, ex, i == 1, true); return o })
		}
	}
	if r >= 11 {
		s.stepPeels(h, rate)
	}
}

// consolidate sweeps the victims' payments: seed 4's first payment
// straight to an exchange deposit, seeds 0-2's into k1, the others' into
// k2.
func (s *scamCentre) consolidate() {
	g := s.g
	var g1, g2 []*utxo
	for i, u := range s.funding {
		switch {
		case s.fundSeed[i] == 4 && s.directDep == nil:
			s.directDep = u
		case s.fundSeed[i] <= 2:
			g1 = append(g1, u)
		default:
			g2 = append(g2, u)
		}
	}
	if s.directDep != nil {
		s.sweepTo([]*utxo{s.directDep}, func(v int64) pout { o, _ := s.depositOut(v, s.ex(0), true, false); return o })
	}
	if len(g1) > 0 {
		s.sweepTo(g1, func(v int64) pout { o := out(v, g.newAddr(s.ops, P2WPKH), destHeld, nil); s.k1 = o.u; return o })
	}
	if len(g2) > 0 {
		s.sweepTo(g2, func(v int64) pout { o := out(v, g.newAddr(s.ops, P2TR), destHeld, nil); s.k2 = o.u; return o })
	}
}

// splitK1 splits k1, if any, four ways: two peel-chain starts (p1, p2), x1 for the
// mix and y1 for the OTC deposit.
func (s *scamCentre) splitK1(rate int64) {
	if s.k1 == nil {
		return
	}
	g := s.g
	avail := s.k1.value - feeFor(rate, []*utxo{s.k1}, []ScriptType{P2WPKH, P2WPKH, P2WPKH, P2TR})
	denom := min(int64(10_000_000), avail/10)
	a, b := avail*40/100, avail*25/100
	x := denom + denom/5
	p := &ptx{ins: []*utxo{s.k1}}
	o1, o2 := out(a, g.newAddr(s.ops, P2WPKH), destHeld, nil), out(b, g.newAddr(s.ops, P2WPKH), destHeld, nil)
	o3, o4 := out(x, g.newAddr(s.ops, P2WPKH), destHeld, nil), out(avail-a-b-x, g.newAddr(s.ops, P2TR), destHeld, nil)
	p.outs = append(p.outs, o1, o2, o3, o4)
	s.p1, s.p2, s.x1, s.y1 = o1.u, o2.u, o3.u, o4.u
	s.record(p)
}

// splitK2 splits k2, if any, three ways: a peel-chain start (p3), a deposit and z.
func (s *scamCentre) splitK2(rate int64) {
	if s.k2 == nil {
		return
	}
	g := s.g
	avail := s.k2.value - feeFor(rate, []*utxo{s.k2}, []ScriptType{P2WPKH, P2WPKH, P2WPKH})
	a, b := avail*50/100, avail*20/100
	p := &ptx{ins: []*utxo{s.k2}}
	o1 := out(a, g.newAddr(s.ops, P2PKH), destHeld, nil)
	o2, d := s.depositOut(b, s.ex(1), false, false)
	o3 := out(avail-a-b, g.newAddr(s.ops, P2WPKH), destHeld, nil)
	p.outs = append(p.outs, o1, o2, o3)
	s.p3, s.z = o1.u, o3.u
	d.p = s.record(p)
}

// depositWithOTC spends y1 with the clean OTC payment, once both are
// confirmed at h: part to an exchange deposit, the rest to o2.
func (s *scamCentre) depositWithOTC(h int32, rate int64) {
	if !ready(s.y1, h) || !ready(s.otc, h) {
		return
	}
	g := s.g
	ins := []*utxo{s.y1, s.otc}
	avail := sum(ins) - feeFor(rate, ins, []ScriptType{P2WPKH, P2WPKH})
	a := avail * 45 / 100
	p := &ptx{ins: ins}
	o1, d := s.depositOut(a, s.ex(2), false, false)
	o2 := out(avail-a, g.newAddr(s.ops, P2WPKH), destHeld, nil)
	p.outs = append(p.outs, o1, o2)
	s.o2 = o2.u
	d.p = s.record(p)
}

// sweepAndPeel sweeps o2 and the scam's CoinJoin output to deposits and
// starts the peel chains from p1, p2 and p3.
func (s *scamCentre) sweepAndPeel(h int32) {
	if ready(s.o2, h) {
		s.sweepTo([]*utxo{s.o2}, func(v int64) pout { o, _ := s.depositOut(v, s.ex(3), true, false); return o })
	}
	if ready(s.cjScam, h) {
		s.sweepTo([]*utxo{s.cjScam}, func(v int64) pout { o, _ := s.depositOut(v, s.ex(0), false, false); return o })
	}
	for i, u := range []*utxo{s.p1, s.p2, s.p3} {
		if ready(u, h) {
			s.peels = append(s.peels, &scamPeel{cur: u, hops: []int{16, 12, 8}[i]})
		}
	}
}

// victim: a clean user pays one of the seed addresses; change stays clean.
func (s *scamCentre) victim(h int32, rate int64) {
	g := s.g
	u := g.take(coin / 10)
	if u == nil {
		return
	}
	seed := s.rng.IntN(len(s.seeds))
	ins := []*utxo{u}
	change := g.changeAddr(u, s.seeds[seed].typ)
	avail := u.value - feeFor(rate, ins, []ScriptType{s.seeds[seed].typ, change.typ})
	amt := int64(float64(avail) * (0.3 + 0.6*s.rng.Float64()))
	p := &ptx{ins: ins}
	pay := out(amt, s.seeds[seed], destHeld, nil)
	pay.u.isSeedIn = true
	ch := out(avail-amt, change, destPool, nil)
	if s.rng.IntN(2) == 0 {
		p.outs = append(p.outs, pay, ch)
	} else {
		p.outs = append(p.outs, ch, pay)
	}
	s.record(p)
	ch.u.tracked = false // back in circulation: clean, and spent by everyday traffic
	s.funding = append(s.funding, pay.u)
	s.fundSeed = append(s.fundSeed, seed)
	s.clean = append(s.clean, &cleanInfo{u: ch.u, p: p, kind: "victim-change"})
}

// otcPayment: a clean counterparty pays the operators (clean money that
// later mixes with tainted coins in one transaction).
func (s *scamCentre) otcPayment(rate int64) {
	g := s.g
	u := g.take(coin / 5)
	if u == nil {
		return
	}
	ins := []*utxo{u}
	change := g.changeAddr(u, P2WPKH)
	avail := u.value - feeFor(rate, ins, []ScriptType{P2WPKH, change.typ})
	amt := avail * 40 / 100
	p := &ptx{ins: ins}
	o := out(amt, g.newAddr(s.ops, P2WPKH), destHeld, nil)
	ch := out(avail-amt, change, destPool, nil)
	p.outs = append(p.outs, o, ch)
	s.record(p)
	ch.u.tracked = false
	s.otc = o.u
	s.clean = append(s.clean, &cleanInfo{u: ch.u, p: p, kind: "otc-change"})
}

// mix: a CoinJoin-like transaction with the scam's x1 at input 2 and six
// clean participants; every participant gets one equal output.
func (s *scamCentre) mix(h int32) {
	g := s.g
	denom := s.x1.value * 5 / 6
	var ins []*utxo
	for try := 0; try < 60 && len(ins) < 6; try++ {
		if u := g.take(denom + denom/10 + 20_000); u != nil {
			ins = append(ins, u)
		}
	}
	if len(ins) < 2 {
		g.release(ins)
		return
	}
	pos := min(2, len(ins))
	ins = append(ins[:pos], append([]*utxo{s.x1}, ins[pos:]...)...)
	p, owner := g.buildCoinJoin(kindScam, ins, denom, func(int) dest { return destHeld })
	p.collab = collabJoinMarket // equal outputs and changes, several owners
	// Equal outputs are in input order; changes follow. The operators' own
	// outputs (equal and change) are not clean, whatever a model says.
	s.record(p)
	for j := range p.outs {
		switch {
		case owner[j] == pos && j < len(ins):
			s.cjScam = p.outs[j].u
		case owner[j] == pos:
		case j < len(ins):
			s.cjClean = append(s.cjClean, p.outs[j].u)
			fallthrough
		default:
			s.clean = append(s.clean, &cleanInfo{u: p.outs[j].u, p: p, kind: "coinjoin-participant"})
		}
	}
}

func (s *scamCentre) stepPeels(h int32, rate int64) {
	g := s.g
	s.stepEconomy(h, rate)
	// Mules forward whole amounts into exchange accounts; every third
	// (at most two) sells to the OTC desk instead.
	var keep []*utxo
	for _, m := range s.muleCoins {
		if !ready(m, h) {
			keep = append(keep, m)
			continue
		}
		if s.sold++; s.desk != nil && s.sold%3 == 1 && s.sold < 6 {
			s.sweepTo([]*utxo{m}, func(v int64) pout {
				o := out(v, g.recv(s.desk), destHeld, nil)
				s.deskCoins = append(s.deskCoins, o.u)
				return o
			})
			continue
		}
		ex, tagged := s.ex(s.rng.IntN(4)), s.rng.IntN(2) == 0
		s.sweepTo([]*utxo{m}, func(v int64) pout { o, _ := s.depositOut(v, ex, tagged, false); return o })
	}
	s.muleCoins = keep
	var live []*scamPeel
	for _, pc := range s.peels {
		u := pc.cur
		if !ready(u, h) {
			live = append(live, pc)
			continue
		}
		pc.hops--
		ex := s.ex(s.rng.IntN(4))
		if pc.hops <= 0 {
			tagged := s.rng.IntN(2) == 0
			s.sweepTo([]*utxo{u}, func(v int64) pout { o, _ := s.depositOut(v, ex, tagged, false); return o })
			continue
		}
		ins := []*utxo{u}
		avail := u.value - feeFor(rate, ins, []ScriptType{P2WPKH, P2WPKH})
		amt := int64(float64(avail) * (0.04 + 0.12*s.rng.Float64()))
		p := &ptx{ins: ins}
		var pay pout
		var d *depositInfo
		switch r := s.rng.IntN(10); {
		case r < 3:
			pay, d = s.depositOut(amt, ex, true, false)
		case r < 7:
			pay, d = s.depositOut(amt, ex, false, false)
		default:
			s.mules++
			mule := g.newWallet(g.newOwner(KindMule, "mule-"+strconv.Itoa(s.mules)), "", g.walletType(false))
			pay = out(amt, g.recv(mule), destHeld, nil)
			s.muleCoins = append(s.muleCoins, pay.u)
		}
		next := out(avail-amt, g.newAddr(s.ops, u.addr.typ), destHeld, nil)
		if s.rng.IntN(2) == 0 {
			p.outs = append(p.outs, pay, next)
		} else {
			p.outs = append(p.outs, next, pay)
		}
		s.record(p)
		if d != nil {
			d.p = p
		}
		pc.cur = next.u
		live = append(live, pc)
	}
	s.peels = live
}

// deskStock: a clean user sells coins to the OTC desk, its clean inventory.
func (s *scamCentre) deskStock(rate int64) {
	g := s.g
	u := g.take(coin / 5)
	if u == nil {
		return
	}
	s.desk = g.newWallet(g.newOwner(KindOTC, "otc-desk"), "", P2WPKH)
	ins := []*utxo{u}
	change := g.changeAddr(u, P2WPKH)
	avail := u.value - feeFor(rate, ins, []ScriptType{P2WPKH, change.typ})
	amt := avail * 60 / 100
	p := &ptx{ins: ins}
	o := out(amt, g.recv(s.desk), destHeld, nil)
	ch := out(avail-amt, change, destPool, nil)
	p.outs = append(p.outs, o, ch)
	s.record(p)
	ch.u.tracked = false
	s.deskInv = o.u
	s.clean = append(s.clean, &cleanInfo{u: ch.u, p: p, kind: "otc-seller-change"})
}

// pay records a one-step payment from ins to a new address of to (amt) with
// change to a new address of from; both outputs are flows of kind k.
func (s *scamCentre) pay(ins []*utxo, rate int64, to, from *wallet, frac int64, kind string) (paid, change *utxo) {
	g := s.g
	a, c := g.recv(to), g.newAddr(from, from.chTyp)
	avail := sum(ins) - feeFor(rate, ins, []ScriptType{a.typ, c.typ})
	amt := avail * frac / 100
	p := &ptx{ins: ins}
	po, co := out(amt, a, destHeld, nil), out(avail-amt, c, destHeld, nil)
	p.outs = append(p.outs, po, co)
	if s.rng.IntN(2) == 0 {
		p.outs[0], p.outs[1] = p.outs[1], p.outs[0]
	}
	s.record(p)
	s.flows = append(s.flows, &cleanInfo{u: po.u, p: p, kind: kind}, &cleanInfo{u: co.u, p: p, kind: kind + "-change"})
	return po.u, co.u
}

// stepEconomy: the desk pays a merchant with each tainted coin it bought
// and a customer from its clean inventory; a block later the merchant pays
// a supplier, the tainted coin spent together with a clean coin of its
// own, and the customer pays a friend. Their outputs are held (not spent
// again), so the truth's taint of every one of them is exact.
func (s *scamCentre) stepEconomy(h int32, rate int64) {
	g := s.g
	var keep []*utxo
	for _, u := range s.spend {
		if !ready(u, h) {
			keep = append(keep, u)
			continue
		}
		w := u.addr.w
		ins := []*utxo{u}
		kind := "customer-payee"
		if w.owner.kind == KindMerchant {
			kind = "merchant-supplier"
			if c := g.takeFrom(w, minPoolValue); c != nil {
				ins = append(ins, c)
				if s.rng.IntN(2) == 0 {
					ins[0], ins[1] = ins[1], ins[0]
				}
			}
		}
		s.pay(ins, rate, g.userWallet(), w, int64(40+s.rng.IntN(40)), kind)
	}
	s.spend = keep
	var left []*utxo
	for _, u := range s.deskCoins {
		if !ready(u, h) || !ready(s.deskInv, h) {
			left = append(left, u)
			continue
		}
		var m *wallet
		for m == nil || m.owner.kind != KindMerchant {
			m = g.userWallet()
		}
		paid, _ := s.pay([]*utxo{u}, rate, m, s.desk, 70, "otc-merchant")
		s.spend = append(s.spend, paid)
		var cust *wallet
		for cust == nil || cust.owner.kind != KindUser {
			cust = g.userWallet()
		}
		paid, inv := s.pay([]*utxo{s.deskInv}, rate, cust, s.desk, 30, "otc-customer")
		s.spend = append(s.spend, paid)
		s.deskInv = inv
	}
	s.deskCoins = left
}
