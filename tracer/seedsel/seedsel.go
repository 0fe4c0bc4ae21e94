package seedsel

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/btcsuite/btcd/chaincfg"

	"github.com/tracer-oss/tracer/sanctions"
	"github.com/tracer-oss/tracer/sanctions/address"
	"github.com/tracer-oss/tracer/sanctions/seeds"
	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/tracer"
)

// Source is what a Selector reads; *store.Store implements it.
type Source interface {
	Lists() store.Lists
	Tags() store.Tags
}

// Selection names seeds. Every set field adds addresses; a zero Selection
// selects nothing.
type Selection struct {
	Addresses     []string `json:"addresses,omitempty"`
	AddressSource string   `json:"-"`                      // Source of the Addresses seeds, e.g. "command line"
	File          string   `json:"file,omitempty"`         // seed file (CSV, JSON or YAML; sanctions/seeds)
	Dir           string   `json:"-"`                      // where a relative File is; "" is the working directory
	FileSHA256    string   `json:"file_sha256,omitempty"`  // content hash of File, recorded by callers that need it
	Entity        string   `json:"entity,omitempty"`       // sanctioned entities whose name contains it
	Program       string   `json:"program,omitempty"`      // sanctions program, e.g. CYBER2
	Profile       int64    `json:"profile,omitempty"`      // SDN profile id
	TagCategory   string   `json:"tag_category,omitempty"` // tagged addresses of this category or abuse
	TagPack       string   `json:"tag_pack,omitempty"`     // every address of this stored tag pack
}

// Empty reports whether s selects nothing.
func (s Selection) Empty() bool {
	return len(s.Addresses) == 0 && s.File == "" && s.Entity == "" && s.Program == "" && s.Profile == 0 && s.TagCategory == "" && s.TagPack == ""
}

// Stats describe a selection's result.
type Stats struct {
	// Skipped counts listed or tagged addresses of another network (or
	// typos in the source list) that were left out.
	Skipped int
}

// Selector resolves selections against one store.
type Selector struct {
	src    Source
	params *chaincfg.Params

	listOnce sync.Once
	list     *sanctions.List
	listErr  error

	tagOnce sync.Once
	tags    []sanctions.Tag
	tagErr  error

	labOnce [2]sync.Once
	lab     [2]tracer.MapLabeler
	labErr  [2]error
}

// New returns a Selector over src for the network of params.
func New(src Source, params *chaincfg.Params) *Selector {
	return &Selector{src: src, params: params}
}

func (s *Selector) sanctionsList() (*sanctions.List, error) {
	s.listOnce.Do(func() {
		s.list, s.listErr = s.src.Lists().List(0)
		if errors.Is(s.listErr, store.ErrNotFound) {
			s.listErr = ErrNoList
		}
	})
	return s.list, s.listErr
}

func (s *Selector) allTags() ([]sanctions.Tag, error) {
	s.tagOnce.Do(func() {
		s.tagErr = s.src.Tags().Each(func(t sanctions.Tag) error {
			s.tags = append(s.tags, t)
			return nil
		})
	})
	return s.tags, s.tagErr
}

// Seeds resolves sel into seeds, each address once, in the order: given
// addresses, seed file, sanctions list, tags.
func (s *Selector) Seeds(ctx context.Context, sel Selection) ([]tracer.Seed, Stats, error) {
	c := &collector{seen: map[address.Addr]bool{}}
	for _, a := range sel.Addresses {
		addr, err := address.Parse(a, s.params)
		if err != nil {
			return nil, c.st, fmt.Errorf("%w %q: %v", ErrBadAddress, a, err)
		}
		c.add(tracer.Seed{Addr: addr, Source: sel.AddressSource})
	}
	if sel.File != "" {
		if err := s.fromFile(ctx, sel, c); err != nil {
			return nil, c.st, err
		}
	}
	if sel.Entity != "" || sel.Program != "" || sel.Profile != 0 {
		if err := s.fromList(sel, c); err != nil {
			return nil, c.st, err
		}
	}
	if sel.TagCategory != "" || sel.TagPack != "" {
		if err := s.fromTags(sel, c); err != nil {
			return nil, c.st, err
		}
	}
	return c.out, c.st, nil
}

// collector gathers seeds, each address once, in the order first added.
type collector struct {
	out  []tracer.Seed
	st   Stats
	seen map[address.Addr]bool
}

func (c *collector) add(sd tracer.Seed) {
	if !c.seen[sd.Addr] {
		c.seen[sd.Addr] = true
		c.out = append(c.out, sd)
	}
}

// fromFile adds the seeds of sel's seed file (relative to sel.Dir); every
// address in it must be valid.
func (s *Selector) fromFile(ctx context.Context, sel Selection, c *collector) error {
	path := sel.File
	if sel.Dir != "" && !filepath.IsAbs(path) {
		path = filepath.Join(sel.Dir, path)
	}
	list, err := seeds.ParseFile(ctx, path, s.params)
	if err != nil {
		return err
	}
	for _, sd := range list {
		addr, err := address.Parse(sd.Address, s.params)
		if err != nil {
			return fmt.Errorf("%s: %w %q: %v", sel.File, ErrBadAddress, sd.Address, err)
		}
		c.add(tracer.Seed{Addr: addr, Label: sd.Label, Source: sd.Source})
	}
	return nil
}

// fromList adds the XBT addresses the sanctions list holds for sel's
// entity, program or profile; addresses of another network are skipped
// and counted.
func (s *Selector) fromList(sel Selection, c *collector) error {
	list, err := s.sanctionsList()
	if err != nil {
		return err
	}
	entries := list.Filter(sanctions.Filter{Entity: sel.Entity, Program: sel.Program, ProfileID: sel.Profile, Asset: "XBT"})
	if len(entries) == 0 {
		return fmt.Errorf("%w: the sanctions list of %s has no XBT address for %s", ErrNoMatch, list.DateOfIssue.Format("2006-01-02"), describe(sel))
	}
	for _, e := range entries {
		addr, err := address.Parse(e.Address, s.params)
		if err != nil {
			c.st.Skipped++ // another network's address, or one of OFAC's typos
			continue
		}
		c.add(tracer.Seed{Addr: addr, Label: e.PrimaryName, Source: fmt.Sprintf("OFAC SDN %s, profile %d", list.DateOfIssue.Format("2006-01-02"), e.ProfileID)})
	}
	return nil
}

// fromTags adds the addresses of the stored tags of sel's category or
// pack, labelled by actor (else label); addresses of another network are
// skipped and counted.
func (s *Selector) fromTags(sel Selection, c *collector) error {
	tags, err := s.allTags()
	if err != nil {
		return err
	}
	cat := strings.ToLower(strings.TrimSpace(sel.TagCategory))
	n := 0
	for _, t := range tags {
		if cat != "" && !t.HasCategory(cat) { // the tag's actor's categories count too
			continue
		}
		if sel.TagPack != "" && t.Pack != sel.TagPack {
			continue
		}
		n++
		addr, err := address.Parse(t.Address, s.params)
		if err != nil {
			c.st.Skipped++
			continue
		}
		label := t.Actor
		if label == "" {
			label = t.Label
		}
		c.add(tracer.Seed{Addr: addr, Label: label, Source: "tag pack " + t.Pack})
	}
	if n == 0 {
		return fmt.Errorf("%w: no stored tag for %s", ErrNoMatch, describe(sel))
	}
	return nil
}

func describe(sel Selection) string {
	var parts []string
	if sel.Entity != "" {
		parts = append(parts, fmt.Sprintf("entity %q", sel.Entity))
	}
	if sel.Program != "" {
		parts = append(parts, fmt.Sprintf("program %q", sel.Program))
	}
	if sel.Profile != 0 {
		parts = append(parts, fmt.Sprintf("profile %d", sel.Profile))
	}
	if sel.TagCategory != "" {
		parts = append(parts, fmt.Sprintf("tag category %q", sel.TagCategory))
	}
	if sel.TagPack != "" {
		parts = append(parts, fmt.Sprintf("tag pack %q", sel.TagPack))
	}
	return strings.Join(parts, ", ")
}

// Labels returns every stored tag as a label (the first exchange tag of an
// address wins), and with sanctioned also every listed XBT address of the
// current sanctions list (backward traces stop at sanctioned sources). The
// labeler is built once per Selector and shared: do not modify it.
func (s *Selector) Labels(sanctioned bool) (tracer.MapLabeler, error) {
	i := 0
	if sanctioned {
		i = 1
	}
	s.labOnce[i].Do(func() { s.lab[i], s.labErr[i] = s.labels(sanctioned) })
	return s.lab[i], s.labErr[i]
}

func (s *Selector) labels(sanctioned bool) (tracer.MapLabeler, error) {
	tags, err := s.allTags()
	if err != nil {
		return nil, err
	}
	lab := tracer.MapLabeler{}
	for _, t := range tags {
		a, err := address.Parse(t.Address, s.params)
		if err != nil {
			continue // another network's address
		}
		entity := t.Actor
		if entity == "" {
			entity = t.Label
		}
		cat := t.LabelCategory() // exchange when the tag or its actor is one
		if old, ok := lab[a]; ok && old.Category == "exchange" {
			continue // keep the first exchange tag of an address
		}
		lab[a] = tracer.Label{Entity: entity, Category: cat, Source: t.Pack, Via: "tag"}
	}
	if sanctioned {
		list, err := s.sanctionsList()
		if err != nil && !errors.Is(err, ErrNoList) {
			return nil, err
		}
		if list != nil {
			for _, e := range list.Entries {
				if e.Asset != "XBT" {
					continue
				}
				if a, err := address.Parse(e.Address, s.params); err == nil {
					lab[a] = tracer.Label{Entity: e.PrimaryName, Category: "sanctioned", Source: "OFAC SDN " + list.DateOfIssue.Format("2006-01-02"), Via: "list"}
				}
			}
		}
	}
	return lab, nil
}

// ListInfo names the current sanctions list ("" when none is loaded), as
// reports state it.
func ListInfo(src Source) string {
	v, err := src.Lists().Version(0)
	if err != nil {
		return ""
	}
	return fmt.Sprintf("OFAC SDN %s (%s, version %d)", v.DateOfIssue.Format("2006-01-02"), v.Format, v.Version)
}

// PackInfo names the stored tag packs, sorted, as reports state them.
func PackInfo(src Source) ([]string, error) {
	ps, err := src.Tags().Packs()
	if err != nil {
		return nil, err
	}
	var packs []string
	for _, p := range ps {
		packs = append(packs, fmt.Sprintf("%s (%d tags, loaded %s)", p.Name, p.Tags, p.LoadedAt.UTC().Format("2006-01-02")))
	}
	sort.Strings(packs)
	return packs, nil
}
