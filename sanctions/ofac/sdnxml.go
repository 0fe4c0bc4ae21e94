package ofac

import (
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/tracer-oss/tracer/sanctions"
)

type xSDNName struct {
	FirstName string `xml:"firstName"`
	LastName  string `xml:"lastName"`
}

// String renders a legacy name as OFAC does in sdn.csv: "LAST, First".
func (n xSDNName) String() string {
	last := strings.Join(strings.Fields(n.LastName), " ")
	first := strings.Join(strings.Fields(n.FirstName), " ")
	switch {
	case last == "":
		return first
	case first == "":
		return last
	}
	return last + ", " + first
}

type xSDNEntry struct {
	UID int64 `xml:"uid"`
	xSDNName
	SDNType  string     `xml:"sdnType"`
	Programs []string   `xml:"programList>program"`
	AKAs     []xSDNName `xml:"akaList>aka"`
	IDs      []struct {
		UID      int64  `xml:"uid"`
		IDType   string `xml:"idType"`
		IDNumber string `xml:"idNumber"`
	} `xml:"idList>id"`
}

// ParseSDNXML reads an uncompressed legacy SDN.XML (sdnList). The format has
// no designation dates and no feature ids; ProfileID is the entry uid.
func ParseSDNXML(ctx context.Context, r io.Reader, name string) (*sanctions.List, error) {
	s := newXMLScanner(ctx, r, name)
	list := &sanctions.List{Source: name, Format: sanctions.FormatSDNXML}
	v := newValidator(list)
	tok, err := s.next()
	if err == io.EOF {
		return nil, &ParseError{File: name, Err: fmt.Errorf("%w: empty document", ErrTruncated)}
	}
	if err != nil {
		return nil, err
	}
	if root := tok.(xml.StartElement); root.Name.Local != "sdnList" {
		return nil, s.errAt(fmt.Errorf("%w: root element <%s>, want <sdnList>", ErrMalformed, root.Name.Local), "")
	}
	for {
		tok, err := s.next()
		if err != nil {
			return nil, err
		}
		start, ok := tok.(xml.StartElement)
		if !ok {
			break
		}
		if err := sdnXMLChild(s, &start, list, v, name); err != nil {
			return nil, err
		}
	}
	if _, err := s.next(); err != io.EOF {
		if err == nil {
			return nil, s.errAt(fmt.Errorf("%w: second root element", ErrMalformed), "")
		}
		return nil, err
	}
	list.Sort()
	return list, nil
}

// sdnXMLChild reads one child of <sdnList>: the publication date or an
// entry; others are skipped.
func sdnXMLChild(s *xmlScanner, start *xml.StartElement, list *sanctions.List, v validator, name string) error {
	switch start.Name.Local {
	case "publshInformation", "publishInformation":
		var pi struct {
			Date string `xml:"Publish_Date"`
		}
		if err := s.decode(&pi, start); err != nil {
			return err
		}
		if d := strings.TrimSpace(pi.Date); d != "" {
			t, err := time.Parse("01/02/2006", d)
			if err != nil {
				return s.errAt(fmt.Errorf("%w: bad Publish_Date %q", ErrMalformed, d), "sdnList/publshInformation/Publish_Date")
			}
			list.DateOfIssue = t
		}
		return nil
	case "sdnEntry":
		line := s.line()
		var e xSDNEntry
		if err := s.decode(&e, start); err != nil {
			return err
		}
		addEntryIDs(list, v, e, fmt.Sprintf("%s:%d: uid %d", name, line, e.UID))
		return nil
	default:
		return s.skip()
	}
}

func addEntryIDs(list *sanctions.List, v validator, e xSDNEntry, where string) {
	var progs []string
	for _, p := range e.Programs {
		if p = strings.TrimSpace(p); p != "" && !slices.Contains(progs, p) {
			progs = append(progs, p)
		}
	}
	slices.Sort(progs)
	var aliases []string
	for _, a := range e.AKAs {
		if s := a.String(); s != "" && !slices.Contains(aliases, s) {
			aliases = append(aliases, s)
		}
	}
	etype := canonicalEntityType(e.SDNType)
	for _, id := range e.IDs {
		m := featureTypeRE.FindStringSubmatch(id.IDType)
		if m == nil {
			continue
		}
		addr := strings.TrimSpace(id.IDNumber)
		if addr == "" {
			list.Warnings = append(list.Warnings, fmt.Sprintf("%s: empty %s", where, strings.TrimSpace(id.IDType)))
			continue
		}
		asset := strings.ToUpper(m[1])
		list.Entries = append(list.Entries, sanctions.Entry{
			Asset:       asset,
			Address:     v.check(asset, addr, where),
			ProfileID:   e.UID,
			PrimaryName: e.String(),
			Aliases:     slices.Clone(aliases),
			EntityType:  etype,
			Programs:    slices.Clone(progs),
		})
	}
}
