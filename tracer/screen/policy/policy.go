package policy

import (
	"fmt"
	"slices"
	"strings"
)

// Level is a risk level; a higher level is more severe.
type Level int

// Levels, from the lowest.
const (
	None Level = iota
	Low
	Medium
	High
	Severe
)

var levelNames = []string{"none", "low", "medium", "high", "severe"}

func (l Level) String() string {
	if l < None || l > Severe {
		return fmt.Sprintf("level(%d)", int(l))
	}
	return levelNames[l]
}

// ParseLevel reads a level name (case-insensitive).
func ParseLevel(s string) (Level, error) {
	i := slices.Index(levelNames, strings.ToLower(strings.TrimSpace(s)))
	if i < 0 {
		return None, fmt.Errorf("%w: level %q (want severe, high, medium, low or none)", ErrBadValue, s)
	}
	return Level(i), nil
}

// Exposure kinds a rule can be about.
const (
	Direct   = "direct"   // the address itself is listed or tagged
	Indirect = "indirect" // funds it received (or sent) trace to a source
	Any      = "any"
)

// Directions of indirect exposure.
const (
	Received = "received"
	Sent     = "sent"
)

// CategorySanctioned is the category of sanctions-list sources.
const CategorySanctioned = "sanctioned"

// Rule is one rule of a policy.
type Rule struct {
	Name       string
	Level      Level
	Categories []string // normalized; "any" matches every category
	Exposure   string   // Direct, Indirect or Any
	Direction  string   // Received, Sent or Any (indirect only)
	MinAmount  int64    // satoshi; 0: any amount above zero
	MinShare   float64  // 0..1
	MinHops    int      // 0: no lower bound
	MaxHops    int      // 0: no upper bound
	Line       int      // where the rule starts in its file
}

// Policy is an ordered list of rules.
type Policy struct {
	Name     string
	Source   string // file name, or "built-in"
	Rules    []Rule
	Warnings []string // rules that can never fire on today's screens, etc.
}

// Facts are what a policy looks at: the address's own categories and its
// indirect exposures.
type Facts struct {
	// Direct holds the categories the address itself carries: sanctioned
	// when it is on the list, and each tag's category, abuse kind, risk
	// category and actor categories.
	Direct    []string
	Exposures []Exposure
}

// Exposure is the indirect exposure to one category.
type Exposure struct {
	Category  string
	Direction string  // Received or Sent
	Amount    int64   // satoshi
	Share     float64 // of everything received (or sent)
	Hops      int     // of the nearest source
}

// Decision is a policy's verdict on one address.
type Decision struct {
	Level   Level
	Rule    string   // the rule that decided; "" when none matched
	Reason  string   // what matched, e.g. "sanctioned exposure 2.50% (0.01 BTC) at 2 hops"
	Matched []string // every matching rule, in file order
}

// Evaluate applies p to f: the highest level among matching rules wins,
// the first such rule in file order is named.
func (p *Policy) Evaluate(f Facts) Decision {
	var d Decision
	best := -1
	for i := range p.Rules {
		r := &p.Rules[i]
		reason, ok := r.match(f)
		if !ok {
			continue
		}
		d.Matched = append(d.Matched, r.Name)
		if best < 0 || r.Level > p.Rules[best].Level {
			best = i
			d.Reason = reason
		}
	}
	if best >= 0 {
		d.Level, d.Rule = p.Rules[best].Level, p.Rules[best].Name
	}
	return d
}

func (r *Rule) wants(cat string) bool {
	cat = normalize(cat)
	for _, c := range r.Categories {
		if c == Any || c == cat {
			return true
		}
	}
	return false
}

// indirectOnly reports whether the rule sets a condition only indirect
// exposure has.
func (r *Rule) indirectOnly() bool {
	return r.MinAmount > 0 || r.MinShare > 0 || r.MinHops > 0 || r.MaxHops > 0 || r.Direction != Any
}

func (r *Rule) match(f Facts) (string, bool) {
	if r.Exposure != Indirect && !r.indirectOnly() {
		for _, c := range f.Direct {
			if r.wants(c) {
				return fmt.Sprintf("the address itself is %s", normalize(c)), true
			}
		}
	}
	if r.Exposure == Direct {
		return "", false
	}
	for _, e := range f.Exposures {
		if !r.wants(e.Category) || e.Amount <= 0 {
			continue
		}
		if r.Direction != Any && e.Direction != r.Direction {
			continue
		}
		if e.Amount < r.MinAmount || e.Share < r.MinShare {
			continue
		}
		if r.MaxHops > 0 && e.Hops > r.MaxHops || e.Hops < r.MinHops {
			continue
		}
		return fmt.Sprintf("%s %s exposure %.2f%% (%d sat), nearest source at %d hops", normalize(e.Category), e.Direction, 100*e.Share, e.Amount, e.Hops), true
	}
	return "", false
}

// aliases map names users write to the category the screen reports.
var aliases = map[string]string{
	"darknet_market": "market", "darknet market": "market", "mixer": "mixing_service", "mixing": "mixing_service",
	"sanction": CategorySanctioned, "sanctions": CategorySanctioned, "ofac": CategorySanctioned,
}

func normalize(c string) string {
	c = strings.ToLower(strings.TrimSpace(c))
	if a, ok := aliases[c]; ok {
		return a
	}
	return c
}
