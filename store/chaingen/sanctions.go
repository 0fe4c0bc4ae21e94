package chaingen

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/tracer-oss/tracer/store/outdir"
)

// IDs used in the generated sdn_advanced.xml. The feature type for XBT
// addresses deliberately differs from OFAC's (344): readers must resolve it
// by its text, "Digital Currency Address - XBT".
const (
	sdnBaseID      = 910001
	sdnXBTFeature  = 9344
	sdnETHFeature  = 9345
	sdnListID      = 1550
	sdnLegalBasis  = 91711
	sdnDetailText  = 1432
	sdnNamespace   = "https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/ADVANCED_XML"
	sdnProgramBase = 91741
)

func xmlText(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// writeSDN writes the scenario's sanctioned parties in the shape of OFAC's
// sdn_advanced.xml (a subset of its reference value sets, the parties and
// their sanctions entries).
func writeSDN(path string, t *Truth, issued time.Time) error {
	var b bytes.Buffer
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	day := issued.AddDate(0, 0, 2)
	w(`<?xml version="1.0" encoding="utf-8" standalone="yes"?>` + "\n")
	w(`<Sanctions xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" Version="3" xsi:schemaLocation="%[1]s %[1]s.xsd" xmlns="%[1]s">`+"\n", sdnNamespace)
	w("  <DateOfIssue CalendarTypeID=\"1\">\n    <Year>%d</Year>\n    <Month>%d</Month>\n    <Day>%d</Day>\n  </DateOfIssue>\n", day.Year(), day.Month(), day.Day())
	w(`  <ReferenceValueSets>
    <AliasTypeValues>
      <AliasType ID="1400">A.K.A.</AliasType>
      <AliasType ID="1403">Name</AliasType>
    </AliasTypeValues>
    <DetailTypeValues>
      <DetailType ID="1431">LOOKUP</DetailType>
      <DetailType ID="%d">TEXT</DetailType>
    </DetailTypeValues>
    <EntryEventTypeValues>
      <EntryEventType ID="1">Created</EntryEventType>
    </EntryEventTypeValues>
    <FeatureTypeValues>
      <FeatureType ID="%d" FeatureTypeGroupID="1">Digital Currency Address - ETH</FeatureType>
      <FeatureType ID="%d" FeatureTypeGroupID="1">Digital Currency Address - XBT</FeatureType>
    </FeatureTypeValues>
    <LegalBasisValues>
      <LegalBasis ID="%d" LegalBasisShortRef="Executive Order 13694 (Cyber)" LegalBasisTypeID="1" SanctionsProgramID="1">Executive Order 13694 (Cyber)</LegalBasis>
    </LegalBasisValues>
    <ListValues>
      <List ID="%d">SDN List</List>
    </ListValues>
    <NamePartTypeValues>
      <NamePartType ID="1520">Last Name</NamePartType>
      <NamePartType ID="1521">First Name</NamePartType>
      <NamePartType ID="1525">Entity Name</NamePartType>
    </NamePartTypeValues>
    <PartySubTypeValues>
      <PartySubType ID="3" PartyTypeID="2">Unknown</PartySubType>
      <PartySubType ID="4" PartyTypeID="1">Unknown</PartySubType>
    </PartySubTypeValues>
    <PartyTypeValues>
      <PartyType ID="1">Individual</PartyType>
      <PartyType ID="2">Entity</PartyType>
    </PartyTypeValues>
    <SanctionsProgramValues>
      <SanctionsProgram ID="%d" SubsidiaryBodyID="1">CYBER2</SanctionsProgram>
      <SanctionsProgram ID="%d" SubsidiaryBodyID="1">TCO</SanctionsProgram>
    </SanctionsProgramValues>
    <SanctionsTypeValues>
      <SanctionsType ID="1">Program</SanctionsType>
      <SanctionsType ID="1705">Block</SanctionsType>
    </SanctionsTypeValues>
  </ReferenceValueSets>
  <DistinctParties>
`, sdnDetailText, sdnETHFeature, sdnXBTFeature, sdnLegalBasis, sdnListID, sdnProgramBase, sdnProgramBase+1)
	for i, e := range t.Entities {
		id := e.SDNID
		identity, alias := 80000+i, 180000+i*10
		sub := 3
		if e.Type == "individual" {
			sub = 4
		}
		w("    <DistinctParty FixedRef=\"%d\">\n      <Comment />\n      <Profile ID=\"%d\" PartySubTypeID=\"%d\">\n", id, id, sub)
		w("        <Identity ID=\"%d\" FixedRef=\"%d\" Primary=\"true\" False=\"false\">\n", identity, id)
		w("          <Alias FixedRef=\"%d\" AliasTypeID=\"1403\" Primary=\"true\" LowQuality=\"false\">\n", id)
		w("            <DocumentedName ID=\"%d\" FixedRef=\"%d\" DocNameStatusID=\"1\">\n", alias, id)
		parts := []struct {
			typ  int
			text string
		}{{1525, e.Name}}
		if e.Type == "individual" {
			first, last := splitName(e.Name)
			parts = []struct {
				typ  int
				text string
			}{{1520, last}, {1521, first}}
		}
		for k, p := range parts {
			w("              <DocumentedNamePart>\n                <NamePartValue NamePartGroupID=\"%d\" ScriptID=\"215\" ScriptStatusID=\"1\" Acronym=\"false\">%s</NamePartValue>\n              </DocumentedNamePart>\n", alias+k+1, xmlText(p.text))
		}
		w("            </DocumentedName>\n          </Alias>\n          <NamePartGroups>\n            <MasterNamePartGroup>\n")
		for k, p := range parts {
			w("              <NamePartGroup ID=\"%d\" NamePartTypeID=\"%d\" />\n", alias+k+1, p.typ)
		}
		w("            </MasterNamePartGroup>\n          </NamePartGroups>\n        </Identity>\n")
		for k, a := range e.Addresses {
			w("        <Feature ID=\"%d\" FeatureTypeID=\"%d\">\n          <FeatureVersion ID=\"%d\" ReliabilityID=\"1\">\n            <Comment />\n", id*10+k, sdnXBTFeature, id*10+k+5000000)
			w("            <VersionDetail DetailTypeID=\"%d\">%s</VersionDetail>\n          </FeatureVersion>\n", sdnDetailText, xmlText(a))
			w("          <IdentityReference IdentityID=\"%d\" IdentityFeatureLinkTypeID=\"1\" />\n        </Feature>\n", identity)
		}
		w("      </Profile>\n    </DistinctParty>\n")
	}
	w("  </DistinctParties>\n  <SanctionsEntries>\n")
	for i, e := range t.Entities {
		w("    <SanctionsEntry ID=\"%d\" ProfileID=\"%d\" ListID=\"%d\">\n", e.SDNID, e.SDNID, sdnListID)
		w("      <EntryEvent ID=\"%d\" EntryEventTypeID=\"1\" LegalBasisID=\"%d\">\n        <Comment />\n", e.SDNID, sdnLegalBasis)
		w("        <Date CalendarTypeID=\"1\">\n          <Year>%d</Year>\n          <Month>%d</Month>\n          <Day>%d</Day>\n        </Date>\n      </EntryEvent>\n", day.Year(), day.Month(), day.Day())
		w("      <SanctionsMeasure ID=\"%d\" SanctionsTypeID=\"1705\">\n        <DatePeriod CalendarTypeID=\"1\" YearFixed=\"true\" MonthFixed=\"true\" DayFixed=\"true\" />\n      </SanctionsMeasure>\n", 300000+i*2)
		w("      <SanctionsMeasure ID=\"%d\" SanctionsTypeID=\"1\">\n        <Comment>%s</Comment>\n        <DatePeriod CalendarTypeID=\"1\" YearFixed=\"true\" MonthFixed=\"true\" DayFixed=\"true\" />\n      </SanctionsMeasure>\n", 300001+i*2, xmlText(e.Program))
		w("    </SanctionsEntry>\n")
	}
	w("  </SanctionsEntries>\n</Sanctions>\n")
	if err := outdir.Prepare(filepath.Dir(filepath.Dir(path)), path); err != nil {
		return fmt.Errorf("write sanctions: %w", err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write sanctions: %w", err)
	}
	return nil
}

// splitName turns "LAST, First" into its parts.
func splitName(n string) (first, last string) {
	for i := 0; i+1 < len(n); i++ {
		if n[i] == ',' {
			return trimSpace(n[i+1:]), n[:i]
		}
	}
	return "", n
}

func trimSpace(s string) string {
	for len(s) > 0 && s[0] == ' ' {
		s = s[1:]
	}
	return s
}

type tagPack struct {
	Title            string `yaml:"title"`
	Creator          string `yaml:"creator"`
	Description      string `yaml:"description"`
	IsPublic         bool   `yaml:"is_public"`
	Currency         string `yaml:"currency"`
	Network          string `yaml:"network"`
	Category         string `yaml:"category"`
	Confidence       string `yaml:"confidence"`
	IsClusterDefiner bool   `yaml:"is_cluster_definer"`
	LastMod          string `yaml:"lastmod"`
	Source           string `yaml:"source"`
	Tags             []tag  `yaml:"tags"`
}

type tag struct {
	Address          string `yaml:"address"`
	Label            string `yaml:"label"`
	Category         string `yaml:"category"`
	Actor            string `yaml:"actor"`
	IsClusterDefiner bool   `yaml:"is_cluster_definer"`
	Context          string `yaml:"context,omitempty"`
}

// writeTagPack writes the exchanges' hot wallets and tagged deposit
// addresses as a GraphSense TagPack; header fields are inherited by tags.
func writeTagPack(path string, t *Truth, mod time.Time) error {
	tp := tagPack{
		Title:            "tracer chaingen exchanges (regtest)",
		Creator:          "tracer chaingen",
		Description:      fmt.Sprintf("Exchange hot wallets and known deposit addresses of the generated regtest chain (seed %d)", t.Seed),
		IsPublic:         true,
		Currency:         "BTC",
		Network:          "regtest",
		Category:         "exchange",
		Confidence:       "service_data",
		IsClusterDefiner: true,
		LastMod:          mod.Format("2006-01-02"),
		Source:           "https://github.com/tracer-oss/tracer/tree/main/store/chaingen",
	}
	for _, ex := range t.Exchanges {
		for _, a := range ex.HotWallets {
			tp.Tags = append(tp.Tags, tag{Address: a, Label: ex.Name, Category: "exchange", Actor: ex.Actor, IsClusterDefiner: true, Context: `{"role": "hot wallet"}`})
		}
		for _, a := range ex.TaggedDeposits {
			tp.Tags = append(tp.Tags, tag{Address: a, Label: ex.Name, Category: "exchange", Actor: ex.Actor, IsClusterDefiner: true, Context: `{"role": "deposit address"}`})
		}
	}
	b, err := yaml.Marshal(&tp)
	if err != nil {
		return err
	}
	if err := outdir.Prepare(filepath.Dir(filepath.Dir(path)), path); err != nil {
		return fmt.Errorf("write tag pack: %w", err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("write tag pack: %w", err)
	}
	return nil
}
