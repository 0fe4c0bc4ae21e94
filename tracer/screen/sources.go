package screen

import (
	"cmp"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/btcsuite/btcd/chaincfg"

	"github.com/tracer-oss/tracer/sanctions"
	"github.com/tracer-oss/tracer/sanctions/address"
	"github.com/tracer-oss/tracer/sanctions/tags"
	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/tracer"
	"github.com/tracer-oss/tracer/tracer/cluster"
)

// CategorySanctioned is the category of sanctioned sources.
const CategorySanctioned = "sanctioned"

// riskAbuses and riskCategories map a tag's abuse kind or category to the
// risk category it is screened under; other tags (exchanges, services) are
// barriers only.
var (
	riskAbuses = map[string]string{
		tags.AbuseRansomware: "ransomware", tags.AbuseScam: "scam", tags.AbuseServiceHack: "hack", "hack": "hack",
		"theft": "hack", "darknet_market": "market", "terrorism": "terrorism", "child_sexual_abuse": "csam",
		"sextortion": "scam", "extortion": "ransomware", "phishing": "scam", "ponzi_scheme": "scam",
		"investment_fraud": "scam", "malware": "ransomware", tags.AbuseMixing: "mixing_service",
	}
	riskCategories = map[string]string{
		tags.CategoryMixingService: "mixing_service", tags.CategoryMarket: "market", "darknet_crawled": "market",
	}
)

// RiskCategory returns the risk category a tag is screened under, or "":
// by its abuse kind, its category, then its actor's categories.
func RiskCategory(t sanctions.Tag) string {
	if r := riskAbuses[tags.NormalizeCategory(t.Abuse)]; r != "" {
		return r
	}
	if r := riskCategories[tags.NormalizeCategory(t.Category)]; r != "" {
		return r
	}
	for _, c := range t.ActorCategories {
		if r := cmp.Or(riskAbuses[c], riskCategories[c]); r != "" {
			return r
		}
	}
	return ""
}

// Designation is a sanctions list entry of an address.
type Designation struct {
	List       string    `json:"list"` // e.g. "OFAC SDN 2025-11-19 (version 3)"
	Entity     string    `json:"entity"`
	ProfileID  int64     `json:"profile_id"`
	EntityType string    `json:"entity_type,omitempty"`
	Programs   []string  `json:"programs,omitempty"`
	Designated time.Time `json:"designated,omitempty"`
	Asset      string    `json:"asset"`
}

// Sources are the labelled addresses of one network: sanctioned (from the
// list in force) and tagged (from the tag packs in force).
type Sources struct {
	Params      *chaincfg.Params
	ListVersion uint32 // 0: no list loaded
	ListName    string
	TagGens     map[string]uint32
	// Labels labels every source and barrier for the walks: sanctioned
	// addresses with CategorySanctioned, risky tags with their risk
	// category, other tags with theirs.
	Labels tracer.MapLabeler
	// Groups are the seeds of the forward walks: one per sanctioned entity,
	// one per risk category.
	Groups []Group
}

// Group is the seed set of one forward walk.
type Group struct {
	Category string // CategorySanctioned or a risk category
	Entity   string // the sanctioned entity, or the tag's actor or label
	Seeds    []tracer.Seed
}

// Store is what screening reads. *store.Store implements it.
type Store interface {
	tracer.Graph
	State() store.State
	Lists() store.Lists
	Tags() store.Tags
	Exposure() store.Exposure
}

// ListName names a stored list version for reports.
func ListName(v store.ListVersion) string {
	return fmt.Sprintf("OFAC SDN %s (%s, version %d)", v.DateOfIssue.Format("2006-01-02"), v.Format, v.Version)
}

// LoadSources reads the sanctions list in force and every tag in force.
// Addresses of other networks are ignored.
func LoadSources(st Store, params *chaincfg.Params) (*Sources, error) {
	s := &Sources{Params: params, TagGens: map[string]uint32{}, Labels: tracer.MapLabeler{}}
	if err := s.loadTagGens(st); err != nil {
		return nil, err
	}
	risky := map[string]map[string][]tracer.Seed{} // category → entity → seeds
	err := st.Tags().Each(func(t sanctions.Tag) error {
		s.addTag(t, risky)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := s.loadList(st); err != nil {
		return nil, err
	}
	s.addRiskyGroups(risky)
	return s, nil
}

// loadTagGens notes the generation of every tag pack and actor pack in
// force (an actor pack changes tags' categories).
func (s *Sources) loadTagGens(st Store) error {
	packs, err := st.Tags().Packs()
	if err != nil {
		return err
	}
	for _, p := range packs {
		s.TagGens[p.Name] = p.Gen
	}
	aps, err := st.Tags().ActorPacks()
	if err != nil {
		return err
	}
	for _, p := range aps {
		s.TagGens["actors:"+p.Name] = p.Gen
	}
	return nil
}

// addTag labels t's address (the first tag of an address wins, a risky
// one over any) and, for a risky category, adds it to its entity's seeds.
func (s *Sources) addTag(t sanctions.Tag, risky map[string]map[string][]tracer.Seed) {
	a, err := address.Parse(t.Address, s.Params)
	if err != nil {
		return // another network's address
	}
	entity := t.Actor
	if entity == "" {
		entity = t.Label
	}
	cat := RiskCategory(t)
	old, labelled := s.Labels.Label(a)
	switch {
	case cat == "":
		lc := t.LabelCategory() // exchange too when only the tag's actor is one
		if labelled && (old.Category != "" || lc == "") {
			return
		}
		if cat = tags.NormalizeCategory(lc); cat == "" {
			cat = "tagged"
		}
	case labelled && riskyCategory(old.Category):
		return
	default:
		if risky[cat] == nil {
			risky[cat] = map[string][]tracer.Seed{}
		}
		risky[cat][entity] = append(risky[cat][entity], tracer.Seed{Addr: a, Label: entity, Source: t.Pack})
	}
	s.Labels[key(a)] = tracer.Label{Entity: entity, Category: cat, Source: t.Pack, Via: "tag"}
}

// loadList labels the addresses of the sanctions list in force (a list
// label overrides a tag's) and makes a source group per entity.
func (s *Sources) loadList(st Store) error {
	v, err := st.Lists().Version(0)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	s.ListVersion, s.ListName = v.Version, ListName(v)
	list, err := st.Lists().List(v.Version)
	if err != nil {
		return err
	}
	byEntity := map[string][]tracer.Seed{}
	for _, e := range list.Entries {
		if e.Asset != sanctions.AssetXBT {
			continue
		}
		a, err := address.Parse(e.Address, s.Params)
		if err != nil {
			continue // another network's address, or a typo in the list
		}
		s.Labels[key(a)] = tracer.Label{Entity: e.PrimaryName, Category: CategorySanctioned, Source: s.ListName, Via: "list"}
		byEntity[e.PrimaryName] = append(byEntity[e.PrimaryName], tracer.Seed{Addr: a, Label: e.PrimaryName, Source: s.ListName})
	}
	for _, name := range sortedKeys(byEntity) {
		s.Groups = append(s.Groups, Group{Category: CategorySanctioned, Entity: name, Seeds: dedupe(byEntity[name])})
	}
	return nil
}

// addRiskyGroups makes a source group per risky entity, of the seeds whose
// label it still holds (not overridden by the list or an earlier tag).
func (s *Sources) addRiskyGroups(risky map[string]map[string][]tracer.Seed) {
	for _, cat := range sortedKeys(risky) {
		for _, entity := range sortedKeys(risky[cat]) {
			var seeds []tracer.Seed
			for _, sd := range risky[cat][entity] {
				if l, _ := s.Labels.Label(sd.Addr); l.Category == cat && l.Entity == entity {
					seeds = append(seeds, sd)
				}
			}
			if len(seeds) > 0 {
				s.Groups = append(s.Groups, Group{Category: cat, Entity: entity, Seeds: dedupe(seeds)})
			}
		}
	}
}

// IsSource reports whether a is a source itself (listed or risky-tagged).
func (s *Sources) IsSource(a address.Addr) bool {
	l, ok := s.Labels.Label(a)
	return ok && (l.Category == CategorySanctioned || riskyCategory(l.Category))
}

// Barriers are the categories that end a forward branch: every labelled
// one, of a tag, the list or a cluster label.
func (s *Sources) barriers(clusters *cluster.Labeler) []string {
	seen := map[string]bool{CategorySanctioned: true}
	for _, l := range s.Labels {
		seen[l.Category] = true
	}
	if clusters != nil {
		for _, e := range clusters.Entities() {
			for _, l := range e.Labels {
				seen[l.Category] = true
			}
		}
	}
	return sortedKeys(seen)
}

func riskyCategory(c string) bool {
	for _, r := range riskAbuses {
		if r == c {
			return true
		}
	}
	for _, r := range riskCategories {
		if r == c {
			return true
		}
	}
	return false
}

// key is the labeler key of an address: P2PK outputs are found under P2PKH.
func key(a address.Addr) address.Addr {
	if a.Kind == address.P2PK {
		a.Kind = address.P2PKH
	}
	return a
}

func dedupe(seeds []tracer.Seed) []tracer.Seed {
	seen := map[address.Addr]bool{}
	out := seeds[:0]
	for _, s := range seeds {
		if !seen[key(s.Addr)] {
			seen[key(s.Addr)] = true
			out = append(out, s)
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
