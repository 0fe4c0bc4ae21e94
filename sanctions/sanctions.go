package sanctions

import (
	"cmp"
	"slices"
	"strings"
	"time"
)

// Asset codes as OFAC spells them in "Digital Currency Address - XXX".
const (
	AssetXBT = "XBT" // Bitcoin
	AssetBCH = "BCH"
	AssetETH = "ETH"
)

// Entity types as published in the SDN list.
const (
	EntityTypeEntity     = "Entity"
	EntityTypeIndividual = "Individual"
	EntityTypeVessel     = "Vessel"
	EntityTypeAircraft   = "Aircraft"
)

// List formats.
const (
	FormatSDNAdvanced = "sdn_advanced" // sdn_advanced.xml, ADVANCED_XML schema
	FormatSDNXML      = "sdn_xml"      // legacy SDN.XML (sdnList/sdnEntry)
	FormatSDNCSV      = "sdn_csv"      // legacy sdn.csv (+ sdn_comments.csv, alt.csv)
)

// Entry is one sanctioned digital-currency address on one profile. The same
// address may appear on several profiles and then yields several entries.
type Entry struct {
	Asset       string    // currency code as published, upper case: "XBT", "ETH", "USDT"
	Address     string    // address as published, trimmed
	ProfileID   int64     // SDN profile id (sdn_advanced) or ent_num / uid (legacy formats)
	PrimaryName string    // primary name of the sanctioned party
	Aliases     []string  // other names, in document order
	EntityType  string    // one of the EntityType* constants, "" when unknown
	Programs    []string  // sanctions programs, sorted: "CYBER2", "TCO"
	Designated  time.Time // date the profile was added to the list (UTC midnight); zero when unknown
	FeatureID   int64     // sdn_advanced Feature ID; 0 when the format has none
}

// Key identifies an entry for Diff and de-duplication.
type Key struct {
	Asset     string
	Address   string
	ProfileID int64
}

// Key returns the (asset, address, profile) key of e.
func (e Entry) Key() Key { return Key{Asset: e.Asset, Address: e.Address, ProfileID: e.ProfileID} }

// List is one edition of a sanctions list.
type List struct {
	Source      string    // file name or URL the list was read from
	Format      string    // one of the Format* constants
	DateOfIssue time.Time // publication date (UTC midnight); zero when the file has none
	Entries     []Entry   // sorted by asset, address, profile, feature (see Sort)
	Warnings    []string  // problems that did not stop parsing (invalid addresses, cut remarks)
}

// compareEntries orders entries by asset, address, profile id and feature id.
func compareEntries(a, b Entry) int {
	return cmp.Or(
		cmp.Compare(a.Asset, b.Asset),
		cmp.Compare(a.Address, b.Address),
		cmp.Compare(a.ProfileID, b.ProfileID),
		cmp.Compare(a.FeatureID, b.FeatureID),
	)
}

// Sort puts l.Entries in the canonical order. Parsers call it before
// returning; callers that build a List by hand should call it too.
func (l *List) Sort() {
	if l == nil {
		return
	}
	slices.SortStableFunc(l.Entries, compareEntries)
}

// Assets returns the distinct asset codes in the list, sorted.
func (l *List) Assets() []string {
	if l == nil {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	for _, e := range l.Entries {
		if !seen[e.Asset] {
			seen[e.Asset] = true
			out = append(out, e.Asset)
		}
	}
	slices.Sort(out)
	return out
}

// Addresses returns the distinct addresses of one asset (case-insensitive
// asset match; "" means every asset), sorted.
func (l *List) Addresses(asset string) []string {
	if l == nil {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	for _, e := range l.Entries {
		if asset != "" && !strings.EqualFold(e.Asset, asset) {
			continue
		}
		if !seen[e.Address] {
			seen[e.Address] = true
			out = append(out, e.Address)
		}
	}
	slices.Sort(out)
	return out
}

// ByAddress indexes the entries by address. An address listed on several
// profiles or for several assets maps to all of its entries, in list order.
func (l *List) ByAddress() map[string][]Entry {
	if l == nil {
		return nil
	}
	m := make(map[string][]Entry, len(l.Entries))
	for _, e := range l.Entries {
		m[e.Address] = append(m[e.Address], e)
	}
	return m
}

// Filter returns the entries that match f, in list order.
func (l *List) Filter(f Filter) []Entry {
	if l == nil {
		return nil
	}
	var out []Entry
	for _, e := range l.Entries {
		if f.Match(e) {
			out = append(out, e)
		}
	}
	return out
}

// Diff compares two editions of a list by (asset, address, profile). Added
// holds the entries of newer whose key is not in older, removed those of
// older whose key is not in newer; both are in canonical order with one
// entry per key. A nil list counts as empty.
func Diff(older, newer *List) (added, removed []Entry) {
	keys := func(l *List) map[Key]bool {
		m := map[Key]bool{}
		if l != nil {
			for _, e := range l.Entries {
				m[e.Key()] = true
			}
		}
		return m
	}
	oldKeys, newKeys := keys(older), keys(newer)
	pick := func(l *List, other map[Key]bool) []Entry {
		if l == nil {
			return nil
		}
		var out []Entry
		seen := map[Key]bool{}
		for _, e := range l.Entries {
			k := e.Key()
			if other[k] || seen[k] {
				continue
			}
			seen[k] = true
			out = append(out, e)
		}
		slices.SortStableFunc(out, compareEntries)
		return out
	}
	return pick(newer, oldKeys), pick(older, newKeys)
}

// DiffMatching is Diff keeping only the entries f matches (the zero Filter
// keeps all).
func DiffMatching(older, newer *List, f Filter) (added, removed []Entry) {
	added, removed = Diff(older, newer)
	if f == (Filter{}) {
		return added, removed
	}
	drop := func(e Entry) bool { return !f.Match(e) }
	return slices.DeleteFunc(added, drop), slices.DeleteFunc(removed, drop)
}

// Seed is an address a trace starts from.
type Seed struct {
	Address    string
	Label      string
	Source     string
	Confidence float64 // 0..1; 0 when not given
}

// Tag is an attribution label for one address.
type Tag struct {
	Address          string
	Currency         string // upper case, e.g. "BTC"
	Label            string
	Category         string    // lower case concept id: exchange, mixing_service, ...
	Actor            string    // ActorPack id, e.g. "binance"
	Abuse            string    // lower case concept id: ransomware, scam, service_hack, sanction, ...
	Confidence       string    // confidence taxonomy id: service_data, web_crawl, forensic, ...
	IsClusterDefiner bool      // the tag may label the address's whole cluster
	Source           string    // URL or text the tag was taken from
	LastMod          time.Time // zero when unknown
	Pack             string    // file name of the pack the tag came from
	// ActorCategories are the categories of the tag's actor in the stored
	// ActorPacks (filled in when tags are read; not stored with the tag).
	ActorCategories []string `json:",omitempty"`
}

// HasCategory reports whether the tag carries category c (lower case): as
// its category, its abuse kind, or one of its actor's categories.
func (t Tag) HasCategory(c string) bool {
	return c != "" && (t.Category == c || t.Abuse == c || slices.Contains(t.ActorCategories, c))
}

// CategoryExchange is the category that ends a trace by default.
const CategoryExchange = "exchange"

// LabelCategory is the one category a walk labels the tag's address with:
// exchange when the tag or its actor is an exchange (a mining pool or
// "service" tag of an exchange's actor counts as the exchange), else its
// category, else its abuse kind, else its actor's first category.
func (t Tag) LabelCategory() string {
	switch {
	case t.HasCategory(CategoryExchange):
		return CategoryExchange
	case t.Category != "":
		return t.Category
	case t.Abuse != "":
		return t.Abuse
	case len(t.ActorCategories) > 0:
		return t.ActorCategories[0]
	}
	return ""
}
