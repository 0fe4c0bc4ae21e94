package ofac

import (
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/tracer-oss/tracer/sanctions"
)

// featurePrefix is the text of the FeatureTypes that carry a currency
// address; the asset code follows it.
var featureTypeRE = regexp.MustCompile(`^\s*Digital\s+Currency\s+Address\s*-\s*([A-Za-z0-9._-]+)\s*$`)

// Reference values used by the parser, decoded from ReferenceValueSets.
type xRef struct {
	ID          int64  `xml:"ID,attr"`
	PartyTypeID int64  `xml:"PartyTypeID,attr"`
	Text        string `xml:",chardata"`
}

type xRefSets struct {
	FeatureTypes    []xRef `xml:"FeatureTypeValues>FeatureType"`
	PartySubTypes   []xRef `xml:"PartySubTypeValues>PartySubType"`
	PartyTypes      []xRef `xml:"PartyTypeValues>PartyType"`
	SanctionsTypes  []xRef `xml:"SanctionsTypeValues>SanctionsType"`
	EntryEventTypes []xRef `xml:"EntryEventTypeValues>EntryEventType"`
}

type xDate struct {
	Year  int `xml:"Year"`
	Month int `xml:"Month"`
	Day   int `xml:"Day"`
}

func (d xDate) time() (time.Time, bool) {
	if d.Year < 1 || d.Year > 9999 || d.Month < 1 || d.Month > 12 || d.Day < 1 || d.Day > 31 {
		return time.Time{}, false
	}
	t := sanctions.Date(d.Year, time.Month(d.Month), d.Day)
	if t.Day() != d.Day { // 31 February
		return time.Time{}, false
	}
	return t, true
}

type xParty struct {
	Profiles []xProfile `xml:"Profile"`
}

type xProfile struct {
	ID             int64       `xml:"ID,attr"`
	PartySubTypeID int64       `xml:"PartySubTypeID,attr"`
	Identities     []xIdentity `xml:"Identity"`
	Features       []xFeature  `xml:"Feature"`
}

type xIdentity struct {
	Primary string   `xml:"Primary,attr"`
	Aliases []xAlias `xml:"Alias"`
}

type xAlias struct {
	Primary string     `xml:"Primary,attr"`
	Names   []xDocName `xml:"DocumentedName"`
}

type xDocName struct {
	Parts []string `xml:"DocumentedNamePart>NamePartValue"`
}

func (n xDocName) String() string {
	var parts []string
	for _, p := range n.Parts {
		if p = strings.Join(strings.Fields(p), " "); p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, " ")
}

type xFeature struct {
	ID            int64 `xml:"ID,attr"`
	FeatureTypeID int64 `xml:"FeatureTypeID,attr"`
	Versions      []struct {
		Details []string `xml:"VersionDetail"`
	} `xml:"FeatureVersion"`
}

type xSanctionsEntry struct {
	ProfileID int64 `xml:"ProfileID,attr"`
	Events    []struct {
		TypeID int64 `xml:"EntryEventTypeID,attr"`
		Date   xDate `xml:"Date"`
	} `xml:"EntryEvent"`
	Measures []struct {
		TypeID  int64  `xml:"SanctionsTypeID,attr"`
		Comment string `xml:"Comment"`
	} `xml:"SanctionsMeasure"`
}

// party is what is kept of a DistinctParty with currency addresses.
type party struct {
	profile  int64
	subType  int64
	name     string
	aliases  []string
	features []feature
	line     int
}

type feature struct {
	id, typeID int64
	value      string
}

// profileInfo is what is kept of the SanctionsEntries of one profile.
type profileInfo struct {
	programs   []string
	designated time.Time
}

// advancedParser holds the state of one sdn_advanced.xml parse.
type advancedParser struct {
	s         *xmlScanner
	list      *sanctions.List
	refs      *xRefSets
	assets    map[int64]string // FeatureType ID -> asset code
	programID map[int64]bool   // SanctionsType IDs whose measures name a program
	parties   []party
	profiles  map[int64]*profileInfo
}

// ParseAdvanced reads an uncompressed sdn_advanced.xml. Use Parse for
// compressed input or automatic detection.
func ParseAdvanced(ctx context.Context, r io.Reader, name string) (*sanctions.List, error) {
	p := &advancedParser{
		s:        newXMLScanner(ctx, r, name),
		list:     &sanctions.List{Source: name, Format: sanctions.FormatSDNAdvanced},
		profiles: map[int64]*profileInfo{},
	}
	if err := p.run(); err != nil {
		return nil, err
	}
	p.build()
	return p.list, nil
}

func (p *advancedParser) run() error {
	s := p.s
	tok, err := s.next()
	if err == io.EOF {
		return &ParseError{File: s.file, Err: fmt.Errorf("%w: empty document", ErrTruncated)}
	}
	if err != nil {
		return err
	}
	root := tok.(xml.StartElement)
	if root.Name.Local != "Sanctions" {
		return s.errAt(fmt.Errorf("%w: root element <%s>, want <Sanctions>", ErrMalformed, root.Name.Local), "")
	}
	for {
		tok, err := s.next()
		if err != nil {
			return err
		}
		start, ok := tok.(xml.StartElement)
		if !ok { // </Sanctions>
			break
		}
		if err := p.section(&start); err != nil {
			return err
		}
	}
	// Anything after the root must be whitespace or comments.
	if _, err := s.next(); err != io.EOF {
		if err == nil {
			return s.errAt(fmt.Errorf("%w: second root element", ErrMalformed), "")
		}
		return err
	}
	if p.refs == nil {
		return &ParseError{File: s.file, Line: s.line(), Element: "Sanctions", Err: ErrNoReferences}
	}
	return nil
}

// section reads one child of <Sanctions>: the date of issue, the
// reference values, the parties or the entries; others are skipped.
func (p *advancedParser) section(start *xml.StartElement) error {
	s := p.s
	switch start.Name.Local {
	case "DateOfIssue":
		var d xDate
		if err := s.decode(&d, start); err != nil {
			return err
		}
		t, ok := d.time()
		if !ok {
			return s.errAt(fmt.Errorf("%w: bad DateOfIssue %d-%d-%d", ErrMalformed, d.Year, d.Month, d.Day), "Sanctions/DateOfIssue")
		}
		p.list.DateOfIssue = t
		return nil
	case "ReferenceValueSets":
		var refs xRefSets
		if err := s.decode(&refs, start); err != nil {
			return err
		}
		p.setRefs(&refs)
		return nil
	case "DistinctParties":
		return p.each("DistinctParty", p.party)
	case "SanctionsEntries":
		return p.each("SanctionsEntry", p.entry)
	default:
		return s.skip()
	}
}

// each calls fn for every child element named child of the element just
// started, skipping other children.
func (p *advancedParser) each(child string, fn func(*xml.StartElement) error) error {
	for {
		tok, err := p.s.next()
		if err != nil {
			return err
		}
		start, ok := tok.(xml.StartElement)
		if !ok {
			return nil
		}
		if start.Name.Local != child {
			if err := p.s.skip(); err != nil {
				return err
			}
			continue
		}
		if err := fn(&start); err != nil {
			return err
		}
	}
}

func (p *advancedParser) setRefs(refs *xRefSets) {
	p.refs = refs
	p.assets = map[int64]string{}
	for _, ft := range refs.FeatureTypes {
		if m := featureTypeRE.FindStringSubmatch(ft.Text); m != nil {
			p.assets[ft.ID] = strings.ToUpper(m[1])
		}
	}
	if len(p.assets) == 0 {
		p.list.Warnings = append(p.list.Warnings, fmt.Sprintf(
			"%s: no \"Digital Currency Address - ...\" feature type in ReferenceValueSets", p.s.file))
	}
	p.programID = map[int64]bool{}
	for _, st := range refs.SanctionsTypes {
		if strings.EqualFold(strings.TrimSpace(st.Text), "Program") {
			p.programID[st.ID] = true
		}
	}
}

func (p *advancedParser) party(start *xml.StartElement) error {
	line := p.s.line()
	var dp xParty
	if err := p.s.decode(&dp, start); err != nil {
		return err
	}
	for _, prof := range dp.Profiles {
		var feats []feature
		for _, f := range prof.Features {
			if p.assets != nil {
				if _, ok := p.assets[f.FeatureTypeID]; !ok {
					continue
				}
			}
			for _, v := range f.Versions {
				for _, d := range v.Details {
					if d = strings.TrimSpace(d); d != "" {
						feats = append(feats, feature{id: f.ID, typeID: f.FeatureTypeID, value: d})
					}
				}
			}
		}
		if len(feats) == 0 {
			continue
		}
		name, aliases := names(prof)
		p.parties = append(p.parties, party{
			profile: prof.ID, subType: prof.PartySubTypeID, name: name, aliases: aliases,
			features: feats, line: line,
		})
	}
	return nil
}

// names returns the primary name of a profile (the first DocumentedName of
// the primary Alias of the primary Identity, name parts joined by spaces in
// document order) and every other distinct name as aliases.
func names(prof xProfile) (string, []string) {
	var all []string
	primary := ""
	for pass := 0; pass < 2; pass++ { // primary identity first
		for _, id := range prof.Identities {
			if (id.Primary == "true") != (pass == 0) {
				continue
			}
			for apass := 0; apass < 2; apass++ { // primary alias first
				for _, a := range id.Aliases {
					if (a.Primary == "true") != (apass == 0) {
						continue
					}
					for _, n := range a.Names {
						if s := n.String(); s != "" {
							all = append(all, s)
						}
					}
				}
			}
		}
	}
	if len(all) > 0 {
		primary = all[0]
	}
	var aliases []string
	seen := map[string]bool{primary: true}
	for _, s := range all {
		if !seen[s] {
			seen[s] = true
			aliases = append(aliases, s)
		}
	}
	return primary, aliases
}

func (p *advancedParser) entry(start *xml.StartElement) error {
	var se xSanctionsEntry
	if err := p.s.decode(&se, start); err != nil {
		return err
	}
	info := p.profiles[se.ProfileID]
	if info == nil {
		info = &profileInfo{}
		p.profiles[se.ProfileID] = info
	}
	for _, ev := range se.Events {
		if t, ok := ev.Date.time(); ok && (info.designated.IsZero() || t.Before(info.designated)) {
			info.designated = t
		}
	}
	for _, m := range se.Measures {
		if p.programID[m.TypeID] {
			if prog := strings.TrimSpace(m.Comment); prog != "" && !slices.Contains(info.programs, prog) {
				info.programs = append(info.programs, prog)
			}
		}
	}
	return nil
}

// entityType maps a profile's PartySubType to an EntityType constant via the
// reference values: Vessel and Aircraft are sub-types of Transport; the
// "Unknown" sub-types stand for their party type (Individual, Entity).
func (p *advancedParser) entityType(subType int64) string {
	for _, st := range p.refs.PartySubTypes {
		if st.ID != subType {
			continue
		}
		if t := canonicalEntityType(st.Text); t != "" {
			return t
		}
		for _, pt := range p.refs.PartyTypes {
			if pt.ID == st.PartyTypeID {
				if t := canonicalEntityType(pt.Text); t != "" {
					return t
				}
				return strings.TrimSpace(pt.Text)
			}
		}
	}
	return ""
}

func canonicalEntityType(s string) string {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "individual":
		return sanctions.EntityTypeIndividual
	case "entity", "other entity":
		return sanctions.EntityTypeEntity
	case "vessel":
		return sanctions.EntityTypeVessel
	case "aircraft":
		return sanctions.EntityTypeAircraft
	}
	return ""
}

func (p *advancedParser) build() {
	v := newValidator(p.list)
	for _, pt := range p.parties {
		info := p.profiles[pt.profile]
		if info == nil {
			info = &profileInfo{}
			p.list.Warnings = append(p.list.Warnings, fmt.Sprintf(
				"%s:%d: profile %d has currency addresses but no SanctionsEntry", p.s.file, pt.line, pt.profile))
		}
		progs := slices.Clone(info.programs)
		slices.Sort(progs)
		etype := p.entityType(pt.subType)
		for _, f := range pt.features {
			asset, ok := p.assets[f.typeID]
			if !ok {
				continue // feature types were unknown when the party was read
			}
			where := fmt.Sprintf("%s:%d: profile %d feature %d", p.s.file, pt.line, pt.profile, f.id)
			p.list.Entries = append(p.list.Entries, sanctions.Entry{
				Asset:       asset,
				Address:     v.check(asset, f.value, where),
				ProfileID:   pt.profile,
				PrimaryName: pt.name,
				Aliases:     slices.Clone(pt.aliases),
				EntityType:  etype,
				Programs:    slices.Clone(progs),
				Designated:  info.designated,
				FeatureID:   f.id,
			})
		}
	}
	p.list.Sort()
}
