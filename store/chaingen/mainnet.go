package chaingen

import (
	"math"
	"math/rand/v2"
)

// Shapes accepted in Config.Shape.
const (
	ShapeStandard = "standard"
	ShapeMainnet  = "mainnet"
)

// Shapes lists the known chain shapes; the default is the first.
var Shapes = []string{ShapeStandard, ShapeMainnet}

// The mainnet shape's parameters; doc.go ("Mainnet shape") gives their
// sources.
const (
	// UTXOsPerTx is the unspent outputs per transaction the mainnet shape
	// keeps: 174,434,793 unspent outputs at height 894,719 over about 1.15
	// billion transactions is 0.15; the 180 M at 1.1 B is 0.164.
	UTXOsPerTx     = 0.16
	blocksPerDay   = 144
	blocksPerMonth = 30 * blocksPerDay
	warmShare      = 150 // per mille of spends aged 1 day to 1 month
	oldShare       = 50  // per mille of spends older than a month
	// holdBelow: outputs held for good (the unspent set) are worth less
	// than this, as most of mainnet's unspent outputs by count are small;
	// holding large ones would drain the economy's value.
	holdBelow = 2_000_000
	// payeeReuse is the per mille of payments to an address paid before
	// (the standard shape: 200).
	payeeReuse = 700
)

// mainnet is the mainnet shape's state: a calendar of coins due to be
// spent at a later height, and the count of outputs that will stay
// unspent.
type mainnet struct {
	rng     *rand.Rand
	due     map[int32][]*utxo
	pending int // coins in the calendar
}

func newMainnet(seed uint64) *mainnet {
	return &mainnet{rng: rand.New(rand.NewPCG(seed, 0x4d41494e4e4554)), due: map[int32][]*utxo{}}
}

// schedule decides the fate of a new pool coin u created at height h: held
// for good while the chain's unspent set (every unspent output so far,
// coins waiting in the pool and the calendar included) is below UTXOsPerTx
// per transaction (small coins only); otherwise spent at an age drawn from
// the model: 80% join the pool now (spent within about a day), 15% come due
// 1 day to 1 month later and 5% more than a month later, both log-uniform
// in blocks (a power law). A coin due past the planned tip stays unspent
// when the set has room, and otherwise is redrawn as due before the tip.
func (g *generator) schedule(u *utxo, h int32) {
	m := g.main
	target := int64(UTXOsPerTx * float64(g.doneTxs))
	room := g.sum.Outputs-g.sum.Inputs-g.mix[OpReturn] < target
	if room && u.value < holdBelow {
		return // held for good: never in the pool
	}
	r := m.rng.IntN(1000)
	var age int32
	switch {
	case r < oldShare:
		age = logUniform(m.rng, blocksPerMonth, 15*365*blocksPerDay)
	case r < oldShare+warmShare:
		age = logUniform(m.rng, blocksPerDay, blocksPerMonth)
	default:
		g.addPool(u)
		return
	}
	due := h + age
	if due > g.planned {
		if room {
			return
		}
		// No room in the unspent set: spent before the tip instead, at
		// a log-uniform age of what is left.
		if g.planned-h < 2 {
			g.addPool(u)
			return
		}
		due = h + logUniform(m.rng, 1, g.planned-h)
	}
	m.due[due] = append(m.due[due], u)
	m.pending++
}

// releaseDue moves the coins due at height h into the pool.
func (g *generator) releaseDue(h int32) {
	m := g.main
	for _, u := range m.due[h] {
		g.addPool(u)
	}
	m.pending -= len(m.due[h])
	delete(m.due, h)
}

// logUniform draws an integer in [lo, hi) whose logarithm is uniform.
func logUniform(r *rand.Rand, lo, hi int32) int32 {
	if hi <= lo+1 {
		return lo
	}
	v := math.Exp(math.Log(float64(lo)) + r.Float64()*(math.Log(float64(hi))-math.Log(float64(lo))))
	return min(max(int32(v), lo), hi-1)
}

// ageClass is the bucket of a spend's age in blocks: under a day, a day to
// a month, older.
func ageClass(age int32) int {
	switch {
	case age < blocksPerDay:
		return 0
	case age < blocksPerMonth:
		return 1
	default:
		return 2
	}
}
